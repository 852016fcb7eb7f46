#include "sim/core/time.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include <gtest/gtest.h>

namespace kvsim {

TEST(Time, FromSecondsRoundsToNearestNanosecond) {
  EXPECT_EQ(from_seconds(1.5e-6), Duration(1500));
  EXPECT_EQ(from_seconds(2.4e-9), Duration(2));
  EXPECT_EQ(from_seconds(2.6e-9), Duration(3));
  EXPECT_EQ(from_seconds(0), Duration(0));
}

TEST(Time, FromSecondsCeilRoundsUp) {
  EXPECT_EQ(from_seconds_ceil(2.01e-9), Duration(3));
  EXPECT_EQ(from_seconds_ceil(3e-9), Duration(3));
}

TEST(Time, RejectsNanNegativeAndOverflow) {
  EXPECT_THROW(from_seconds(std::nan("")), std::domain_error);
  EXPECT_THROW(from_seconds(-1e-9), std::domain_error);
  EXPECT_THROW(from_seconds(1e12), std::domain_error);
  EXPECT_THROW(from_seconds_ceil(std::numeric_limits<double>::infinity()), std::domain_error);
}

TEST(Time, FormatsWithAReadableUnit) {
  EXPECT_EQ(format_duration(Duration(999)), "999 ns");
  EXPECT_EQ(format_duration(Duration(1'500'000)), "1.500 ms");
}

}  // namespace kvsim
