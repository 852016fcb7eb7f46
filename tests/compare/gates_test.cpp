// kvsim compare's gates: no gate checks nothing and says so; thresholds and measurements that
// are not finite are input errors (a NaN error used to pass every gate); the quantile gates
// compare each metric's p50/p90/p99 with the measured one.
#include <cmath>
#include <fstream>
#include <limits>

#include <gtest/gtest.h>

#include "sim/compare/compare.hpp"

namespace kvsim::compare {
namespace {

// Points measured at 100 ms and predicted at `predicted` ms, aggregated.
Comparison predicted_at(const std::vector<double>& predicted) {
  Comparison c;
  for (std::size_t i = 0; i < predicted.size(); ++i) {
    ComparedPoint p;
    p.measured.entry = "point " + std::to_string(i);
    p.measured.ttft_ms = 100;
    p.predicted_ms = predicted[i];
    p.error = relative_error(p.predicted_ms, p.measured);
    c.points.push_back(p);
  }
  c.aggregates = aggregate(c.points);
  return c;
}

std::string pointer_of(const Gates& g) {
  try {
    validate(g);
  } catch (const InputError& e) {
    return e.pointer();
  }
  return "no error";
}

}  // namespace

TEST(CompareGates, NoGateSetChecksNothingAndSaysSo) {
  const Comparison c = predicted_at({1000, 1000});  // +900%: anything would fail
  const GateResult r = check_gates(c, Gates{});
  EXPECT_FALSE(r.checked);
  EXPECT_TRUE(r.failures.empty());
  EXPECT_EQ(verdict(r), "no gate was set: nothing was checked");
  const Json j = to_json(c, r);
  EXPECT_FALSE(j["gates"]["checked"].get<bool>());
  EXPECT_EQ(j["gates"]["verdict"], "no gate was set: nothing was checked");
  EXPECT_NE(to_markdown(c, r).find("**NOT GATED**"), std::string::npos);
  Gates g;
  g.max_mape = 10.0;  // 900% < 1000%
  const GateResult set = check_gates(c, g);
  EXPECT_TRUE(set.checked);
  EXPECT_EQ(verdict(set), "all gates passed");
  EXPECT_EQ(set.checks, std::vector<std::string>{"--max-mape 1000.00%"});
}

TEST(CompareGates, NonFiniteThresholdsAreInputErrors) {
  Gates g;
  g.max_mape = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(pointer_of(g), "--max-mape");
  g = Gates{};
  g.max_p99_error = std::numeric_limits<double>::infinity();
  EXPECT_EQ(pointer_of(g), "--max-p99-error");
  g = Gates{};
  g.baseline_point_error = -0.01;
  EXPECT_EQ(pointer_of(g), "--baseline-point-error");
  g = Gates{};
  g.metrics = {"ttft", "ttfx"};
  EXPECT_EQ(pointer_of(g), "--gate-metrics");
  EXPECT_THROW(check_gates(predicted_at({100}), [] {
                 Gates n;
                 n.max_point_error = std::numeric_limits<double>::quiet_NaN();
                 return n;
               }()),
               InputError);
}

TEST(CompareGates, NonFiniteMeasurementsAreInputErrors) {
  MeasuredPoint p;
  p.entry = "m.csv line 2";
  p.ttft_ms = std::numeric_limits<double>::infinity();
  try {
    relative_error(100, p);
    ADD_FAILURE() << "an infinite measurement was compared";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("m.csv line 2"), std::string::npos) << e.what();
  }
  // CSV: "inf" and 1e400 (which overflows to inf) name the line.
  const std::string path = ::testing::TempDir() + "/inf_ttft.csv";
  std::ofstream(path) << "prompt_tokens,ttft_ms\n128,10\n256,1e400\n";
  try {
    read_measurements(path);
    ADD_FAILURE() << "1e400 ms was read";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("line 3: ttft_ms is '1e400', not a positive finite"),
              std::string::npos)
        << e.what();
  }
}

TEST(CompareGates, QuantileGatesCompareEachMetricsDistribution) {
  // Measured all 100 ms; predicted 90, 100, 110, 150: p50 = 105 (+5%), p90 = 150 - 0.3 x 40 =
  // 138 (+38%), p99 = 150 - 0.03 x 40 = 148.8 (+48.8%) (numpy's interpolation).
  const Comparison c = predicted_at({90, 100, 110, 150});
  EXPECT_NEAR(c.aggregates.ttft().predicted.p50, 105, 1e-9);
  EXPECT_NEAR(c.aggregates.ttft().predicted.p90, 138, 1e-9);
  EXPECT_NEAR(c.aggregates.ttft().predicted.p99, 148.8, 1e-9);
  Gates g;
  g.max_p50_error = 0.06;
  g.max_p90_error = 0.40;
  EXPECT_TRUE(check_gates(c, g).passed);
  g.max_p99_error = 0.40;
  const GateResult r = check_gates(c, g);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_NE(r.failures[0].find("ttft p99 predicted 148.800 ms against 100.000 ms measured: "
                               "+48.80% exceeds --max-p99-error 40.00%"),
            std::string::npos)
      << r.failures[0];
  // Narrowed to metrics this comparison lacks, the quantile gates check nothing.
  g.metrics = {"tpot"};
  EXPECT_TRUE(check_gates(c, g).passed);
}

TEST(CompareGates, AMeasuredTpotWithoutItsOutputLengthIsRefusedNamingTheLine) {
  // A TPOT is the mean of a decode of output_tokens - 1 iterations: without output_tokens there
  // is nothing to predict it by, so the row is refused (it used to be read and not compared).
  const std::string path = ::testing::TempDir() + "/with_tpot.csv";
  std::ofstream(path) << "prompt_tokens,ttft_ms,tpot_ms\n128,10,5\n";
  try {
    (void)read_measurements(path);
    ADD_FAILURE() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2: a tpot_ms needs output_tokens of at least 2"),
              std::string::npos)
        << e.what();
  }
}

// Points measured at 10 ms TPOT and predicted at `predicted` ms (TTFT exact).
Comparison tpot_predicted_at(const std::vector<double>& predicted) {
  Comparison c = predicted_at(std::vector<double>(predicted.size(), 100));
  for (std::size_t i = 0; i < predicted.size(); ++i) {
    c.points[i].measured.tpot_ms = 10;
    c.points[i].predicted_tpot_ms = predicted[i];
    c.points[i].tpot_error = (predicted[i] - 10) / 10;
  }
  c.aggregates = aggregate(c.points);
  return c;
}

TEST(CompareGates, TpotGatesFailOnTpotDriftWhileTtftIsExact) {
  // TPOT errors -10%, +20%, +30%: mean |e| = 20%, worst 30% (TTFT exact, 0%).
  const Comparison c = tpot_predicted_at({9, 12, 13});
  ASSERT_TRUE(c.aggregates.tpot.has_value());
  EXPECT_NEAR(c.aggregates.tpot->mape, 0.20, 1e-12);
  EXPECT_NEAR(c.aggregates.tpot->bias, (-0.1 + 0.2 + 0.3) / 3, 1e-12);
  EXPECT_NEAR(c.aggregates.tpot->worst, 0.30, 1e-12);
  EXPECT_NEAR(c.aggregates.tpot->median_ape, 0.20, 1e-12);
  Gates g;
  g.max_mape = 0.01;  // TTFT passes
  g.max_tpot_mape = 0.25;
  EXPECT_TRUE(check_gates(c, g).passed);
  g.max_tpot_mape = 0.15;
  GateResult r = check_gates(c, g);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_NE(r.failures[0].find("TPOT mean absolute error 20.00% exceeds --max-tpot-mape 15.00%"),
            std::string::npos)
      << r.failures[0];
  g.max_tpot_mape.reset();
  g.max_tpot_point_error = 0.25;  // one point (+30%) over
  r = check_gates(c, g);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_NE(r.failures[0].find("1 of 3 points exceed --max-tpot-point-error 25.00%"),
            std::string::npos)
      << r.failures[0];
}

TEST(CompareGates, ATpotGateWithNoMeasuredTpotFails) {
  Gates g;
  g.max_tpot_mape = 0.5;
  const GateResult r = check_gates(predicted_at({100}), g);
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_NE(r.failures[0].find("no point measured TPOT"), std::string::npos);
}

TEST(CompareGates, CompareJsonCarriesTheWarnings) {
  Comparison c = predicted_at({100});
  c.warnings = {"the scenario is odd"};
  EXPECT_EQ(to_json(c, GateResult{})["warnings"], Json::array({"the scenario is odd"}));
  EXPECT_NE(to_markdown(c, GateResult{}).find("- warning: the scenario is odd"),
            std::string::npos);
}

}  // namespace kvsim::compare
