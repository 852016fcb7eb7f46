// The model spec's declared fields (models/llm/spec_docs.cpp, what `kvsim explain model|mla|moe`
// prints) against its parser (parse_llm_spec, parse_mla, parse_moe), both ways: every key of
// every shipped catalog spec is declared, and the parser reads every declared field (a value of
// the wrong type there is refused at that field, not as an unknown key).
#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "models/llm/llm_spec.hpp"
#include "models/llm/spec_docs.hpp"
#include "sim/core/config.hpp"

namespace kvsim {
namespace {

const std::filesystem::path kLlms =
    std::filesystem::path(KVSIM_SOURCE_DIR) / "models/catalog/llms";

std::vector<std::string> declared(const std::string& entry) {
  std::vector<std::string> names;
  for (const auto& e : model_spec_docs().infos()) {
    if (e.name != entry) continue;
    for (const ParamDoc& p : e.params) names.push_back(p.name);
  }
  return names;
}

Json catalog_spec(const std::string& name) {
  return ConfigDocument::load_file((kLlms / (name + ".json")).string()).json();
}

TEST(SpecDocs, EveryKeyOfEveryCatalogSpecIsDeclared) {
  const std::vector<std::string> spec = declared("spec");
  const std::vector<std::string> mla = declared("mla");
  const std::vector<std::string> moe = declared("moe");
  const auto check = [](const Json& object, const std::vector<std::string>& names,
                        const std::string& where) {
    for (const auto& [key, value] : object.items()) {
      EXPECT_NE(std::find(names.begin(), names.end(), key), names.end())
          << where << ": '" << key << "' is not declared in models/llm/spec_docs.cpp";
    }
  };
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(kLlms)) {
    const Json j = ConfigDocument::load_file(f.path().string()).json();
    check(j, spec, f.path().filename().string());
    if (j.contains("mla")) check(j["mla"], mla, f.path().filename().string() + " mla");
    if (j.contains("moe")) check(j["moe"], moe, f.path().filename().string() + " moe");
    ++files;
  }
  EXPECT_GE(files, 29);
}

// `base` with `pointer` set to a value no field takes: the parser must refuse it there.
void expect_read(const Json& base, const std::string& pointer) {
  Json j = base;
  j[Json::json_pointer(pointer)] = Json::array({Json::array()});
  const ConfigDocument doc(j, "spec.json");
  try {
    (void)parse_llm_spec(doc.root());
    ADD_FAILURE() << pointer << ": accepted a nested array";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), pointer) << e.what();
    EXPECT_EQ(std::string(e.what()).find("unknown key"), std::string::npos) << e.what();
  }
}

TEST(SpecDocs, TheParserReadsEveryDeclaredField) {
  // DeepSeek-V3 has both a latent-attention and an MoE object, shared experts among it.
  const Json deepseek = catalog_spec("deepseek-v3");
  ASSERT_TRUE(deepseek.contains("mla") && deepseek.contains("moe"));
  for (const std::string& f : declared("spec")) expect_read(deepseek, "/" + f);
  for (const std::string& f : declared("mla")) expect_read(deepseek, "/mla/" + f);
  for (const std::string& f : declared("moe")) expect_read(deepseek, "/moe/" + f);
}

}  // namespace
}  // namespace kvsim
