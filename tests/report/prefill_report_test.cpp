// The prefill table and CSV: shares that stay within 0-100% at any time scale, and the
// scenario's warnings carried as a CSV column.
#include "sim/report/prefill_report.hpp"

#include <regex>

#include <gtest/gtest.h>

namespace kvsim::report {
namespace {

// Four GPUs each waiting 3e18 ns of a 3.2e18 ns TTFT (a prefill over a 1 B/s link): each fits
// an int64 (at most 9.22e18), their sum (1.2e19) does not.
prefill::PrefillResult centuries_of_waiting() {
  prefill::PrefillResult r;
  r.label = "tp";
  r.ttft = Duration(3'200'000'000'000'000'000);
  r.critical_communication = r.ttft;
  r.gpus.assign(4, prefill::GpuTime{Duration(0), Duration(3'000'000'000'000'000'000),
                                    Duration(200'000'000'000'000'000)});
  return r;
}

TEST(PrefillTable, WaitShareOfHugeTimesIsNotNegative) {
  const std::string table = format_prefill_table({centuries_of_waiting()});
  // wait = 4 x 3e18 / (4 x 3.2e18) = 93.75% -> " 93.8%"; busy 0.
  EXPECT_NE(table.find("   0.0%   93.8%"), std::string::npos) << table;
  EXPECT_FALSE(std::regex_search(table, std::regex("-[0-9]"))) << table;  // no negative number
}

TEST(PrefillCsv, WarningsAreALastColumnOnEveryRowOnlyWhenThereAreSome) {
  prefill::PrefillResult r;
  r.label = "single";
  r.ttft = Duration(5);
  r.critical_compute = r.ttft;
  EXPECT_EQ(prefill_csv({r}),
            "strategy,ttft_ns,critical_compute_ns,critical_communication_ns,link_bytes,"
            "partition\nsingle,5,5,0,0,\n");
  // Two warnings joined by "; ", quoted because one holds a comma.
  EXPECT_EQ(prefill_csv({r}, {"fp8, as W8A16", "long context"}),
            "strategy,ttft_ns,critical_compute_ns,critical_communication_ns,link_bytes,"
            "partition,warnings\nsingle,5,5,0,0,,\"fp8, as W8A16; long context\"\n");
}

}  // namespace
}  // namespace kvsim::report
