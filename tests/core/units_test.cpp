#include "sim/core/units.hpp"

#include <gtest/gtest.h>

namespace kvsim {

TEST(Units, Durations) {
  EXPECT_DOUBLE_EQ(parse_duration("5us"), 5e-6);
  EXPECT_DOUBLE_EQ(parse_duration("1.5 ms"), 1.5e-3);
  EXPECT_DOUBLE_EQ(parse_duration("250ns"), 250e-9);
  EXPECT_DOUBLE_EQ(parse_duration("2s"), 2.0);
}

TEST(Units, SizesSiAndIec) {
  EXPECT_DOUBLE_EQ(parse_bytes("80GiB"), 80.0 * 1024 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_bytes("80GB"), 80e9);
  EXPECT_DOUBLE_EQ(parse_bytes("512KiB"), 512.0 * 1024);
  EXPECT_DOUBLE_EQ(parse_bytes("3B"), 3.0);
}

TEST(Units, BandwidthInBytesAndBits) {
  EXPECT_DOUBLE_EQ(parse_bandwidth("300GB/s"), 300e9);
  EXPECT_DOUBLE_EQ(parse_bandwidth("200Gb/s"), 25e9);  // 200e9 bits / 8
  EXPECT_DOUBLE_EQ(parse_bandwidth("1GiB/s"), 1073741824.0);
  EXPECT_DOUBLE_EQ(parse_bandwidth("100Gbps"), 12.5e9);
}

TEST(Units, ComputeAndEventRates) {
  EXPECT_DOUBLE_EQ(parse_flop_rate("312TFLOP/s"), 312e12);
  EXPECT_DOUBLE_EQ(parse_flop_rate("19.5TFLOPS"), 19.5e12);
  EXPECT_DOUBLE_EQ(parse_rate("4/s"), 4.0);
  EXPECT_DOUBLE_EQ(parse_rate("120/min"), 2.0);
}

TEST(Units, BareNumberSuggestsTheFix) {
  try {
    parse_bandwidth("300");
    FAIL() << "no error";
  } catch (const UnitError& e) {
    EXPECT_NE(std::string(e.what()).find("\"300GB/s\""), std::string::npos) << e.what();
  }
}

TEST(Units, RejectsUnknownUnitsNegativeValuesAndGarbage) {
  EXPECT_THROW(parse_duration("5 parsecs"), UnitError);
  EXPECT_THROW(parse_bytes("-1GB"), UnitError);
  EXPECT_THROW(parse_bytes("GB"), UnitError);
  EXPECT_THROW(parse_bandwidth("300GB"), UnitError);  // a size is not a bandwidth
}

}  // namespace kvsim
