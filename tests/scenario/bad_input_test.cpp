// Table-driven bad input: every file in tests/bad_input/ beside the JSON pointer and message it
// must produce (tests/bad_input/expected.json). Each must raise InputError; none may crash.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "sim/serving/engine.hpp"

#include "sim/scenario/scenario.hpp"

namespace kvsim {
namespace {

const std::string kDir = std::string(KVSIM_SOURCE_DIR) + "/tests/bad_input/";

Json expectations() {
  std::ifstream in(kDir + "expected.json");
  return Json::parse(in);
}

class BadInput : public ::testing::TestWithParam<std::string> {};

TEST_P(BadInput, NamesThePointerAndSaysWhatIsValid) {
  const Json expected = expectations().at(GetParam());
  const std::string path = kDir + GetParam() + ".json";
  try {
    const Scenario s = load_scenario(ConfigDocument::load_file(path));
    if (expected.value("run", false)) {
      for (const auto& strategy : s.prefill->strategies) strategy->run(s.prefill_setup(), false);
    }
    if (expected.value("serve", false)) {
      const ConfigDocument doc = ConfigDocument::load_file(path);
      serving::ServingSetup::from_config(doc.root().at("serving"), s);
    }
    FAIL() << GetParam() << ": no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), expected.at("pointer").get<std::string>()) << e.what();
    EXPECT_NE(e.message().find(expected.at("message").get<std::string>()), std::string::npos)
        << "message was: " << e.what();
    if (expected.contains("file_suffix")) {
      const std::string suffix = expected.at("file_suffix");
      ASSERT_GE(e.file().size(), suffix.size());
      EXPECT_EQ(e.file().substr(e.file().size() - suffix.size()), suffix);
    }
  }
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  const Json all = expectations();  // items() must not outlive the object it iterates
  for (const auto& [name, _] : all.items()) names.push_back(name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Table, BadInput, ::testing::ValuesIn(case_names()),
                         [](const auto& case_info) { return case_info.param; });

TEST(BadInputTable, HasAFileForEveryExpectationAndViceVersa) {
  const Json all = expectations();
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kDir)) {
    if (entry.path().filename() == "expected.json") continue;
    ++files;
    EXPECT_TRUE(all.contains(entry.path().stem().string())) << entry.path();
  }
  EXPECT_EQ(files, all.size());
  EXPECT_GE(files, 25u);
}

}  // namespace
}  // namespace kvsim
