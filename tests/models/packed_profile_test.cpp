// The shipped device profiles packed at build time (models/compute/packed_profiles.hpp) against
// reading their full text, the way every profile was read before:
//   - every shipped device profile is packed, and reads as the same DeviceProfile, field by field
//     and point by point (bit for bit);
//   - the list of shipped device profiles is the one parsing every document gave;
//   - the build tool leaves out what it cannot pack exactly (a point read only by the checked
//     path, a malformed point, a profile of another kind), so kvsim reads those from their text
//     with the same values and errors as before.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "models/catalog/catalog.hpp"
#include "models/compute/packed_profiles.hpp"

namespace kvsim {
namespace {

bool is_device_profile(const std::string& name) {
  return catalog::profile_document(name).json().value("kind", "") == "kvsim-device-profile";
}

std::size_t expect_same_tables(const DeviceProfile& a, const DeviceProfile& b) {
  std::size_t compared = 0;
  EXPECT_EQ(a.tables.size(), b.tables.size());
  for (const auto& [key, points] : a.tables) {
    const auto it = b.tables.find(key);
    if (it == b.tables.end()) {
      ADD_FAILURE() << "missing table " << key.describe();
      continue;
    }
    EXPECT_EQ(points.size(), it->second.size()) << key.describe();
    for (std::size_t i = 0; i < std::min(points.size(), it->second.size()); ++i) {
      EXPECT_EQ(points[i].m, it->second[i].m);
      EXPECT_EQ(points[i].seconds, it->second[i].seconds);  // exact: the same double
      ++compared;
    }
  }
  return compared;
}

}  // namespace

TEST(PackedProfiles, EveryShippedDeviceProfileIsPackedAndReadsAsItsFullText) {
  std::size_t profiles = 0;
  std::size_t points = 0;
  for (const std::string& name : catalog::profile_names()) {
    if (!is_device_profile(name)) {
      EXPECT_FALSE(packed_device_profile(name)) << name << " is not a device profile";
      continue;
    }
    const ConfigDocument doc = catalog::profile_document(name);
    const DeviceProfile full = DeviceProfile::from_json(doc.root());
    const std::optional<DeviceProfile> packed = packed_device_profile(name);
    ASSERT_TRUE(packed) << name << " was not packed";
    points += expect_same_tables(full, *packed);
    // Everything else: names, provenance, report, ranges and every fit (Json compares numbers
    // exactly). to_json writes every field of a DeviceProfile.
    EXPECT_EQ(full.to_json(), packed->to_json()) << name;
    EXPECT_EQ(shipped_profile(name).to_json(), full.to_json()) << name;
    ++profiles;
  }
  EXPECT_GE(profiles, 2U);      // a100-sxm4-80gb and h100-sxm
  EXPECT_GT(points, 40000U);    // 24,542 points in the A100 profile alone
}

TEST(PackedProfiles, ShippedProfilesListsWhatParsingEveryDocumentListed) {
  std::vector<std::string> parsed;
  for (const std::string& name : catalog::profile_names()) {
    if (is_device_profile(name)) parsed.push_back(name);
  }
  EXPECT_EQ(shipped_profiles(), parsed);
}

#ifdef KVSIM_PACK_PROFILES_TOOL
TEST(PackedProfiles, TheBuildToolLeavesOutWhatItCannotPackExactly) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "kvsim_pack_profiles_test";
  std::filesystem::create_directories(dir);
  const auto write = [&](const std::string& name, const std::string& points) {
    std::ofstream(dir / (name + ".json"))
        << R"({"kind": "kvsim-device-profile", "name": ")" << name
        << R"(", "gpu": "a100-sxm4-80gb", "tables": [{"gemm": {"n": 8, "k": 8}, "points": )"
        << points << "}]}";
  };
  write("good", "[[2, 2e-5], [1, 1e-5]]");
  write("float-m", "[[4.0, 1e-5]]");          // a token count only the checked path reads (as 4)
  write("huge-m", "[[9223372036854775807, 1e-5]]");  // past 2^62: the checked path's range check
  write("string-s", R"([[1, "1e-5"]])");      // malformed: its error names the point
  write("empty", "[]");                       // no points at all
  std::ofstream(dir / "collective.json") << R"({"name": "c", "collectives": {}})";
  std::ofstream(dir / "broken.json") << R"({"kind": "kvsim-device-profile", )";
  const std::filesystem::path out = dir / "packed.cpp";
  std::string command = fmt::format("'{}' '{}'", KVSIM_PACK_PROFILES_TOOL, out.string());
  for (const char* n : {"good", "float-m", "huge-m", "string-s", "empty", "collective", "broken"}) {
    command += fmt::format(" '{}'", (dir / (std::string(n) + ".json")).string());
  }
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::stringstream text;
  text << std::ifstream(out).rdbuf();
  const std::string source = text.str();
  EXPECT_NE(source.find(R"({"good", R"kvsim_pack()"), std::string::npos) << source;
  // Points in file order (kvsim sorts them when reading, as it sorts the text's), each value
  // written exactly as a hexadecimal float.
  EXPECT_NE(source.find(fmt::format("{{2, {:a}}},\n    {{1, {:a}}},", 2e-5, 1e-5)),
            std::string::npos) << source;
  for (const char* n : {"float-m", "huge-m", "string-s", "empty", "collective", "broken"}) {
    EXPECT_EQ(source.find(fmt::format("{{\"{}\", R\"", n)), std::string::npos) << n;
  }
}
#endif

}  // namespace kvsim
