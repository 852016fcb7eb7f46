// The vllm_bench block's per-request fields (see vllm_bench.hpp).
#include "tools/api/vllm_bench.hpp"

#include <algorithm>

namespace kvsim::api {
namespace {

// vLLM's request_rate and burstiness for the workload's arrivals: a Poisson process is rate r
// with burstiness 1, a gamma process of coefficient of variation cv has shape 1/cv^2 (vLLM's
// burstiness), "burst" sends everything at once ("inf"); evenly spaced ("fixed") arrivals and
// replayed times have no vLLM equivalent: their rate (when they have one) and null burstiness.
std::pair<Json, Json> traffic(const ConfigNode& arrivals) {
  const std::string type = arrivals.string("type");
  if (type == "burst") return {"inf", 1.0};
  if (type != "poisson" && type != "gamma" && type != "fixed") return {nullptr, nullptr};
  const double rate = arrivals.at("rate").as_rate();
  if (type == "poisson") return {rate, 1.0};
  if (type == "gamma") {
    const double cv = arrivals.at("cv").as_number();
    return {rate, 1.0 / (cv * cv)};
  }
  return {rate, nullptr};
}

}  // namespace

serving::ServingObservers VllmBench::attach(serving::ServingObservers o) {
  if (detailed_) {
    o.token = [this, before = std::move(o.token)](std::uint64_t id, std::int64_t index,
                                                   double time) {
      if (before) before(id, index, time);
      token(id, time);
    };
  }
  if (!detailed_) return o;
  o.request = [this, before = std::move(o.request)](const serving::RequestRecord& q) {
    if (before) before(q);
    request(q);
  };
  return o;
}

// A token streamed at `time`: its gap from the request's previous token. Tokens of one step
// (speculative decoding) stream together, one gap per step, as the engine's itl counts them.
void VllmBench::token(std::uint64_t id, double time) {
  const auto [last, first] = last_token_.try_emplace(id, time);
  if (first || time == last->second) return;
  itls_[id].push_back(time - last->second);
  last->second = time;
}

void VllmBench::request(const serving::RequestRecord& q) {
  last_token_.erase(q.id);
  Detail d{q.id,       q.prompt, q.output, q.first_token - q.arrival, q.completion - q.arrival,
           q.arrival, {}};
  if (const auto it = itls_.find(q.id); it != itls_.end()) {
    d.itls = std::move(it->second);
    itls_.erase(it);
  }
  details_.push_back(std::move(d));
}

Json VllmBench::detailed_arrays() const {
  std::vector<const Detail*> order;
  for (const Detail& d : details_) order.push_back(&d);
  std::sort(order.begin(), order.end(),
            [](const Detail* a, const Detail* b) { return a->id < b->id; });
  Json input = Json::array(), output = Json::array(), ttfts = Json::array(),
       itls = Json::array(), latencies = Json::array(), starts = Json::array();
  for (const Detail* d : order) {
    input.push_back(d->prompt);
    output.push_back(d->output);
    ttfts.push_back(d->ttft);
    itls.push_back(d->itls);
    latencies.push_back(d->latency);
    starts.push_back(d->start);
  }
  const Json empty(std::vector<std::string>(order.size()));
  return Json{{"input_lens", input}, {"output_lens", output},   {"ttfts", ttfts},
              {"itls", itls},        {"generated_texts", empty}, {"errors", empty},
              {"latencies", latencies}, {"start_times", starts}};
}

void VllmBench::complete(Json& summary, const Scenario& s, const serving::ServingSetup& setup,
                         const ConfigNode& serving, std::uint64_t prompts) const {
  Json& v = summary["vllm_bench"];
  const ConfigNode workload = serving.at("workload");
  const auto [rate, burstiness] = workload.has("arrivals") ? traffic(workload.at("arrivals"))
                                                           : std::pair<Json, Json>();
  v["date"] = nullptr;
  v["endpoint_type"] = v["backend"] = "kvsim";
  v["label"] = s.name;
  v["model_id"] = v["tokenizer_id"] = s.model.name;
  v["num_prompts"] = prompts;
  v["request_rate"] = rate;
  v["burstiness"] = burstiness;
  v["max_concurrency"] =
      workload.has("max_concurrency") ? workload.at("max_concurrency").json() : Json(nullptr);
  v["request_goodput"] = setup.ttft_slo || setup.tpot_slo ? summary["goodput"] : Json(nullptr);
  // max_concurrent_requests is the simulation's own count (serving::Totals).
  if (detailed_) v.update(detailed_arrays());
}

}  // namespace kvsim::api
