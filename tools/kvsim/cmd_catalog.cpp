// `kvsim list`, `kvsim explain NAME`, `kvsim validate SCENARIO`.
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/catalog/catalog.hpp"
#include "models/engine/builtin.hpp"
#include "sim/core/input_error.hpp"
#include "tools/api/registries.hpp"
#include "sim/scenario/precision_config.hpp"
#include "sim/scenario/prefill_memory.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/serving/engine.hpp"
#include "sim/serving/speculative/spec_step.hpp"
#include "sim/serving/workload.hpp"
#include "tools/kvsim/commands.hpp"
#include "tools/kvsim/scenario_loading.hpp"
#include "tools/api/overrides.hpp"
#include "sim/scenario/json_schema.hpp"
#include "sim/scenario/sections.hpp"

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
  std::vector<std::string> collective;
  std::vector<std::string> device;
  for (const std::string& n : catalog::profile_names()) {
    (catalog::profile_document(n).json().contains("collectives") ? collective : device)
        .push_back(n);
  }
  fmt::print("collective profiles (calibration/profiles; \"collectives\": NAME or {{\"profile\": "
             "NAME or PATH}}): {}\n",
             fmt::join(collective, ", "));
  fmt::print("device profiles (calibration/profiles; \"compute\": {{\"type\": \"calibrated\", "
             "\"profile\": NAME or PATH}}): {}\n",
             fmt::join(device, ", "));
  const auto engines = shipped_engine_profiles();
  fmt::print("engine profiles (calibration/profiles/engines; \"engine\": NAME or {{\"type\": "
             "\"profile\", \"name\": NAME or PATH}}): {}\n",
             engines.empty() ? std::string("none shipped")
                             : fmt::format("{}", fmt::join(engines, ", ")));
  const auto predictors = catalog::predictor_names();
  fmt::print("predictors (predictors; KVR-P's partitioner {{\"type\": \"predicted\", "
             "\"file\": NAME or PATH}}): {}\n",
             predictors.empty() ? std::string("none shipped")
                                : fmt::format("{}", fmt::join(predictors, ", ")));
  return 0;
}

// A section's name: the last word of its pointer ("/serving/workload" -> "workload"; an
// array's elements, "/cluster/background/*", go by the array's name); "scenario" or "sweep"
// for the document itself.
std::string section_name(const Section& s, DocumentKind kind) {
  if (s.pointer.empty()) return kind == DocumentKind::kScenario ? "scenario" : "sweep";
  std::string p = s.pointer;
  if (p.size() > 2 && p.substr(p.size() - 2) == "/*") p.resize(p.size() - 2);
  return p.substr(p.rfind('/') + 1);
}

bool is_section(const std::string& pointer, DocumentKind kind) {
  for (const Section& s : sections(kind)) {
    if (s.pointer == pointer || s.pointer == pointer + "/*") return true;
  }
  return false;
}

void print_section(const Section& s, DocumentKind kind) {
  fmt::print("{} ({} {}): {}\n", section_name(s, kind),
             kind == DocumentKind::kScenario ? "scenario" : "sweep",
             s.pointer.empty() ? std::string("file") : s.pointer, s.summary);
  if (!s.name_stands_for.empty()) fmt::print("  a string may stand for it: {}\n", s.name_stands_for);
  for (const ParamDoc& p : s.fields) {
    const bool nested = is_section(s.pointer + "/" + p.name, kind);
    fmt::print("      {:<20} {:<26} {}{}{}\n", p.name, p.type, p.doc,
               p.default_value.empty() ? " (required)"
                                       : fmt::format(" [default: {}]", p.default_value),
               nested ? fmt::format(" (kvsim explain {})", p.name) : "");
  }
}

// One field of the format, as the JSON Schema describes it (every alternative a family's
// entries or a name-or-object field allow).
int explain_pointer(const std::string& pointer) {
  for (const DocumentKind kind : {DocumentKind::kScenario, DocumentKind::kSweep}) {
    const Json& schema = api::format_schema(kind);
    const std::vector<const Json*> nodes = schema_at(schema, pointer);
    if (nodes.empty()) continue;
    fmt::print("{} ({}):\n", pointer, kind == DocumentKind::kScenario ? "scenario" : "sweep");
    std::set<std::string> printed;  // family entries often share a field's declaration
    for (const Json* n : nodes) {
      if (!printed.insert(n->dump()).second) continue;
      Json shown = *n;
      for (const char* key : {"properties", "oneOf", "anyOf", "items", "description"}) {
        shown.erase(key);
      }
      fmt::print("  {}{}\n", n->value("description", std::string("(no description)")),
                 shown.empty() ? std::string() : " " + shown.dump());
      const std::vector<std::string> keys = keys_at(*n, "");
      if (!keys.empty()) fmt::print("    fields: {}\n", fmt::join(keys, ", "));
    }
    return 0;
  }
  const std::string parent = pointer.substr(0, pointer.rfind('/'));
  throw InputError("kvsim explain", pointer,
                   fmt::format("neither the scenario nor the sweep format has a field here; "
                               "at {} they have: {}",
                               parent.empty() ? "the top level" : parent,
                               fmt::join(keys_at(api::format_schema(DocumentKind::kScenario), parent),
                                         ", ")));
}

void print_family(const RegistryView& r) {
  fmt::print("{}: {}\n", r.family(), r.description());
  for (const auto& e : r.infos()) print_entry(e);
}

// Sections by name; one chosen from a family under another name ("memory" is a "kv memory")
// shows the family.
bool explain_section(const std::string& name, std::vector<std::string>& known) {
  bool found = false;
  std::set<std::string> shown;
  for (const DocumentKind kind : {DocumentKind::kScenario, DocumentKind::kSweep}) {
    for (const Section& s : sections(kind)) {
      const std::string n = section_name(s, kind);
      known.push_back(n);
      if (n != name) continue;
      if (s.family.empty()) {
        print_section(s, kind);
        found = true;
      } else if (s.family != name && shown.insert(s.family).second) {
        for (const RegistryView* r : all_registries()) {
          if (r->family() == s.family) print_family(*r);
        }
        found = true;
      }
    }
  }
  return found;
}

int explain(const std::string& name) {
  if (!name.empty() && name[0] == '/') return explain_pointer(name);
  std::vector<std::string> known;
  bool found = explain_section(name, known);
  for (const RegistryView* r : all_registries()) {
    known.push_back(r->family());
    if (r->family() == name) {
      print_family(*r);
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
  api::apply_overrides(doc, options.overrides);
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
      "explain", "Describe a section (serving, workload, ...), a family (partitioner), an "
                 "implementation (kvr) or a field (/serving/scheduler/preemption)");
  auto name = std::make_shared<std::string>();
  cmd->add_option("name", *name, "section, family, implementation or /json/pointer")->required();
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
