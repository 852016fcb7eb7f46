// "collectives": {"profile": NAME or PATH} (issue 23): the same collectives as the profile's
// name alone, from a shipped name or a file calibrate-network wrote; alone in its object.
#include <gtest/gtest.h>

#include "core/error_of.hpp"
#include "sim/scenario/scenario.hpp"

namespace kvsim {
namespace {

const std::string kRoot = KVSIM_SOURCE_DIR;

Json collectives_with(const Json& collectives) {
  ConfigDocument doc = ConfigDocument::load_file(kRoot + "/scenarios/default.json");
  Json j = doc.json();
  j["cluster"]["collectives"] = collectives;
  return load_scenario(ConfigDocument(j, doc.name())).resolved["cluster"]["collectives"];
}

TEST(CollectiveProfile, ByNameOrPathIsTheNamedProfile) {
  const Json named = collectives_with("vidur-dgx-a100");
  EXPECT_EQ(named["measured_on"]["profile"], "vidur-dgx-a100");
  EXPECT_EQ(collectives_with(Json{{"profile", "vidur-dgx-a100"}}), named);
  // A path is relative to the scenario (scenarios/default.json).
  EXPECT_EQ(collectives_with(Json{{"profile", "../calibration/profiles/vidur-dgx-a100.json"}}),
            named);
}

TEST(CollectiveProfile, RefusesOtherKeysUnknownNamesAndFilesWithoutCollectives) {
  const auto message = [](const Json& c) {
    return std::string(error_of([&] { (void)collectives_with(c); }).what());
  };
  EXPECT_NE(message(Json{{"profile", "vidur-dgx-a100"}, {"algorithm", "tree"}}).find("algorithm"),
            std::string::npos);
  EXPECT_NE(message(Json{{"profile", "vidur-dgx-a10"}}).find("did you mean 'vidur-dgx-a100'"),
            std::string::npos);
  EXPECT_NE(message(Json{{"profile", "default.json"}}).find("not a collective profile"),
            std::string::npos);
}

}  // namespace
}  // namespace kvsim
