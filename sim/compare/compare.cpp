#include "sim/compare/compare.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "sim/compare/replay.hpp"
#include "sim/core/input_error.hpp"
#include "sim/core/statistics.hpp"
#include "sim/core/units.hpp"
#include "sim/report/breakdown.hpp"
#include "sim/serving/iteration_cost.hpp"

namespace kvsim::compare {
namespace {

using Key = std::tuple<std::string, std::string, std::string, std::int64_t, std::int64_t,
                       std::int64_t>;
Key key_of(const MeasuredPoint& p) {
  return {p.model, p.gpu, p.attention, p.tp, p.batch, p.prompt_tokens};
}

// A batch of prompts held at once on a TP group: its weight shard and the whole batch's KV
// cache shard must fit each GPU (a batch of 1 is checked by its prefill strategy's plan).
void check_batch_fits(const Scenario& s, const MeasuredPoint& p) {
  const prefill::MemoryCapacity capacity = s.memory_capacity();
  const double tp = static_cast<double>(p.tp);
  const double weights = s.model.weight_bytes(s.precision.weights) / tp;
  const double kv = static_cast<double>(p.batch) * static_cast<double>(p.prompt_tokens) *
                    s.model.kv_bytes_per_token(s.precision.kv_cache) / tp;
  if (weights + kv <= capacity.bytes()) return;
  throw InputError(p.entry, "",
                   fmt::format("a batch of {} prompts of {} tokens at TP {} needs {} per GPU "
                               "(weights {} + KV cache {}), over the {} usable on {}: no GPU "
                               "could have run this point",
                               p.batch, p.prompt_tokens, p.tp, format_bytes(weights + kv),
                               format_bytes(weights), format_bytes(kv),
                               format_bytes(capacity.bytes()), capacity.gpu_name));
}

// One kvsim point's predicted TTFT (ms), the provenance shares of its compute time, and the
// warnings of the scenario it was predicted on (a context past the model's trained maximum...).
struct Prediction {
  double ms = 0;
  Json shares;
  std::vector<std::string> warnings;
};

Prediction predict(const ConfigDocument& base, const MeasuredPoint& p) {
  Json j = point_scenario(base, p);
  j["prefill"]["context_tokens"] = p.prompt_tokens;
  j["prefill"]["gpus"] = p.tp;
  j["prefill"]["strategies"] = Json::array({Json{{"type", p.tp == 1 ? "single" : "tp"}}});
  const Scenario s = load_point(base, j, p.entry);
  const Json shares = provenance_shares(s, p.tp, p.prompt_tokens);
  check_batch_fits(s, p);
  double ms = 0;
  if (p.batch == 1) {
    ms = to_ms(s.prefill->strategies.front()->run(s.prefill_setup(), false).ttft);
  } else if (p.tp == 1) {
    // A batch of equal prompts on one GPU: one serving iteration that prefills all of them.
    serving::IterationShape batch;
    batch.prefills.assign(static_cast<std::size_t>(p.batch), {p.prompt_tokens, p.prompt_tokens});
    batch.emitting = p.batch;
    ms = to_ms(serving::IterationCost(s, 1).single_gpu(batch));
  } else {
    // A batch on a TP group: the serving engine's iteration (compute split over the ranks, the
    // all-reduces of every layer), all prompts in one static batch.
    j["serving"] = {{"tensor_parallel", p.tp},
                    {"host_overhead", "0us"},
                    {"scheduler",
                     {{"type", "static"},
                      {"max_batch_size", p.batch},
                      {"max_batched_tokens", p.batch * p.prompt_tokens}}}};
    const Json workload{{"requests", p.batch},
                        {"arrivals", {{"type", "burst"}}},
                        {"lengths", {{"type", "fixed"}, {"prompt", p.prompt_tokens},
                                     {"output", 1}}}};
    double slowest = 0;
    for (const SimulatedRequest& r : simulate_requests(base, j, workload, p.entry)) {
      if (!r.served) {
        throw InputError(p.entry, "", "the scenario's server does not serve this batch's prompts");
      }
      slowest = std::max(slowest, r.ttft);
    }
    ms = 1e3 * slowest;
  }
  return {ms, shares, s.warnings};
}

// Each kvsim point alone (prefill on an idle GPU or TP group), cached by what defines it.
Comparison points_alone(const ConfigDocument& base, const Measurements& measured,
                        double overhead_ms) {
  Comparison c;
  c.method = "each point alone: prefill on an idle GPU or TP group, no queueing";
  std::map<Key, Prediction> cache;
  for (const MeasuredPoint& p : measured.points) {
    auto it = cache.find(key_of(p));
    if (it == cache.end()) {
      it = cache.emplace(key_of(p), predict(base, p)).first;
      for (const std::string& w : it->second.warnings) c.warnings.push_back(w);
    }
    ComparedPoint cp;
    cp.measured = p;
    cp.predicted_ms = it->second.ms + overhead_ms;
    cp.provenance = it->second.shares;
    cp.error = relative_error(cp.predicted_ms, p);
    c.points.push_back(std::move(cp));
  }
  return c;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

// Refuses a benchmark of another model (unless allowed, then warns); warns when it names none.
void check_model(const ConfigDocument& base, const Measurements& measured,
                 const CompareOptions& options, std::vector<std::string>& warnings) {
  const std::string& id = measured.run->model_id;
  const std::string name = load_point(base, point_scenario(base, {}), measured.file).model.name;
  if (id.empty()) {
    warnings.push_back(fmt::format("{} has no model_id: that it measured {} is not checked",
                                   measured.file, name));
  } else if (!model_matches(id, name)) {
    const std::string what =
        fmt::format("the benchmark ran model_id '{}', which does not name the scenario's model "
                    "'{}' (its last path component, lower-cased and without a leading "
                    "\"meta-\", must equal the name or start with it and a '-')",
                    id, name);
    if (!options.allow_model_mismatch) {
      throw InputError(measured.file, "/model_id",
                       what + "; compare with a scenario of that model, or pass "
                              "--allow-model-mismatch to compare anyway");
    }
    warnings.push_back(what + "; compared anyway (--allow-model-mismatch)");
  }
}

Quantiles quantiles(const std::vector<double>& v) {
  Quantiles q;
  q.count = v.size();
  if (v.empty()) return q;
  double sum = 0;
  for (const double x : v) sum += x;
  q.mean = sum / static_cast<double>(v.size());
  q.p50 = percentile(v, 0.50);
  q.p90 = percentile(v, 0.90);
  q.p99 = percentile(v, 0.99);
  return q;
}

// Measured and predicted values of every metric, ms: ttft, tpot, itl, e2e.
std::vector<Distribution> distributions(const std::vector<ComparedPoint>& points) {
  std::vector<double> m[4], p[4];
  for (const ComparedPoint& c : points) {
    m[0].push_back(c.measured.ttft_ms);
    p[0].push_back(c.predicted_ms);
    if (c.measured.tpot_ms) m[1].push_back(*c.measured.tpot_ms);
    if (c.predicted_tpot_ms) p[1].push_back(*c.predicted_tpot_ms);
    m[2].insert(m[2].end(), c.measured.itls_ms.begin(), c.measured.itls_ms.end());
    p[2].insert(p[2].end(), c.predicted_itls_ms.begin(), c.predicted_itls_ms.end());
    if (c.measured.e2e_ms) m[3].push_back(*c.measured.e2e_ms);
    if (c.predicted_e2e_ms) p[3].push_back(*c.predicted_e2e_ms);
  }
  const char* names[4] = {"ttft", "tpot", "itl", "e2e"};
  std::vector<Distribution> out;
  for (int k = 0; k < 4; ++k) {
    if (k > 0 && (m[k].empty() || p[k].empty())) continue;  // one side has none to compare
    out.push_back({names[k], quantiles(m[k]), quantiles(p[k])});
  }
  return out;
}

}  // namespace

std::string point_key(const MeasuredPoint& p) {
  if (!p.settings.empty()) {
    std::string key = "sweep";
    for (const auto& [column, value] : p.settings) key += fmt::format("|{}={}", column, value);
    return key + "|" + p.strategy;
  }
  // A benchmark's requests share their lengths: each is its own point.
  if (p.request >= 0) return fmt::format("request|{}", p.request);
  return fmt::format("{}|{}|{}|tp{}|b{}|{}", p.model, p.gpu, p.attention, p.tp, p.batch,
                     p.prompt_tokens);
}

bool model_matches(const std::string& model_id, const std::string& name) {
  std::string tail = lower(model_id.substr(model_id.find_last_of('/') + 1));
  if (tail.starts_with("meta-")) tail = tail.substr(5);
  const std::string n = lower(name);
  return tail == n || tail.starts_with(n + "-");
}

Json provenance_shares(const Scenario& s, std::int64_t tp, std::int64_t prompt_tokens) {
  DecomposeOptions options;
  options.precision = s.precision;
  options.attention = s.prefill->attention;
  options.tensor_parallel = tp;
  const report::PassBreakdown pass =
      report::prefill_breakdown(s.model, *s.compute, options, prompt_tokens);
  Json shares = Json::object();
  for (const auto& line : pass.ops) {
    const std::string k = to_string(line.provenance);
    shares[k] = shares.value(k, 0.0) + line.seconds / pass.seconds;
  }
  return shares;
}

double relative_error(double predicted_ms, const MeasuredPoint& measured) {
  if (!std::isfinite(measured.ttft_ms) || !(measured.ttft_ms > 0)) {
    throw InputError(measured.entry, "",
                     fmt::format("the measured TTFT is {} ms; a measurement is a positive "
                                 "finite number",
                                 measured.ttft_ms));
  }
  const double e = (predicted_ms - measured.ttft_ms) / measured.ttft_ms;
  if (!std::isfinite(e)) {
    throw std::logic_error(fmt::format("{}: predicted TTFT {} ms is not finite", measured.entry,
                                       predicted_ms));
  }
  return e;
}

Aggregates aggregate(const std::vector<ComparedPoint>& points) {
  Aggregates a;
  a.points = points.size();
  std::vector<double> ape;
  for (const auto& p : points) {
    const double e = std::abs(p.error);
    ape.push_back(e);
    a.mape += e;
    a.bias += p.error;
    if (e >= a.worst) {
      a.worst = e;
      a.worst_entry = p.measured.entry;
    }
  }
  if (!points.empty()) {
    a.mape /= static_cast<double>(points.size());
    a.bias /= static_cast<double>(points.size());
  }
  a.median_ape = median(ape);
  a.distributions = distributions(points);
  return a;
}

Comparison compare(const ConfigDocument& scenario, const Measurements& measured,
                   const CompareOptions& options) {
  const double overhead = measured.ttft_from == "arrival" ? options.fixed_overhead_ms : 0.0;
  std::vector<std::string> warnings;
  if (measured.run) check_model(scenario, measured, options, warnings);
  Comparison c;
  if (options.queueing) {
    if (!measured.run) {
      throw InputError(measured.file, "",
                       "--queueing replays a per-request benchmark result (vllm bench serve "
                       "--save-result --save-detailed); this file has no request stream");
    }
    c = replay(scenario, measured, overhead);
  } else if (measured.run && scenario.json().contains("serving")) {
    c = requests_alone(scenario, measured, overhead);
  } else {
    if (measured.run) {
      warnings.push_back(
          "the scenario has no \"serving\" section, so each benchmark request is predicted as "
          "a prefill on one GPU; add one with the deployment's tensor_parallel and "
          "pipeline_parallel to predict it on that layout");
    }
    c = points_alone(scenario, measured, overhead);
  }
  const Scenario s = load_point(scenario, point_scenario(scenario, {}), measured.file);
  c.warnings.insert(c.warnings.begin(), warnings.begin(), warnings.end());
  c.warnings.insert(c.warnings.end(), measured.warnings.begin(), measured.warnings.end());
  c.warnings.insert(c.warnings.begin(), s.warnings.begin(), s.warnings.end());
  c.aggregates = aggregate(c.points);
  return c;
}

}  // namespace kvsim::compare
