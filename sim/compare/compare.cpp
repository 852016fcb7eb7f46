#include "sim/compare/compare.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/core/statistics.hpp"
#include "sim/report/breakdown.hpp"
#include "sim/serving/engine.hpp"
#include "sim/serving/iteration_cost.hpp"
#include "sim/serving/workload.hpp"

namespace kvsim::compare {
namespace {

using Key = std::tuple<std::string, std::string, std::string, std::int64_t, std::int64_t,
                       std::int64_t>;
Key key_of(const MeasuredPoint& p) {
  return {p.model, p.gpu, p.attention, p.tp, p.batch, p.prompt_tokens};
}

// The scenario with one point's model, GPU and attention set.
Json point_scenario(const ConfigDocument& base, const MeasuredPoint& p) {
  Json j = base.json();
  if (!p.model.empty()) j["model"] = p.model;
  if (!p.gpu.empty()) j["cluster"]["gpu"] = p.gpu;
  if (!p.attention.empty()) j["prefill"]["attention"] = p.attention;
  return j;
}

Scenario load(const ConfigDocument& base, Json j, const std::string& what) {
  return load_scenario(ConfigDocument(std::move(j), fmt::format("{} (for {})", base.name(), what),
                                      std::filesystem::path(base.name()).parent_path().string()));
}

// Runs the serving simulation of `workload` on the scenario's "serving" section (which `j`
// must have) and returns each request's TTFT (seconds from arrival), by request id.
std::vector<double> simulated_ttfts(const ConfigDocument& base, Json j, const Json& workload,
                                    const std::string& what) {
  j["serving"]["workload"] = workload;
  const Scenario s = load(base, j, what);
  const ConfigDocument doc(j, base.name());
  const ConfigNode node = doc.root().at("serving");
  serving::ServingSetup setup = serving::ServingSetup::from_config(node, s);
  serving::Workload requests(node.at("workload"), RandomStreams(s.seed), s.model.max_context);
  std::vector<double> ttft(requests.total(), 0.0);
  serving::ServingObservers observers;
  observers.request = [&](const serving::RequestRecord& r) {
    ttft[r.id] = r.first_token - r.arrival;
  };
  serving::simulate_serving(s, setup, std::move(requests), observers);
  return ttft;
}

// Predicted TTFT (ms) of one point, with the provenance shares of its compute time.
std::pair<double, Json> predict(const ConfigDocument& base, const MeasuredPoint& p) {
  Json j = point_scenario(base, p);
  j["prefill"]["context_tokens"] = p.prompt_tokens;
  j["prefill"]["gpus"] = p.tp;
  j["prefill"]["strategies"] = Json::array({Json{{"type", p.tp == 1 ? "single" : "tp"}}});
  const Scenario s = load(base, j, p.entry);
  const Json shares = provenance_shares(s, p.tp, p.prompt_tokens);
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
    const std::vector<double> ttft = simulated_ttfts(base, j, workload, p.entry);
    ms = 1e3 * *std::max_element(ttft.begin(), ttft.end());
  }
  return {ms, shares};
}

// Every point of a benchmark replayed through the serving simulation, in order.
Comparison replay(const ConfigDocument& base, const Measurements& measured, double overhead_ms) {
  const BenchmarkRun& run = *measured.run;
  if (!base.json().contains("serving")) {
    throw InputError(base.name(), "/serving",
                     "--queueing replays the benchmark on the scenario's serving setup: add a "
                     "\"serving\" section (scheduler, memory, replicas)");
  }
  if (!run.request_rate) {
    throw InputError(measured.file, "/request_rate",
                     "--queueing needs the benchmark's request rate, and this file has none");
  }
  if (run.max_concurrency) {
    throw InputError(measured.file, "/max_concurrency",
                     fmt::format("the benchmark ran with --max-concurrency {}: a closed-loop "
                                 "client, which kvsim's open-loop arrivals do not model; compare "
                                 "without --queueing, or benchmark without a concurrency limit",
                                 *run.max_concurrency));
  }
  Json prompts = Json::array();
  Json outputs = Json::array();
  for (const MeasuredPoint& p : measured.points) {
    prompts.push_back(p.prompt_tokens);
    outputs.push_back(std::max<std::int64_t>(1, p.output_tokens));
  }
  Json arrivals;
  if (*run.request_rate == 0) {
    arrivals = {{"type", "burst"}};
  } else {
    arrivals = {{"type", "gamma"},
                {"rate", fmt::format("{}/s", *run.request_rate)},
                {"cv", 1 / std::sqrt(run.burstiness)}};
  }
  const Json workload{{"requests", measured.points.size()},
                      {"arrivals", arrivals},
                      {"lengths", {{"type", "list"}, {"prompts", prompts}, {"outputs", outputs}}}};
  const Json j = point_scenario(base, MeasuredPoint{});
  const std::vector<double> ttft = simulated_ttfts(base, j, workload, measured.file);
  const Scenario s = load(base, j, measured.file);
  Comparison c;
  std::map<std::int64_t, Json> shares;
  for (std::size_t i = 0; i < measured.points.size(); ++i) {
    const MeasuredPoint& p = measured.points[i];
    auto it = shares.find(p.prompt_tokens);
    if (it == shares.end()) {
      it = shares.emplace(p.prompt_tokens, provenance_shares(s, 1, p.prompt_tokens)).first;
    }
    ComparedPoint cp;
    cp.measured = p;
    cp.predicted_ms = 1e3 * ttft[i] + overhead_ms;
    cp.provenance = it->second;
    cp.error = (cp.predicted_ms - p.ttft_ms) / p.ttft_ms;
    c.points.push_back(std::move(cp));
  }
  c.method = fmt::format(
      "serving simulation of the benchmark: {} requests in order, {}", measured.points.size(),
      *run.request_rate == 0
          ? std::string("all sent at once")
          : fmt::format("{:g} requests/s with gamma gaps of burstiness {:g}", *run.request_rate,
                        run.burstiness));
  return c;
}

// A sweep point as a reader names it: "network=10GB/s gpus=8 context=16384 kvr/search".
std::string describe_sweep_point(const MeasuredPoint& p) {
  std::string out;
  for (const auto& [column, value] : p.settings) out += fmt::format("{}={} ", column, value);
  return out + p.strategy;
}

}  // namespace

std::string point_key(const MeasuredPoint& p) {
  if (!p.settings.empty()) {
    std::string key = "sweep";
    for (const auto& [column, value] : p.settings) key += fmt::format("|{}={}", column, value);
    return key + "|" + p.strategy;
  }
  return fmt::format("{}|{}|{}|tp{}|b{}|{}", p.model, p.gpu, p.attention, p.tp, p.batch,
                     p.prompt_tokens);
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
  std::vector<double> measured;
  std::vector<double> predicted;
  for (const auto& p : points) {
    measured.push_back(p.measured.ttft_ms);
    predicted.push_back(p.predicted_ms);
  }
  const auto mean = [](const std::vector<double>& v) {
    double sum = 0;
    for (const double x : v) sum += x;
    return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
  };
  a.distribution = {mean(measured),          mean(predicted),
                    median(measured),        median(predicted),
                    percentile(measured, 0.99), percentile(predicted, 0.99)};
  return a;
}

Comparison compare(const ConfigDocument& scenario, const Measurements& measured,
                   const CompareOptions& options) {
  const double overhead = measured.ttft_from == "arrival" ? options.fixed_overhead_ms : 0.0;
  if (options.queueing) {
    if (!measured.run) {
      throw InputError(measured.file, "",
                       "--queueing replays a per-request benchmark result (vllm bench serve "
                       "--save-result --save-detailed); this file has no request stream");
    }
    Comparison c = replay(scenario, measured, overhead);
    c.aggregates = aggregate(c.points);
    return c;
  }
  Comparison c;
  c.method = "each point alone: prefill on an idle GPU or TP group, no queueing";
  std::map<Key, std::pair<double, Json>> cache;
  for (const MeasuredPoint& p : measured.points) {
    auto it = cache.find(key_of(p));
    if (it == cache.end()) it = cache.emplace(key_of(p), predict(scenario, p)).first;
    ComparedPoint cp;
    cp.measured = p;
    cp.predicted_ms = it->second.first + overhead;
    cp.provenance = it->second.second;
    cp.error = (cp.predicted_ms - p.ttft_ms) / p.ttft_ms;
    c.points.push_back(std::move(cp));
  }
  c.aggregates = aggregate(c.points);
  return c;
}

GateResult check_gates(const Comparison& c, const Gates& g) {
  GateResult r;
  const Aggregates& a = c.aggregates;
  auto fail = [&](std::string why) {
    r.passed = false;
    r.failures.push_back(std::move(why));
  };
  if (g.max_mape && a.mape > *g.max_mape) {
    fail(fmt::format("mean absolute error {:.2f}% exceeds --max-mape {:.2f}%", 100 * a.mape,
                     100 * *g.max_mape));
  }
  if (g.max_point_error) {
    std::size_t over = 0;
    for (const auto& p : c.points) over += std::abs(p.error) > *g.max_point_error ? 1 : 0;
    if (over > 0) {
      fail(fmt::format("{} of {} points exceed --max-point-error {:.2f}%; worst {:.2f}% at {}",
                       over, c.points.size(), 100 * *g.max_point_error, 100 * a.worst,
                       a.worst_entry));
    }
  }
  if (g.baseline) {
    const Json& b = *g.baseline;
    const double before = b.at("aggregates").at("mape").get<double>();
    const double rise = a.mape - before;
    if (rise >= g.regression_points && (before <= 0 || rise / before >= g.regression_relative)) {
      fail(fmt::format("mean absolute error rose from {:.2f}% (baseline) to {:.2f}%: +{:.2f} "
                       "points, +{:.0f}% relative (alerts at +{:.2f} points and +{:.0f}%)",
                       100 * before, 100 * a.mape, 100 * rise,
                       before > 0 ? 100 * rise / before : 0.0, 100 * g.regression_points,
                       100 * g.regression_relative));
    }
    // Points predicted within the threshold in the baseline that no longer are.
    const double threshold = g.max_point_error.value_or(
        b.contains("max_point_error") && b["max_point_error"].is_number()
            ? b["max_point_error"].get<double>()
            : 0.15);
    std::map<std::string, double> old;
    for (const Json& p : b.at("points")) {
      old[p.at("key").get<std::string>()] = std::abs(p.at("error").get<double>());
    }
    std::vector<std::string> newly;
    for (const auto& p : c.points) {
      const auto it = old.find(point_key(p.measured));
      if (it != old.end() && it->second <= threshold && std::abs(p.error) > threshold) {
        newly.push_back(fmt::format("{} ({:+.2f}%, was {:.2f}%)", p.measured.entry,
                                    100 * p.error, 100 * it->second));
      }
    }
    if (!newly.empty()) {
      fail(fmt::format("{} points predicted within {:.2f}% in the baseline no longer are: {}{}",
                       newly.size(), 100 * threshold, newly.front(),
                       newly.size() > 1 ? fmt::format(" and {} more", newly.size() - 1) : ""));
    }
  }
  return r;
}

Json to_json(const Comparison& c, const GateResult& gates) {
  Json points = Json::array();
  for (const auto& p : c.points) {
    const MeasuredPoint& m = p.measured;
    Json point{{"entry", m.entry},
               {"key", point_key(m)},
               {"model", m.model},
               {"gpu", m.gpu},
               {"tp", m.tp},
               {"batch", m.batch},
               {"prompt_tokens", m.prompt_tokens},
               {"measured_ms", m.ttft_ms},
               {"predicted_ms", p.predicted_ms},
               {"error", p.error},
               {"provenance", p.provenance}};
    if (!m.settings.empty()) {
      Json settings = Json::object();
      for (const auto& [column, value] : m.settings) settings[column] = value;
      point["settings"] = settings;
      point["strategy"] = m.strategy;
    }
    points.push_back(std::move(point));
  }
  const Aggregates& a = c.aggregates;
  return Json{{"aggregates",
               {{"points", a.points},
                {"mape", a.mape},
                {"median_ape", a.median_ape},
                {"bias", a.bias},
                {"worst", a.worst},
                {"worst_entry", a.worst_entry},
                {"ttft_ms",
                 {{"measured", {{"mean", a.distribution.measured_mean},
                                {"p50", a.distribution.measured_p50},
                                {"p99", a.distribution.measured_p99}}},
                  {"predicted", {{"mean", a.distribution.predicted_mean},
                                 {"p50", a.distribution.predicted_p50},
                                 {"p99", a.distribution.predicted_p99}}}}}}},
              {"method", c.method},
              {"gates", {{"passed", gates.passed}, {"failures", gates.failures}}},
              {"points", points}};
}

std::string to_table(const Comparison& c) {
  std::vector<const ComparedPoint*> order;
  for (const auto& p : c.points) order.push_back(&p);
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return std::abs(a->error) > std::abs(b->error);
  });
  const std::size_t shown = std::min<std::size_t>(order.size(), 20);
  std::vector<std::string> entries;
  std::size_t width = 20;  // the entry column fits the longest shown, up to 72 characters
  for (std::size_t i = 0; i < shown; ++i) {
    const MeasuredPoint& m = order[i]->measured;
    std::string entry = m.settings.empty() ? m.entry : describe_sweep_point(m);
    if (entry.size() > 72) entry = "..." + entry.substr(entry.size() - 69);
    width = std::max(width, entry.size());
    entries.push_back(std::move(entry));
  }
  std::string out = fmt::format("  {:<{}} {:>7} {:>11} {:>12} {:>8}\n", "entry (worst first)",
                                width, "prompt", "measured ms", "predicted ms", "error");
  for (std::size_t i = 0; i < shown; ++i) {
    const ComparedPoint& p = *order[i];
    out += fmt::format("  {:<{}} {:>7} {:>11.3f} {:>12.3f} {:>+7.2f}%\n", entries[i], width,
                       p.measured.prompt_tokens, p.measured.ttft_ms, p.predicted_ms,
                       100 * p.error);
  }
  if (order.size() > 20) out += fmt::format("  ... and {} more points\n", order.size() - 20);
  const Aggregates& a = c.aggregates;
  out += fmt::format("  {} points: mean abs error {:.2f}%, median {:.2f}%, bias {:+.2f}%, worst "
                     "{:.2f}%\n",
                     a.points, 100 * a.mape, 100 * a.median_ape, 100 * a.bias, 100 * a.worst);
  const Distribution& d = a.distribution;
  out += fmt::format("  TTFT ms       mean {:>10.3f} {:>10.3f}\n"
                     "  (measured,    p50  {:>10.3f} {:>10.3f}\n"
                     "   predicted)   p99  {:>10.3f} {:>10.3f}\n",
                     d.measured_mean, d.predicted_mean, d.measured_p50, d.predicted_p50,
                     d.measured_p99, d.predicted_p99);
  return out;
}

std::string to_markdown(const Comparison& c, const GateResult& gates) {
  const Aggregates& a = c.aggregates;
  std::string out = fmt::format(
      "## TTFT: predicted against measured\n\n**{}** — {} points, mean absolute error {:.2f}%, "
      "median {:.2f}%, bias {:+.2f}%, worst {:.2f}% ({})\n\n",
      gates.passed ? "PASS" : "FAIL", a.points, 100 * a.mape, 100 * a.median_ape, 100 * a.bias,
      100 * a.worst, a.worst_entry);
  for (const auto& f : gates.failures) out += "- " + f + "\n";
  if (!gates.failures.empty()) out += "\n";
  const Distribution& d = a.distribution;
  out += fmt::format("Predicted by: {}\n\n| TTFT ms | mean | p50 | p99 |\n|---|---|---|---|\n"
                     "| measured | {:.3f} | {:.3f} | {:.3f} |\n"
                     "| predicted | {:.3f} | {:.3f} | {:.3f} |\n\n",
                     c.method, d.measured_mean, d.measured_p50, d.measured_p99, d.predicted_mean,
                     d.predicted_p50, d.predicted_p99);
  const bool sweep = !c.points.empty() && !c.points.front().measured.settings.empty();
  if (sweep) {
    out += "| entry | sweep point and strategy | measured ms | predicted ms | error |\n"
           "|---|---|---|---|---|\n";
  } else {
    out += "| entry | model | GPU | TP | batch | prompt | measured ms | predicted ms | error |\n"
           "|---|---|---|---|---|---|---|---|---|\n";
  }
  for (const auto& p : c.points) {
    const MeasuredPoint& m = p.measured;
    const std::string where =
        sweep ? describe_sweep_point(m)
              : fmt::format("{} | {} | {} | {} | {}", m.model, m.gpu, m.tp, m.batch,
                            m.prompt_tokens);
    out += fmt::format("| {} | {} | {:.3f} | {:.3f} | {:+.2f}% |\n", m.entry, where, m.ttft_ms,
                       p.predicted_ms, 100 * p.error);
  }
  return out;
}

}  // namespace kvsim::compare
