// `kvsim schema [scenario|sweep] [-o FILE]`: the JSON Schema of a format, for editors
// (VS Code "json.schemas", or "$schema" in a file) and other tools. Built from the section
// declarations and the registries (sim/scenario/json_schema.hpp), so it lists every field that
// `kvsim explain` documents.
#include <fmt/format.h>

#include "sim/report/output.hpp"
#include "tools/kvsim/commands.hpp"
#include "tools/api/overrides.hpp"

namespace kvsim::cli {
namespace {

struct SchemaOptions {
  std::string format = "scenario";
  std::string out;
};

int schema(const SchemaOptions& o) {
  const DocumentKind kind = o.format == "sweep" ? DocumentKind::kSweep : DocumentKind::kScenario;
  const std::string text = api::format_schema(kind).dump(2) + "\n";
  if (o.out.empty()) {
    fmt::print("{}", text);
  } else {
    report::write_file(o.out, text);  // whole or not at all
  }
  return 0;
}

}  // namespace

void add_schema(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "schema", "Write the JSON Schema (draft 2020-12) of the scenario or sweep format");
  auto options = std::make_shared<SchemaOptions>();
  cmd->add_option("format", options->format, "scenario (default) or sweep")
      ->check(CLI::IsMember({"scenario", "sweep"}));
  cmd->add_option("-o,--out", options->out, "write it to FILE instead of stdout");
  cmd->callback([&selected, options] { selected = [options] { return schema(*options); }; });
}

}  // namespace kvsim::cli
