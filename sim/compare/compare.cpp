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

// What a point's prediction depends on (its engine and repeats do not change it).
std::string prediction_key(const MeasuredPoint& p) {
  return fmt::format("{}|{}|{}|{}|tp{}|pp{}|b{}|{}|o{}|{}", p.model, p.gpu, p.attention,
                     p.precision, p.tp, p.pp, p.batch, p.prompt_tokens, p.output_tokens,
                     p.tpot_ms.has_value());
}

// A batch of sequences held at once on a TP x PP group: each GPU's weight shard and the whole
// batch's KV cache shard (prompt and output) must fit it (a batch of 1 is also checked by its
// prefill strategy's plan).
void check_batch_fits(const Scenario& s, const MeasuredPoint& p) {
  const prefill::MemoryCapacity capacity = s.memory_capacity();
  const double gpus = static_cast<double>(p.tp) * static_cast<double>(p.pp);  // no overflow
  const double weights = s.model.weight_bytes(s.precision) / gpus;
  // A latent-attention cache is replicated on every tensor-parallel rank.
  const double kv_shards = s.model.mla.on() ? static_cast<double>(p.pp) : gpus;
  const double kv = static_cast<double>(p.batch) *
                    s.model.kv_bytes_for(s.precision.kv_cache, p.prompt_tokens + p.output_tokens) /
                    kv_shards;
  if (weights + kv <= capacity.bytes()) return;
  throw InputError(p.entry, "",
                   fmt::format("a batch of {} prompts of {} tokens at TP {} needs {} per GPU "
                               "(weights {} + KV cache {}), over the {} usable on {}: no GPU "
                               "could have run this point",
                               p.batch, p.prompt_tokens, p.tp, format_bytes(weights + kv),
                               format_bytes(weights), format_bytes(kv),
                               format_bytes(capacity.bytes()), capacity.gpu_name));
}

// One kvsim point's predicted TTFT and TPOT (ms), the provenance shares of its compute time,
// and the warnings of the scenario it was predicted on (a context past the model's trained
// maximum...).
struct Prediction {
  double ms = 0;
  std::optional<double> tpot_ms;
  Json shares;
  std::vector<std::string> warnings;
};

// The serving section and workload of a static batch: `batch` equal requests sent at once, all
// prefilled in one iteration. The memory is what a static-batch engine reserves, each sequence's
// prompt + output, so that the whole batch is held at once (the default reserves the model's
// whole context per sequence, which would serve a large batch a few sequences at a time).
std::pair<Json, Json> static_batch_setup(const MeasuredPoint& p, std::int64_t output) {
  Json serving{{"tensor_parallel", p.tp},
               {"host_overhead", "0us"},
               {"scheduler",
                {{"type", "static"},
                 {"max_batch_size", p.batch},
                 {"max_batched_tokens", p.batch * p.prompt_tokens}}},
               {"memory", {{"type", "contiguous"}, {"max_sequence", p.prompt_tokens + output}}}};
  if (p.pp > 1) serving["pipeline_parallel"] = p.pp;
  Json workload{{"requests", p.batch},
                {"arrivals", {{"type", "burst"}}},
                {"lengths", {{"type", "fixed"}, {"prompt", p.prompt_tokens}, {"output", output}}}};
  return {std::move(serving), std::move(workload)};
}

// A static batch of `batch` equal requests (prompt_tokens in, `output` out) served on the row's
// TP x PP group, all prompts prefilled in one iteration, then decoded together: the serving
// engine's iterations (IterationCost, the TP all-reduces, the PP stages), as `kvsim serve`
// runs them. Returns the slowest first token and the mean decode iteration, seconds.
std::pair<double, double> static_batch(const ConfigDocument& base, Json j, const MeasuredPoint& p,
                                       std::int64_t output) {
  auto [serving, workload] = static_batch_setup(p, output);
  j["serving"] = std::move(serving);
  double slowest = 0, decode = 0;
  const std::vector<SimulatedRequest> served = simulate_requests(base, j, workload, p.entry);
  for (const SimulatedRequest& r : served) {
    if (!r.served) {
      throw InputError(p.entry, "",
                       fmt::format("the scenario's server does not serve this batch of {} "
                                   "requests ({} prompt + {} output tokens each: longer than "
                                   "the model's context?), so there is no prediction to compare",
                                   p.batch, p.prompt_tokens, output));
    }
    // One static batch: every request's first token comes from the same prefill iteration.
    if (r.ttft != served.front().ttft) {
      throw InputError(p.entry, "",
                       fmt::format("the batch of {} requests ({} + {} tokens each) does not fit "
                                   "the KV memory of the TP {} x PP {} group at once, so no "
                                   "static batch of it could have run",
                                   p.batch, p.prompt_tokens, output, p.tp, p.pp));
    }
    slowest = std::max(slowest, r.ttft);
    // Every request of the batch decodes in the same iterations: its tokens after the first
    // are the batch's decode iterations.
    if (r.output > 1) {
      decode = std::max(decode, (r.e2e - r.ttft) / static_cast<double>(r.output - 1));
    }
  }
  return {slowest, decode};
}

// TTFT of a row (ms): batch 1 on one TP group by the prefill strategy (single or tp); a batch on
// one GPU by the serving iteration that prefills all of its prompts; otherwise (a batch on a
// TP group, or PP) the first iteration of the static batch.
double predict_ttft(const ConfigDocument& base, const Json& j, const Scenario& s,
                    const MeasuredPoint& p) {
  if (p.batch == 1 && p.pp == 1) {
    return to_ms(s.prefill->strategies.front()->run(s.prefill_setup(), false).ttft);
  }
  if (p.tp == 1 && p.pp == 1) {
    serving::IterationShape batch;
    batch.prefills.assign(static_cast<std::size_t>(p.batch), {p.prompt_tokens, p.prompt_tokens});
    batch.emitting = p.batch;
    return to_ms(serving::IterationCost(s, 1).single_gpu(batch));
  }
  return 1e3 * static_batch(base, j, p, 1).first;
}

// A row of another GPU than a calibrated scenario's: its profile was measured on the scenario's
// GPU, so the row is refused, saying how to compare it.
void check_gpu_matches_profile(const ConfigDocument& base, const MeasuredPoint& p) {
  const Json& j = base.json();
  const Json* gpu = j.contains("cluster") ? &j["cluster"] : nullptr;
  if (p.gpu.empty() || !gpu || !gpu->contains("gpu") || !(*gpu)["gpu"].is_string()) return;
  const std::string own = (*gpu)["gpu"].get<std::string>();
  const bool calibrated = j.contains("compute") && j["compute"].is_object() &&
                          j["compute"].value("type", "") == "calibrated";
  if (!calibrated || p.gpu == own) return;
  throw InputError(p.entry, "",
                   fmt::format("the row ran on {}, and the scenario's calibrated compute was "
                               "measured on {}: compare one GPU's rows at a time, e.g. --where "
                               "gpu={} with this scenario and --where gpu={} with a scenario of "
                               "that GPU (scenarios/engines/ has one per GPU)",
                               p.gpu, own, own, p.gpu));
}

Prediction predict(const ConfigDocument& base, const MeasuredPoint& p) {
  check_gpu_matches_profile(base, p);
  Json j = point_scenario(base, p);
  j["prefill"]["context_tokens"] = p.prompt_tokens;
  j["prefill"]["gpus"] = p.tp;
  j["prefill"]["strategies"] = Json::array({Json{{"type", p.tp == 1 ? "single" : "tp"}}});
  const Scenario s = load_point(base, j, p.entry);
  Prediction out{0, std::nullopt, provenance_shares(s, p.tp, p.prompt_tokens), s.warnings};
  check_batch_fits(s, p);
  if (p.has_ttft) out.ms = predict_ttft(base, j, s, p);
  // TPOT: the mean decode iteration of the static batch from prompt_tokens to prompt_tokens +
  // output_tokens - 1 (the static scheduler decodes the whole batch in every iteration).
  if (p.tpot_ms) out.tpot_ms = 1e3 * static_batch(base, j, p, p.output_tokens).second;
  return out;
}

// Each kvsim point alone (prefill on an idle GPU or TP group), cached by what defines it.
Comparison points_alone(const ConfigDocument& base, const Measurements& measured,
                        double overhead_ms) {
  Comparison c;
  c.method = "each point alone: prefill on an idle GPU or TP group, no queueing";
  if (std::any_of(measured.points.begin(), measured.points.end(),
                  [](const MeasuredPoint& p) { return p.tpot_ms.has_value(); })) {
    c.method += "; TPOT: the mean decode iteration of a static batch of the row's requests "
                "served on its TP x PP group";
  }
  std::map<std::string, Prediction> cache;
  for (const MeasuredPoint& p : measured.points) {
    auto it = cache.find(prediction_key(p));
    if (it == cache.end()) {
      it = cache.emplace(prediction_key(p), predict(base, p)).first;
      for (const std::string& w : it->second.warnings) c.warnings.push_back(w);
    }
    ComparedPoint cp;
    cp.measured = p;
    cp.provenance = it->second.shares;
    if (p.has_ttft) {
      cp.predicted_ms = it->second.ms + overhead_ms;
      cp.error = relative_error(cp.predicted_ms, p);
    }
    if (p.tpot_ms) {
      cp.predicted_tpot_ms = it->second.tpot_ms;
      cp.tpot_error = (*cp.predicted_tpot_ms - *p.tpot_ms) / *p.tpot_ms;
    }
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
    if (c.measured.has_ttft) {
      m[0].push_back(c.measured.ttft_ms);
      p[0].push_back(c.predicted_ms);
    }
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

// Mean, median, bias and worst of (error, entry) pairs.
ErrorSummary summarise_errors(const std::vector<std::pair<double, const std::string*>>& errors) {
  ErrorSummary s;
  s.points = errors.size();
  std::vector<double> ape;
  for (const auto& [error, entry] : errors) {
    const double e = std::abs(error);
    ape.push_back(e);
    s.mape += e;
    s.bias += error;
    if (e >= s.worst) {
      s.worst = e;
      s.worst_entry = *entry;
    }
  }
  if (!errors.empty()) {
    s.mape /= static_cast<double>(errors.size());
    s.bias /= static_cast<double>(errors.size());
  }
  s.median_ape = median(ape);
  return s;
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
  std::string key = fmt::format("{}|{}|{}|tp{}|b{}|{}", p.model, p.gpu, p.attention, p.tp,
                                p.batch, p.prompt_tokens);
  // What older keys lacked, only where set, so that their baselines still match.
  if (!p.precision.empty()) key += "|" + p.precision;
  if (p.pp != 1) key += fmt::format("|pp{}", p.pp);
  if (p.output_tokens > 0) key += fmt::format("|o{}", p.output_tokens);
  if (!p.engine.empty()) key += "|" + p.engine;
  return key;
}

bool model_matches(const std::string& model_id, const std::string& name) {
  std::string tail = lower(model_id.substr(model_id.find_last_of('/') + 1));
  if (tail.starts_with("meta-")) tail = tail.substr(5);
  const std::string n = lower(name);
  return tail == n || tail.starts_with(n + "-");
}

Json provenance_shares(const Scenario& s, std::int64_t tp, std::int64_t prompt_tokens) {
  const DecomposeOptions options = s.decompose_options(tp);
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
  std::vector<std::pair<double, const std::string*>> ttft, tpot;
  for (const auto& p : points) {
    if (p.measured.has_ttft) ttft.emplace_back(p.error, &p.measured.entry);
    if (p.tpot_error) tpot.emplace_back(*p.tpot_error, &p.measured.entry);
  }
  const ErrorSummary t = summarise_errors(ttft);
  Aggregates a;
  a.points = t.points;
  a.mape = t.mape;
  a.median_ape = t.median_ape;
  a.bias = t.bias;
  a.worst = t.worst;
  a.worst_entry = t.worst_entry;
  if (!tpot.empty()) a.tpot = summarise_errors(tpot);
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
