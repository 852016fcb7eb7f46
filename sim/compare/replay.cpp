// Benchmark requests predicted by the serving simulation: alone, or replayed as sent.
#include "sim/compare/replay.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/serving/engine.hpp"
#include "sim/serving/workload.hpp"

namespace kvsim::compare {
namespace {

// The TP degree of the scenario's serving layout (1 when it sets none).
std::int64_t serving_tp(const ConfigDocument& base) {
  const Json& serving = base.json().at("serving");
  return serving.contains("tensor_parallel") && serving["tensor_parallel"].is_number_integer()
             ? serving["tensor_parallel"].get<std::int64_t>()
             : 1;
}

// A compared point from a simulated request (its TTFT, TPOT, ITLs and end-to-end latency).
ComparedPoint served(const MeasuredPoint& p, const SimulatedRequest& r, double overhead_ms,
                     const Json& shares, std::int64_t tp) {
  if (!r.served) {
    throw InputError(p.entry, "",
                     fmt::format("the scenario's server does not serve this request ({} prompt + "
                                 "{} output tokens: longer than the model's context?), so there "
                                 "is no prediction to compare",
                                 p.prompt_tokens, p.output_tokens));
  }
  ComparedPoint cp;
  cp.measured = p;
  cp.measured.tp = tp;  // the serving layout's, for the tables
  cp.predicted_ms = 1e3 * r.ttft + overhead_ms;
  cp.provenance = shares;
  cp.error = relative_error(cp.predicted_ms, p);
  cp.predicted_e2e_ms = 1e3 * r.e2e + overhead_ms;
  if (r.output > 1) {
    cp.predicted_tpot_ms = 1e3 * (r.e2e - r.ttft) / static_cast<double>(r.output - 1);
  }
  for (const double gap : r.itls) cp.predicted_itls_ms.push_back(1e3 * gap);
  return cp;
}

// Provenance shares of a prompt's prefill on the serving layout's TP group, by prompt length.
class Shares {
 public:
  Shares(const ConfigDocument& base, const std::string& what)
      : scenario_(load_point(base, point_scenario(base, {}), what)), tp_(serving_tp(base)) {}
  const Json& operator()(std::int64_t prompt) {
    auto it = cache_.find(prompt);
    if (it == cache_.end()) {
      it = cache_.emplace(prompt, provenance_shares(scenario_, tp_, prompt)).first;
    }
    return it->second;
  }

 private:
  Scenario scenario_;
  std::int64_t tp_;
  std::map<std::int64_t, Json> cache_;
};

// The tokens to generate: as measured, at least 1 (none recorded: 1).
std::int64_t output_of(const MeasuredPoint& p) {
  return std::max<std::int64_t>(1, p.output_tokens);
}

// The arrival process of a replay, and the method line and warnings that describe it.
struct Arrivals {
  Json json;
  std::string method;
  std::vector<std::string> warnings;
};

bool all_have(const Measurements& m, std::optional<double> MeasuredPoint::*field) {
  return std::all_of(m.points.begin(), m.points.end(),
                     [field](const MeasuredPoint& p) { return (p.*field).has_value(); });
}

// When the client had each request due (seconds on the benchmark's clock), where the benchmark
// recorded it: its start_times, less the queue_times a closed-loop client waited for a slot.
std::optional<std::vector<double>> due_times(const Measurements& m) {
  const bool closed = m.run->max_concurrency.has_value();
  if (!all_have(m, &MeasuredPoint::start_s) ||
      (closed && !all_have(m, &MeasuredPoint::client_queue_s))) {
    return std::nullopt;
  }
  std::vector<double> due;
  for (const MeasuredPoint& p : m.points) {
    due.push_back(*p.start_s - (closed ? *p.client_queue_s : 0.0));
  }
  return due;
}

// The arrival process of a replay, `order` being the order the requests are replayed in.
Arrivals arrivals_of(const Measurements& m, const std::optional<std::vector<double>>& due,
                     const std::vector<std::size_t>& order) {
  const BenchmarkRun& run = *m.run;
  Arrivals a;
  if (due) {
    Json seconds = Json::array();
    for (const std::size_t i : order) seconds.push_back((*due)[i] - (*due)[order.front()]);
    a.json = {{"type", "times"}, {"seconds", seconds}};
    a.method = run.max_concurrency ? "sent when the benchmark's client had them due "
                                     "(start_times less queue_times)"
                                   : "sent at the benchmark's start_times";
    return a;
  }
  if (!run.request_rate) {
    throw InputError(m.file, "/request_rate",
                     "--queueing needs the benchmark's start_times or its request rate, and this "
                     "file has neither");
  }
  if (*run.request_rate == 0) {
    a.json = {{"type", "burst"}};
    a.method = "all sent at once";
    return a;
  }
  a.json = {{"type", "gamma"},
            {"rate", fmt::format("{}/s", *run.request_rate)},
            {"cv", 1 / std::sqrt(run.burstiness)}};
  a.method = fmt::format("sent at {:g} requests/s with gamma gaps of burstiness {:g}, drawn afresh",
                         *run.request_rate, run.burstiness);
  a.warnings.push_back(fmt::format(
      "{} has no start_times, so the replay draws new arrival gaps from its request rate and "
      "burstiness: a request's predicted wait is not the one it met; judge the distributions, "
      "not the per-request errors",
      m.file));
  return a;
}

// The order the client sent the requests in: by due time where recorded (stable: ties keep the
// file's order), else the file's.
std::vector<std::size_t> replay_order(std::size_t n,
                                      const std::optional<std::vector<double>>& due) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (due) {
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return (*due)[a] < (*due)[b]; });
  }
  return order;
}

// The serving workload of a replay: the requests' lengths in `order`, the arrivals, and the
// client's concurrency limit.
Json replay_workload(const Measurements& m, const std::vector<std::size_t>& order,
                     const Json& arrivals) {
  Json prompts = Json::array();
  Json outputs = Json::array();
  for (const std::size_t i : order) {
    prompts.push_back(m.points[i].prompt_tokens);
    outputs.push_back(output_of(m.points[i]));
  }
  Json workload{{"requests", m.points.size()},
                {"arrivals", arrivals},
                {"lengths", {{"type", "list"}, {"prompts", prompts}, {"outputs", outputs}}}};
  if (m.run->max_concurrency) workload["max_concurrency"] = *m.run->max_concurrency;
  return workload;
}

}  // namespace

Json point_scenario(const ConfigDocument& base, const MeasuredPoint& p) {
  Json j = base.json();
  if (!p.model.empty()) j["model"] = p.model;
  if (!p.gpu.empty()) j["cluster"]["gpu"] = p.gpu;
  if (!p.attention.empty()) j["prefill"]["attention"] = p.attention;
  if (!p.precision.empty()) {
    j["precision"] = {{"weights", p.precision},
                      {"activations", p.precision},
                      {"kv_cache", p.precision}};
  }
  return j;
}

Scenario load_point(const ConfigDocument& base, Json j, const std::string& what) {
  return load_scenario(ConfigDocument(std::move(j), fmt::format("{} (for {})", base.name(), what),
                                      std::filesystem::path(base.name()).parent_path().string()));
}

std::vector<SimulatedRequest> simulate_requests(const ConfigDocument& base, Json j,
                                                const Json& workload, const std::string& what) {
  j["serving"]["workload"] = workload;
  const Scenario s = load_point(base, j, what);
  const ConfigDocument doc(j, fmt::format("{} (for {})", base.name(), what));
  const ConfigNode node = doc.root().at("serving");
  serving::ServingSetup setup = serving::ServingSetup::from_config(node, s);
  serving::Workload requests(node.at("workload"), RandomStreams(s.seed), s.model.max_context);
  std::vector<SimulatedRequest> out(requests.total());
  std::vector<double> last_token(requests.total(), -1.0);
  serving::ServingObservers observers;
  observers.request = [&](const serving::RequestRecord& r) {
    out[r.id].ttft = r.first_token - r.arrival;
    out[r.id].e2e = r.completion - r.arrival;
    out[r.id].output = r.output;
    out[r.id].served = true;
  };
  observers.token = [&](std::uint64_t id, std::int64_t, double time) {
    if (last_token[id] >= 0) out[id].itls.push_back(time - last_token[id]);
    last_token[id] = time;
  };
  serving::simulate_serving(s, setup, std::move(requests), observers);
  return out;
}

Comparison requests_alone(const ConfigDocument& base, const Measurements& measured,
                          double overhead_ms) {
  Shares shares(base, measured.file);
  const Json j = point_scenario(base, MeasuredPoint{});
  std::map<std::pair<std::int64_t, std::int64_t>, SimulatedRequest> cache;
  Comparison c;
  for (const MeasuredPoint& p : measured.points) {
    const std::pair key{p.prompt_tokens, output_of(p)};
    auto it = cache.find(key);
    if (it == cache.end()) {
      const Json workload{{"requests", 1},
                          {"arrivals", {{"type", "burst"}}},
                          {"lengths", {{"type", "list"},
                                       {"prompts", {key.first}},
                                       {"outputs", {key.second}}}}};
      it = cache.emplace(key, simulate_requests(base, j, workload, p.entry).front()).first;
    }
    c.points.push_back(
        served(p, it->second, overhead_ms, shares(p.prompt_tokens), serving_tp(base)));
  }
  c.method = fmt::format("each request alone on an idle server of the scenario's serving layout "
                         "(TP {}), no queueing",
                         serving_tp(base));
  return c;
}

Comparison replay(const ConfigDocument& base, const Measurements& measured, double overhead_ms) {
  if (!base.json().contains("serving")) {
    throw InputError(base.name(), "/serving",
                     "--queueing replays the benchmark on the scenario's serving setup: add a "
                     "\"serving\" section (scheduler, memory, replicas)");
  }
  const BenchmarkRun& run = *measured.run;
  const std::optional<std::vector<double>> due = due_times(measured);
  const std::vector<std::size_t> order = replay_order(measured.points.size(), due);
  Arrivals arrivals = arrivals_of(measured, due, order);
  const Json workload = replay_workload(measured, order, arrivals.json);
  const std::vector<SimulatedRequest> simulated =
      simulate_requests(base, point_scenario(base, MeasuredPoint{}), workload, measured.file);
  Shares shares(base, measured.file);
  Comparison c;
  c.points.resize(measured.points.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    const MeasuredPoint& p = measured.points[order[k]];
    c.points[order[k]] =
        served(p, simulated[k], overhead_ms, shares(p.prompt_tokens), serving_tp(base));
  }
  c.method = fmt::format("serving simulation of the benchmark: {} requests {}{}",
                         measured.points.size(), arrivals.method,
                         run.max_concurrency
                             ? fmt::format(", at most {} in flight (closed loop)",
                                           *run.max_concurrency)
                             : std::string());
  c.warnings = std::move(arrivals.warnings);
  return c;
}

}  // namespace kvsim::compare
