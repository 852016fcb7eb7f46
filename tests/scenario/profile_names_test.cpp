// Profiles and predictors by name or path (issue 23): KVR-P's predictor, device profiles and
// collective profiles are read by one resolver (catalog::shipped_or_file), so a shipped name
// and the shipped file's path give the same thing, and an unknown name lists what is shipped.
#include <algorithm>
#include <filesystem>
#include <functional>

#include <gtest/gtest.h>

#include "core/error_of.hpp"
#include "models/catalog/catalog.hpp"
#include "sim/prefill/predictor.hpp"
#include "sim/scenario/scenario.hpp"

namespace kvsim {
namespace {

const std::string kRoot = KVSIM_SOURCE_DIR;

// scenarios/paper/kvr-p-...json with KVR-P's predictor (its fourth strategy) named `file`.
Scenario with_predictor(const std::string& file) {
  const ConfigDocument doc =
      ConfigDocument::load_file(kRoot + "/scenarios/paper/kvr-p-llama-2-7b-8xa100-300GBps.json");
  Json j = doc.json();
  Json& partitioner = j["prefill"]["strategies"][3]["partitioner"];
  EXPECT_EQ(partitioner["type"], "predicted");
  partitioner["file"] = file;
  return load_scenario(ConfigDocument(j, doc.name()));
}

// scenarios/engines/dgx-a100.json with its calibrated compute model's profile `profile`.
Scenario with_device_profile(const std::string& profile) {
  const ConfigDocument doc = ConfigDocument::load_file(kRoot + "/scenarios/engines/dgx-a100.json");
  Json j = doc.json();
  j["compute"]["profile"] = profile;
  return load_scenario(ConfigDocument(j, doc.name()));
}

std::string message_of(const std::function<void()>& f) { return error_of(f).what(); }

TEST(ProfileNames, AShippedPredictorByNameIsTheShippedFile) {
  const auto names = catalog::predictor_names();
  ASSERT_NE(std::find(names.begin(), names.end(), "a100-kvr"), names.end());
  const Json by_name =
      prefill::PartitionPredictor::from_json(catalog::predictor_document("a100-kvr").root())
          .to_json();
  EXPECT_EQ(by_name, prefill::PartitionPredictor::load(kRoot + "/predictors/a100-kvr.json")
                         .to_json());
  // The scenario resolves either way; its resolved form names the predictor as it was given.
  const Scenario named = with_predictor("a100-kvr");
  EXPECT_EQ(named.resolved["prefill"]["strategies"][3]["partitioner"]["file"], "a100-kvr");
  const Scenario by_path = with_predictor("../../predictors/a100-kvr.json");
  EXPECT_EQ(named.warnings, by_path.warnings);
}

TEST(ProfileNames, AnUnknownPredictorNameListsTheShippedOnesAndThatAPathWorks) {
  const std::string m = message_of([] { (void)with_predictor("a100-kv"); });
  EXPECT_NE(m.find("/prefill/strategies/3/partitioner/file"), std::string::npos) << m;
  EXPECT_NE(m.find("no shipped predictor 'a100-kv'"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'a100-kvr'"), std::string::npos) << m;
  EXPECT_NE(m.find("or give a path to a .json file"), std::string::npos) << m;
  // A path is read as a file, relative to the scenario.
  EXPECT_NE(message_of([] { (void)with_predictor("no-such.json"); }).find("cannot open"),
            std::string::npos);
}

TEST(ProfileNames, ADeviceProfileByNameOrPathIsTheSameProfile) {
  const Scenario named = with_device_profile("a100-sxm4-80gb");
  const Scenario by_path = with_device_profile("../../calibration/profiles/a100-sxm4-80gb.json");
  EXPECT_EQ(named.compute->describe(), by_path.compute->describe());
  // Written back (the resolved scenario) as given: the shipped name, or the file's absolute
  // path, so that either loads again to the same profile from anywhere.
  EXPECT_EQ(named.compute->to_json()["profile"], "a100-sxm4-80gb");
  EXPECT_EQ(by_path.compute->to_json()["profile"],
            std::filesystem::absolute(kRoot + "/calibration/profiles/a100-sxm4-80gb.json")
                .lexically_normal()
                .string());
}

TEST(ProfileNames, ACollectiveProfileIsNoDeviceProfile) {
  const std::string m = message_of([] { (void)with_device_profile("vidur-dgx-a100"); });
  EXPECT_NE(m.find("/compute/profile"), std::string::npos) << m;
  EXPECT_NE(m.find("is a collective profile"), std::string::npos) << m;
  EXPECT_NE(message_of([] { (void)with_device_profile("a100-sxm4-80g"); })
                .find("did you mean 'a100-sxm4-80gb'"),
            std::string::npos);
}

}  // namespace
}  // namespace kvsim
