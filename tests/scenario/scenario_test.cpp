#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "sim/scenario/scenario.hpp"

namespace kvsim {
namespace {

const std::string kRoot = KVSIM_SOURCE_DIR;

}  // namespace

TEST(Scenario, EveryShippedScenarioLoads) {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(kRoot + "/scenarios")) {
    if (entry.path().extension() != ".json") continue;
    const auto doc = ConfigDocument::load_file(entry.path().string());
    if (doc.json().contains("base")) continue;  // sweep files are checked by the sweep tests
    EXPECT_NO_THROW(load_scenario(doc)) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 1u);
}

TEST(Scenario, ResolvedScenarioSpellsOutDefaults) {
  const Scenario s = load_scenario(ConfigDocument::load_file(kRoot + "/scenarios/default.json"));
  EXPECT_EQ(s.resolved["model"]["layers"], 32);
  EXPECT_EQ(s.resolved["prefill"]["strategies"][3]["routing"], "relay");
  EXPECT_EQ(s.resolved["cluster"]["topology"]["links"].size(), 16u);
  EXPECT_EQ(s.resolved["compute"]["type"], "roofline");
  EXPECT_EQ(s.topology->gpu_count(), 8);
}

TEST(Scenario, HfConfigPathIsRelativeToTheScenarioFile) {
  const auto dir = std::filesystem::temp_directory_path() / "kvsim-hf-test";
  std::filesystem::create_directories(dir / "m");
  {
    std::ofstream(dir / "m" / "config.json")
        << R"({"model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336,
               "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
               "vocab_size": 32000, "max_position_embeddings": 32768})";
    std::ofstream(dir / "s.json")
        << R"({"model": {"hf_config": "m/config.json"}, "cluster": {"gpu": "h100-sxm"},
               "decode": {"context_tokens": 100}})";
  }
  const Scenario s = load_scenario(ConfigDocument::load_file((dir / "s.json").string()));
  EXPECT_EQ(s.model.name, "m");
  EXPECT_EQ(s.model.kv_heads, 8);
  std::filesystem::remove_all(dir);
}

}  // namespace kvsim
