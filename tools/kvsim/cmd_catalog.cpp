// `kvsim list`, `kvsim explain NAME`, `kvsim validate SCENARIO`.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/catalog/catalog.hpp"
#include "models/engine/builtin.hpp"
#include "sim/core/input_error.hpp"
#include "tools/kvsim/registries.hpp"
#include "sim/scenario/precision_config.hpp"
#include "sim/scenario/prefill_memory.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/serving/engine.hpp"
#include "sim/serving/speculative/spec_step.hpp"
#include "sim/serving/workload.hpp"
#include "tools/kvsim/commands.hpp"
#include "tools/kvsim/scenario_loading.hpp"

namespace kvsim::cli {
namespace {

void print_entry(const RegistryEntryInfo& e) {
  fmt::print("  {:<18} {}\n", e.name, e.summary);
  for (const ParamDoc& p : e.params) {
    fmt::print("      {:<20} {:<26} {}{}\n", p.name, p.type, p.doc,
               p.default_value.empty() ? " (required)" : fmt::format(" [default: {}]",
                                                                     p.default_value));
  }
}

int list() {
  for (const RegistryView* r : all_registries()) {
    fmt::print("{} ({}):\n", r->family(), r->description());
    for (const auto& e : r->infos()) fmt::print("  {:<18} {}\n", e.name, e.summary);
  }
  fmt::print("models (models/catalog/llms): {}\n", fmt::join(catalog::llm_names(), ", "));
  fmt::print("gpus (models/catalog/gpus): {}\n", fmt::join(catalog::gpu_names(), ", "));
  const auto engines = shipped_engine_profiles();
  fmt::print("engine profiles (calibration/profiles/engines): {}\n",
             engines.empty() ? std::string("none shipped")
                             : fmt::format("{}", fmt::join(engines, ", ")));
  return 0;
}

// The scenario's "precision" section: not a registry family, documented alike.
int explain_precision() {
  fmt::print("precision: formats of weights, math and KV cache (scenario \"precision\")\n");
  for (const ParamDoc& p : precision_docs()) {
    fmt::print("      {:<20} {:<26} {} [default: {}]\n", p.name, p.type, p.doc, p.default_value);
  }
  return 0;
}

int explain(const std::string& name) {
  if (name == "precision") return explain_precision();
  std::vector<std::string> known{"precision"};
  bool found = false;
  for (const RegistryView* r : all_registries()) {
    known.push_back(r->family());
    if (r->family() == name) {
      fmt::print("{}: {}\n", r->family(), r->description());
      for (const auto& e : r->infos()) print_entry(e);
      found = true;
    }
    for (const auto& e : r->infos()) {
      known.push_back(e.name);
      if (e.name == name) {
        fmt::print("{} '{}':\n", r->family(), e.name);
        print_entry(e);
        found = true;
      }
    }
  }
  if (!found) {
    throw InputError("", "", fmt::format("nothing is registered as '{}'; {}", name,
                                         valid_values_hint(name, known)));
  }
  return 0;
}

// Everything `kvsim serve` builds before it simulates, with serve's errors: the replica
// layout, scheduler, memory and router (ServingSetup) and the workload (its trace file read,
// its lengths checked). A request that can never fit a replica's KV memory is found only by
// the simulation, which validate does not run.
void check_serving(const ConfigDocument& doc, const Scenario& s) {
  const auto node = doc.root().find("serving");
  if (!node) return;
  (void)serving::ServingSetup::from_config(*node, s);
  (void)serving::Workload(node->at("workload"), RandomStreams(s.seed), s.model.max_context);
}

// Every check `kvsim run` and `kvsim serve` make before they simulate: the load (memory plans
// included), the serving section and, where a strategy's token split is chosen by simulation
// (a searched or predicted KV-Runahead partition), the run itself, which refuses a partition
// that does not fit in memory.
int validate(const ScenarioOptions& options) {
  ConfigDocument doc = ConfigDocument::load_file(options.path);
  for (const auto& o : options.overrides) doc.apply_override(o);
  const Scenario s = load_scenario(doc);
  refuse_warnings_if_strict(s, options.strict);
  check_serving(doc, s);
  if (serving::speculative::decode_drafter_json(s)) (void)serving::speculative::decode_drafter(s);
  bool chosen_at_run_time = false;
  if (s.prefill) {
    const prefill::PrefillSetup setup = s.prefill_setup();
    for (const auto& strategy : s.prefill->strategies) {
      chosen_at_run_time = chosen_at_run_time || strategy->memory_plan(setup).lower_bound;
    }
  }
  if (chosen_at_run_time) (void)run_prefill(s, false);
  print_warnings(s);
  fmt::print("{}: valid ({} on {} x {})\n", options.path, s.model.name, s.topology->gpu_count(),
             s.gpu.name);
  return 0;
}

}  // namespace

void add_list(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand("list", "List every registered policy, model and GPU");
  cmd->callback([&selected] { selected = list; });
}

void add_explain(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "explain", "Describe a family (e.g. partitioner) or an implementation and its parameters");
  auto name = std::make_shared<std::string>();
  cmd->add_option("name", *name, "family or implementation name")->required();
  cmd->callback([&selected, name] { selected = [name] { return explain(*name); }; });
}

void add_validate(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "validate", "Check a scenario file without printing results: the checks of run and serve "
                  "(runs KV-Runahead searches, whose partition decides memory; builds the "
                  "serving replicas and workload but does not simulate them, so a request that "
                  "can never fit a replica's KV memory is refused only by serve)");
  auto options = std::make_shared<ScenarioOptions>();
  add_scenario_options(*cmd, *options);
  cmd->callback([&selected, options] { selected = [options] { return validate(*options); }; });
}

}  // namespace kvsim::cli
