// The scenario and sweep formats' JSON Schema (sim/scenario/json_schema.hpp) against every
// shipped file, `kvsim explain`'s pointer lookup over every field they use, and `--set` adding
// fields the format allows (tools/api/overrides.hpp).
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "core/error_of.hpp"
#include "scenario/schema_validator.hpp"
#include "sim/scenario/json_schema.hpp"
#include "tools/api/overrides.hpp"
#include "tools/api/registries.hpp"

namespace kvsim {
namespace {

namespace fs = std::filesystem;
const std::string kRoot = KVSIM_SOURCE_DIR;

Json read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

// A scenario or sweep input: a sweep has "base" and "axes"; a scenario a "model". Outputs that
// look alike (*.resolved.json: the resolved scenario, a different format) are not inputs.
struct Shipped {
  fs::path path;
  DocumentKind kind;
};

std::vector<Shipped> shipped_inputs() {
  std::vector<Shipped> out;
  for (const char* dir : {"scenarios", "sweeps", "results"}) {
    for (const auto& entry : fs::recursive_directory_iterator(kRoot + "/" + dir)) {
      const fs::path& p = entry.path();
      if (p.extension() != ".json" || p.string().find(".resolved.") != std::string::npos) continue;
      const Json j = read(p);
      if (!j.is_object()) continue;
      if (j.contains("axes") && j.contains("base")) out.push_back({p, DocumentKind::kSweep});
      if (j.contains("model") && j.contains("cluster")) out.push_back({p, DocumentKind::kScenario});
    }
  }
  return out;
}

// Every value's pointer in `j` (objects' keys and array elements, recursively).
void pointers(const Json& j, const std::string& at, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (const auto& item : j.items()) {
      out.push_back(at + "/" + item.key());
      pointers(item.value(), at + "/" + item.key(), out);
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) pointers(j[i], at + "/" + std::to_string(i), out);
  }
}

const Json& schema(DocumentKind kind) { return api::format_schema(kind); }

TEST(Schema, ShippedInputsAreFound) {
  // 34 scenarios under scenarios/ (one of them, regression/kvr-strategies.json, a sweep) and
  // 9 sweeps under sweeps/: at least these, so a moved folder cannot empty the checks below.
  std::size_t scenarios = 0;
  std::size_t sweeps = 0;
  for (const Shipped& s : shipped_inputs()) ++(s.kind == DocumentKind::kSweep ? sweeps : scenarios);
  EXPECT_GE(scenarios, 33u);
  EXPECT_GE(sweeps, 10u);
}

TEST(Schema, EveryShippedScenarioAndSweepValidates) {
  for (const Shipped& s : shipped_inputs()) {
    const std::vector<std::string> errors =
        testing::schema_violations(schema(s.kind), read(s.path));
    EXPECT_TRUE(errors.empty()) << s.path << ":\n  " << fmt::format("{}", fmt::join(errors, "\n  "));
  }
}

TEST(Schema, EveryFieldOfEveryShippedFileIsExplained) {
  for (const Shipped& s : shipped_inputs()) {
    std::vector<std::string> all;
    pointers(read(s.path), "", all);
    for (const std::string& p : all) {
      const std::vector<const Json*> nodes = schema_at(schema(s.kind), p);
      ASSERT_FALSE(nodes.empty()) << s.path << ": " << p << " is not in the format";
      bool described = false;
      for (const Json* n : nodes) described = described || !n->value("description", "").empty();
      EXPECT_TRUE(described) << s.path << ": " << p << " has no description";
    }
  }
}

TEST(Schema, RefusesUnknownKeysWrongTypesAndUnknownTypes) {
  Json j = read(kRoot + "/scenarios/serving/llama-2-70b-dgx-a100.json");
  ASSERT_TRUE(testing::schema_violations(schema(DocumentKind::kScenario), j).empty());
  Json typo = j;
  typo["serving"]["scheduler"]["max_batch_sise"] = 8;
  EXPECT_FALSE(testing::schema_violations(schema(DocumentKind::kScenario), typo).empty());
  Json wrong_type = j;
  wrong_type["serving"]["replicas"] = "two";
  EXPECT_FALSE(testing::schema_violations(schema(DocumentKind::kScenario), wrong_type).empty());
  Json unknown = j;
  unknown["serving"]["router"]["type"] = "random-walk";
  EXPECT_FALSE(testing::schema_violations(schema(DocumentKind::kScenario), unknown).empty());
}

TEST(Schema, TypeStringsBecomeJsonTypes) {
  EXPECT_EQ(type_schema("count"), (Json{{"type", "integer"}}));
  EXPECT_EQ(type_schema("count >= 2"), (Json{{"type", "integer"}, {"minimum", 2}}));
  EXPECT_EQ(type_schema("ring|tree|direct"), (Json{{"enum", {"ring", "tree", "direct"}}}));
  EXPECT_EQ(type_schema("duration"), (Json{{"type", "string"}}));  // "5us": units in strings
  EXPECT_EQ(type_schema("[count]"), (Json{{"type", "array"}, {"items", {{"type", "integer"}}}}));
  EXPECT_EQ(type_schema("name|path").at("anyOf").size(), 2u);
}

TEST(Schema, ExplainFindsFieldsThroughFamilies) {
  const Json& s = schema(DocumentKind::kScenario);
  EXPECT_FALSE(schema_at(s, "/serving/scheduler/preemption").empty());
  EXPECT_FALSE(schema_at(s, "/prefill/strategies/3/partitioner/granularity").empty());
  EXPECT_TRUE(schema_at(s, "/serving/scheduler/preemptoin").empty());
  EXPECT_TRUE(schema_at(s, "/prefill/contxt").empty());
}

// Its scheduler has no "preemption" and its serving section no "slo".
ConfigDocument serving_document() {
  return ConfigDocument::load_file(kRoot + "/scenarios/serving/anyscale-opt-13b.json");
}

TEST(SetOverride, AddsAFieldTheFormatAllows) {
  ConfigDocument doc = serving_document();
  ASSERT_FALSE(doc.json()["serving"]["scheduler"].contains("preemption"));
  api::apply_overrides(doc, {"/serving/scheduler/preemption=swap"});
  EXPECT_EQ(doc.json()["serving"]["scheduler"]["preemption"], "swap");
  ASSERT_FALSE(doc.json()["serving"].contains("slo"));
  api::apply_overrides(doc, {"/serving/slo/ttft=2s"});  // the parent object is added too
  EXPECT_EQ(doc.json()["serving"]["slo"], (Json{{"ttft", "2s"}}));
}

TEST(SetOverride, AddingAFieldKeepsTheFoldersThatRelativePathsResolveAgainst) {
  // A document whose relative paths resolve against a folder other than its file's (a sweep
  // point's: its sweep file's) keeps that folder when an override adds a field.
  ConfigDocument doc(serving_document().json(), "points/p.json", "sweeps/here");
  api::apply_overrides(doc, {"/serving/slo/ttft=2s"});
  EXPECT_EQ(doc.json()["serving"]["slo"], (Json{{"ttft", "2s"}}));
  EXPECT_EQ(doc.directory(), "sweeps/here");
  EXPECT_EQ(doc.name(), "points/p.json");
}

TEST(SetOverride, RefusesAFieldTheFormatLacksNamingFileAndPointer) {
  ConfigDocument doc = serving_document();
  const InputError e = error_of([&] { api::apply_overrides(doc, {"/serving/scheduler/preemptoin=swap"}); });
  EXPECT_NE(std::string(e.what()).find("anyscale-opt-13b.json"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("/serving/scheduler/preemptoin"), std::string::npos)
      << e.what();
}

TEST(SetOverride, AddsToASweepByTheSweepFormat) {
  ConfigDocument doc = ConfigDocument::load_file(kRoot + "/sweeps/paper/scaling.json");
  ASSERT_FALSE(doc.json().contains("seed"));
  api::apply_overrides(doc, {"/seed=7"});
  EXPECT_EQ(doc.json()["seed"], 7);
  EXPECT_THROW(api::apply_overrides(doc, {"/baseline_label=single"}), InputError);
}

}  // namespace
}  // namespace kvsim
