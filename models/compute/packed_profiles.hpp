#pragma once
// The shipped device profiles packed at build time, for loading without parsing their points.
//
// models/catalog/pack_profiles.cpp (run by the build) writes packed_profiles() from
// calibration/profiles/*.json: each device profile whose points are all well formed, as its
// document with the tables' "points" emptied (the skeleton) plus every table's points as compiled
// arrays holding the values nlohmann::json reads from the text. packed_device_profile() reads the
// skeleton through DeviceProfile::from_json, so every field but the points keeps its checks and
// errors, and takes the points from the arrays: the same DeviceProfile as reading the full text
// (tests/models/packed_profile_test.cpp compares every shipped profile both ways), at a small
// part of the cost. Callers: the calibrated compute model (builtin.cpp) and shipped_profile().
// A profile that was not packed is read from its full text by the caller, as before.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "models/compute/calibrated.hpp"

namespace kvsim {

struct PackedProfile {
  std::string_view name;      // file stem: "a100-sxm4-80gb"
  std::string_view skeleton;  // the document, every table's "points" an empty array
  std::span<const MeasuredPoint> points;  // every table's points, in file order, table by table
  std::span<const std::size_t> ends;      // table i's points are [ends[i-1], ends[i])
};

/// Generated at build time (packed_profiles.cpp in the build folder).
std::span<const PackedProfile> packed_profiles();

/// The shipped profile `name` read from its packed form; none when it was not packed.
std::optional<DeviceProfile> packed_device_profile(const std::string& name);

}  // namespace kvsim
