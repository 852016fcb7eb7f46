// calibrate-engine's fitting core on closed-form engines: exact recovery, the non-negativity
// constraint, held-out errors, and every refusal (under-determined, non-linear, bad pointers).
#include <cmath>

#include <gtest/gtest.h>

#include "calibration/engine/fit.hpp"
#include "calibration/engine/nnls.hpp"
#include "sim/core/units.hpp"
#include "tests/core/error_of.hpp"

namespace kvsim::engine_fit {
namespace {

Json base_engine() {
  return Json::parse(R"({"type": "parametric", "name": "toy",
    "host": {"per_pass": "0us", "per_sequence": "0us", "per_token": "0us"},
    "launch": {"per_kernel": "0us", "decode_cuda_graphs": false}, "fusion": "none",
    "attention": {"kernel": "flash-attention-2", "time_scale": 1.0},
    "all_reduce": {"type": "custom", "max_bytes": "8MiB", "latency": {"8": "12us"},
                   "bandwidth": "150GB/s"},
    "layer_sync": {"tensor_parallel": "0us", "pipeline_parallel": "0us"}})");
}

// One measured configuration of a toy engine: kernel time without the engine (ms), attention
// time (ms, scaled by time_scale), kernels launched per pass.
struct Row {
  std::string model;
  int tp, batch, prompt;
  double kernels_ms, attention_ms, launches;
};

double ms(const Json& e, const char* at) {
  return parse_duration(e.at(Json::json_pointer(at)).get<std::string>()) * 1e3;
}

// The toy engine's TTFT (one pass) and TPOT (one decode pass), closed form:
//   TTFT = kernels + time_scale attention + per_pass + per_sequence batch
//          + per_token batch prompt + per_kernel launches + all-reduce latency (TP 8, 2 x 4 layers)
//   TPOT = kernels / 10 + per_pass + per_sequence batch + per_token batch + per_kernel launches
std::vector<double> toy(const Json& e, const std::vector<Row>& rows) {
  std::vector<double> out;
  for (const Row& r : rows) {
    const double host = ms(e, "/host/per_pass") + ms(e, "/host/per_sequence") * r.batch +
                        ms(e, "/launch/per_kernel") * r.launches;
    const double ar = r.tp == 8 ? 8 * ms(e, "/all_reduce/latency/8") : 0.0;
    out.push_back(r.kernels_ms + e.at("attention").at("time_scale").get<double>() * r.attention_ms +
                  host + ms(e, "/host/per_token") * r.batch * r.prompt + ar);
    out.push_back(r.kernels_ms / 10 + host + ms(e, "/host/per_token") * r.batch);
  }
  return out;
}

std::vector<Observation> observations(const std::vector<Row>& rows, const std::vector<double>& ms) {
  std::vector<Observation> obs;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    for (const char* metric : {"ttft", "tpot"}) {
      Observation o;
      o.entry = "row " + std::to_string(i);
      o.metric = metric;
      o.measured_ms = ms[obs.size()];
      o.configuration = o.entry;
      o.model = r.model;
      o.gpu = "gpu";
      o.inputs = {{"TP", std::to_string(r.tp)},
                  {"batch", std::to_string(r.batch)},
                  {"prompt length", std::to_string(r.prompt)}};
      obs.push_back(o);
    }
  }
  return obs;
}

const std::vector<Row> kRows{
    {"a", 1, 1, 128, 10, 1, 300}, {"a", 1, 1, 2048, 120, 30, 300}, {"a", 1, 8, 512, 90, 12, 300},
    {"b", 8, 1, 128, 20, 2, 500}, {"b", 8, 4, 2048, 300, 60, 500}, {"b", 8, 1, 1024, 150, 20, 500},
};

// Measured = the toy engine at `truth`; the fit starts from base_engine().
struct Case {
  std::vector<Parameter> params;
  LinearModel model;
  std::vector<Observation> obs;
};
Case make_case(const std::vector<std::string>& fit, const Json& truth,
               const std::vector<Row>& rows) {
  Case c;
  c.params = resolve_parameters(base_engine(), fit, "--fit");
  c.obs = observations(rows, toy(truth, rows));
  c.model = linearise(base_engine(), c.params, c.obs,
                      [&](const Json& e) { return toy(e, rows); });
  return c;
}

TEST(EngineFit, RecoversKnownParametersExactly) {
  Json truth = base_engine();
  truth["host"]["per_pass"] = "30us";
  truth["host"]["per_token"] = "0.25us";
  truth["launch"]["per_kernel"] = "4us";
  truth["attention"]["time_scale"] = 1.3;
  truth["all_reduce"]["latency"]["8"] = "21us";
  const Case c = make_case({"/host/per_pass", "/host/per_token", "/launch/per_kernel",
                            "/attention/time_scale", "/all_reduce/latency/8"},
                           truth, kRows);
  const EngineFit f = fit_engine(c.model, c.obs, "toy.csv");
  const std::vector<double> expected{30, 0.25, 4, 1.3, 21};  // us, us, us, ratio, us
  for (std::size_t j = 0; j < expected.size(); ++j) {
    EXPECT_NEAR(f.values[j], expected[j], 1e-6 * expected[j]) << c.params[j].pointer;
  }
  EXPECT_LT(f.in_sample.at("ttft").worst, 1e-6);
  EXPECT_LT(f.in_sample.at("tpot").worst, 1e-6);
  // Exact data: every held-out refit that is determined predicts its rows exactly too.
  for (const HeldOut& h : f.held_out) {
    for (const auto& [metric, s] : h.errors) EXPECT_LT(s.worst, 1e-6) << h.grouping << metric;
  }
}

TEST(EngineFit, WritesTheProfileWithFittedValues) {
  Json truth = base_engine();
  truth["host"]["per_pass"] = "30us";
  truth["launch"]["per_kernel"] = "4us";
  const Case c = make_case({"/host/per_pass", "/launch/per_kernel"}, truth, kRows);
  const EngineFit f = fit_engine(c.model, c.obs, "toy.csv");
  const Json fitted = with_values(base_engine(), c.params, f.values);
  EXPECT_EQ(fitted["host"]["per_pass"], "30.000us");
  EXPECT_EQ(fitted["launch"]["per_kernel"], "4.000us");
  EXPECT_EQ(fitted["fusion"], "none");  // discrete choices are the base's
}

TEST(EngineFit, AParameterTheDataWantsNegativeIsHeldAtZero) {
  // Measured 1 ms faster than the base engine predicts in every row: per_pass would have to be
  // negative; NNLS holds it at 0 and says so.
  const Case c0 = make_case({"/host/per_pass", "/launch/per_kernel"}, base_engine(), kRows);
  std::vector<Observation> obs = c0.obs;
  for (Observation& o : obs) o.measured_ms -= 0.001;
  const EngineFit f = fit_engine(c0.model, obs, "toy.csv");
  EXPECT_EQ(f.values[0], 0);
  EXPECT_TRUE(f.at_bound[0]);
}

TEST(EngineFit, PerTokenIndistinguishableFromPerPassAtOnePromptLengthIsRefused) {
  // TTFT only (a TPOT would separate them: one token per sequence against 128).
  const std::vector<Row> rows{{"a", 1, 1, 128, 10, 1, 300},
                              {"a", 1, 1, 128, 12, 1, 320},
                              {"b", 1, 1, 128, 20, 2, 500},
                              {"b", 1, 1, 128, 25, 2, 600}};
  const auto ttft_only = [&](const Json& e) {
    std::vector<double> all = toy(e, rows), out;
    for (std::size_t i = 0; i < all.size(); i += 2) out.push_back(all[i]);
    return out;
  };
  std::vector<Observation> obs;
  for (const Observation& o : observations(rows, toy(base_engine(), rows))) {
    if (o.metric == "ttft") obs.push_back(o);
  }
  const auto params =
      resolve_parameters(base_engine(), {"/host/per_pass", "/host/per_token"}, "--fit");
  const LinearModel model = linearise(base_engine(), params, obs, ttft_only);
  const InputError e = error_of([&] { fit_engine(model, obs, "toy.csv"); });
  EXPECT_NE(std::string(e.what()).find("/host/per_token is indistinguishable from /host/per_pass"),
            std::string::npos)
      << e.what();
  EXPECT_NE(std::string(e.what()).find("every row has TP 1, batch 1, prompt length 128"),
            std::string::npos)
      << e.what();
}

TEST(EngineFit, AParameterNoRowDependsOnIsRefused) {
  const std::vector<Row> rows(kRows.begin(), kRows.begin() + 3);  // all TP 1
  const Case c = make_case({"/host/per_pass", "/all_reduce/latency/8"}, base_engine(), rows);
  const InputError e = error_of([&] { fit_engine(c.model, c.obs, "toy.csv"); });
  EXPECT_NE(std::string(e.what()).find("no measured row depends on /all_reduce/latency/8: every "
                                       "row has TP 1"),
            std::string::npos)
      << e.what();
}

TEST(EngineFit, FewerConfigurationsThanParametersPlusOneIsRefused) {
  const std::vector<Row> rows(kRows.begin(), kRows.begin() + 2);
  const Case c = make_case({"/host/per_pass", "/launch/per_kernel", "/attention/time_scale"},
                           base_engine(), rows);
  const InputError e = error_of([&] { fit_engine(c.model, c.obs, "toy.csv"); });
  EXPECT_NE(std::string(e.what()).find("2 distinct configurations for 3 parameters: the fit needs "
                                       "at least 4"),
            std::string::npos)
      << e.what();
}

TEST(EngineFit, AParameterThatIsNotLinearIsRefusedByName) {
  const auto params = resolve_parameters(base_engine(), {"/host/per_pass"}, "--fit");
  const std::vector<Observation> obs = observations(kRows, toy(base_engine(), kRows));
  // A predictor where per_pass enters squared (as a bandwidth's inverse would not add up).
  const Predictor square = [](const Json& e) {
    const double p = ms(e, "/host/per_pass");
    return std::vector<double>(12, 10 + p * p);
  };
  const InputError e = error_of([&] { linearise(base_engine(), params, obs, square); });
  EXPECT_NE(std::string(e.what()).find("/host/per_pass does not enter the predictions linearly"),
            std::string::npos)
      << e.what();
}

TEST(EngineFitParameters, BadPointersAreRefusedByName) {
  const Json e = base_engine();
  EXPECT_NE(std::string(error_of([&] { resolve_parameters(e, {"/host/per_pas"}, "--fit"); }).what())
                .find("/host/per_pas is not in the base engine; its fittable parameters are: "),
            std::string::npos);
  EXPECT_NE(std::string(error_of([&] { resolve_parameters(e, {"host/per_pass"}, "--fit"); }).what())
                .find("'host/per_pass' is not a JSON pointer"),
            std::string::npos);
  EXPECT_NE(std::string(error_of([&] {
              resolve_parameters(e, {"/all_reduce/bandwidth"}, "--fit");
            }).what())
                .find("/all_reduce/bandwidth is \"150GB/s\", which calibrate-engine cannot fit"),
            std::string::npos);
  EXPECT_NE(std::string(error_of([&] {
              resolve_parameters(e, {"/host/per_pass", "/host/per_pass"}, "--fit");
            }).what())
                .find("/host/per_pass is listed twice"),
            std::string::npos);
  EXPECT_NE(std::string(error_of([&] {
              resolve_parameters(e, {"/launch/decode_cuda_graphs"}, "--fit");
            }).what())
                .find("cannot fit"),
            std::string::npos);
}

TEST(Nnls, MatchesTheUnconstrainedSolutionWhenItIsPositiveAndClampsOtherwise) {
  // A x = b with x = (1, 2) exactly: the unconstrained solution, already non-negative.
  Eigen::MatrixXd a(3, 2);
  a << 1, 0, 0, 1, 1, 1;
  Eigen::VectorXd b(3);
  b << 1, 2, 3;
  const Eigen::VectorXd x = solve_nnls(a, b);
  EXPECT_NEAR(x(0), 1, 1e-12);
  EXPECT_NEAR(x(1), 2, 1e-12);
  // b = (-1, 2, 1): unconstrained x = (-1, 2); with x0 >= 0, x0 = 0 and x1 minimises
  // (x1 - 2)^2 + (x1 - 1)^2, so x1 = 1.5.
  b << -1, 2, 1;
  const Eigen::VectorXd y = solve_nnls(a, b);
  EXPECT_EQ(y(0), 0);
  EXPECT_NEAR(y(1), 1.5, 1e-12);
}

}  // namespace
}  // namespace kvsim::engine_fit
