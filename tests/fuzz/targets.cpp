#include "tests/fuzz/targets.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "models/compute/calibrated.hpp"
#include "models/llm/llm_spec.hpp"
#include "sim/compare/compare.hpp"
#include "sim/core/input_error.hpp"
#include "tests/core/scratch_folder.hpp"
#include "sim/prefill/predictor.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/serving/workload.hpp"
#include "sim/sweep/sweep.hpp"

namespace kvsim::fuzz {
namespace {

namespace fs = std::filesystem;

// Readers that take a path get the bytes through a file of this process's own, rewritten for
// every input (the name's extension chooses between formats, as on the command line).
std::string as_file(std::string_view input, const std::string& name) {
  static const fs::path dir = scratch_folder("fuzz");  // removed when the process exits
  const fs::path path = dir / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(input.data(), static_cast<std::streamsize>(input.size()));
  return path.string();
}

// Relative paths in a document resolve against a shipped folder, as they would for a file there
// (a scenario naming "../../predictors/a100-kvr.json" finds it).
std::string shipped(const char* folder) {
  return (fs::path(KVSIM_SOURCE_DIR) / folder / "fuzz-input.json").string();
}

template <class Read>
void refusing_input_errors(Read read) {
  try {
    read();
  } catch (const InputError&) {
    // a clear refusal is correct behaviour
  }
}

}  // namespace

void scenario(std::string_view input) {
  refusing_input_errors([&] {
    (void)load_scenario(ConfigDocument::parse(std::string(input), shipped("scenarios/paper")));
  });
}

void sweep(std::string_view input) {
  refusing_input_errors([&] {
    const kvsim::sweep::SweepSpec spec =
        kvsim::sweep::load_sweep(ConfigDocument::parse(std::string(input), shipped("sweeps/paper")));
    // The first points, as `kvsim sweep` reads them (not run: that is the simulator's job).
    for (std::size_t i = 0; i < std::min<std::size_t>(spec.point_count(), 2); ++i) {
      (void)load_scenario(spec.document(i));
    }
  });
}

void measurements(std::string_view input) {
  const bool json = !input.empty() && (input.front() == '{' || input.front() == '[');
  refusing_input_errors([&] {
    (void)compare::read_measurements(as_file(input, json ? "measured.json" : "measured.csv"));
  });
}

void hf_config(std::string_view input) {
  refusing_input_errors([&] {
    const ConfigDocument doc = ConfigDocument::parse(std::string(input), "config.json");
    (void)import_hf_config(doc.root(), "fuzz");
  });
}

void trace(std::string_view input) {
  refusing_input_errors([&] {
    const Json workload = {{"arrivals", {{"type", "trace"}, {"file", as_file(input, "trace.csv")}}},
                           {"lengths", {{"type", "trace"}}}};
    const ConfigDocument doc(workload, "workload.json");
    serving::Workload w(doc.root(), RandomStreams(1), 4096);
    for (int i = 0; i < 64 && w.next(); ++i) {
    }
  });
}

void predictor(std::string_view input) {
  refusing_input_errors(
      [&] { (void)prefill::PartitionPredictor::load(as_file(input, "predictor.json")); });
}

void profile(std::string_view input) {
  refusing_input_errors([&] {
    const ConfigDocument doc = ConfigDocument::parse(std::string(input), "profile.json");
    (void)DeviceProfile::from_json(doc.root());
  });
}

std::span<const NamedTarget> targets() {
  static const NamedTarget all[] = {
      {"scenario", scenario}, {"sweep", sweep},         {"measurements", measurements},
      {"hf_config", hf_config}, {"trace", trace},       {"predictor", predictor},
      {"profile", profile}};
  return all;
}

}  // namespace kvsim::fuzz
