#include "sim/core/time.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include <gtest/gtest.h>

#include "sim/core/event_queue.hpp"
#include "sim/core/input_error.hpp"

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
  // NaN and negative times are bugs; a time past 2^63 ns comes from the inputs (exit 2).
  EXPECT_THROW(from_seconds(std::nan("")), std::domain_error);
  EXPECT_THROW(from_seconds(-1e-9), std::domain_error);
  EXPECT_THROW(from_seconds(1e12), InputError);
  EXPECT_THROW(from_seconds_ceil(std::numeric_limits<double>::infinity()), InputError);
}

TEST(Time, OverflowNamesTheQuantity) {
  try {
    from_seconds(1e10, "request 7's arrival");
    ADD_FAILURE() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("request 7's arrival of 1e+10 s is past the latest time"),
              std::string::npos)
        << e.what();
  }
}

TEST(Time, CheckedAddRefusesWrapAroundInsteadOfGoingNegative) {
  // 2^63 - 1 ns is kMaxSimTime; one more nanosecond would wrap to -2^63.
  EXPECT_EQ(checked_add(kMaxSimTime - Duration(1), Duration(1), "t"), kMaxSimTime);
  EXPECT_THROW(checked_add(kMaxSimTime, Duration(1), "t"), InputError);
  EXPECT_THROW(checked_add(SimTime(1), kMaxSimTime, "t"), InputError);
}

TEST(Time, EventQueueRefusesADelayPastTheEndOfTime) {
  // Used to wrap to a negative time and fail as "event scheduled in the past" (exit 3).
  EventQueue q;
  q.schedule_in(Duration(10), Phase::kCompletion, [&] {
    EXPECT_THROW(q.schedule_in(kMaxSimTime, Phase::kCompletion, [] {}), InputError);
  });
  q.run();
}

TEST(Time, FormatsWithAReadableUnit) {
  EXPECT_EQ(format_duration(Duration(999)), "999 ns");
  EXPECT_EQ(format_duration(Duration(1'500'000)), "1.500 ms");
}

}  // namespace kvsim
