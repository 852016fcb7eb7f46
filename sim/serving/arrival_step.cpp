// The arrival step shared by the colocated and disaggregated serving runs (arrival_step.hpp).
#include "sim/serving/arrival_step.hpp"

#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace kvsim::serving {

ArrivalStep::ArrivalStep(const Scenario& s, Workload& workload, EventQueue& queue,
                         Totals& totals, Handler send, Handler check)
    : s_(s),
      workload_(workload),
      queue_(queue),
      totals_(totals),
      send_(std::move(send)),
      check_(std::move(check)),
      client_(workload.max_concurrency()) {}

void ArrivalStep::start() {
  if (auto r = workload_.next()) {
    first_arrival_ = r->arrival;
    pending_ = *r;
    queue_.schedule_at(r->arrival, Phase::kArrival, [this] { arrive(); });
  }
}

// The pending request arrives: the next is drawn and scheduled, then this one is rejected,
// held by the client, or sent.
void ArrivalStep::arrive() {
  const Request r = pending_;
  ++arrived_;
  if (auto n = workload_.next()) {
    pending_ = *n;
    queue_.schedule_at(n->arrival, Phase::kArrival, [this] { arrive(); });
  }
  if (r.truncated && totals_.truncated++ == 0) first_truncated_ = r;
  if (r.prompt + r.output > s_.model.max_context) {
    // Longer than the model's context: vLLM answers such a request with an error, and
    // `vllm bench serve` counts it as failed.
    if (totals_.rejected++ == 0) first_rejected_ = r;
    if (totals_.completed + totals_.rejected == workload_.total()) queue_.stop();
    return;
  }
  if (check_) check_(r);
  if (client_.admit(r)) send(r);
}

// A closed-loop client holds requests due while its limit is reached; each completion sends
// the oldest held one (at the same instant, as an arrival).
void ArrivalStep::client_finished() {
  if (client_.finish()) {
    queue_.schedule_in(Duration{0}, Phase::kArrival,
                       [this] { send(client_.release(queue_.now())); });
  }
}

// A request is in flight from when the client sends it (its arrival; a held one's is its
// release).
void ArrivalStep::send(const Request& r) {
  totals_.request_arrived(queue_.now().count());
  send_(r);
}

void ArrivalStep::check_all_served() const {
  const std::uint64_t total = workload_.total();
  if (arrived_ != total || totals_.completed + totals_.rejected != total) {
    throw std::logic_error(fmt::format("{} of {} requests arrived, {} completed and {} were "
                                       "rejected",
                                       arrived_, total, totals_.completed, totals_.rejected));
  }
}

Json ArrivalStep::warnings() const {
  Json out = Json::array();
  for (const std::string& w : s_.warnings) out.push_back(w);
  if (first_rejected_) {
    const Request& r = *first_rejected_;
    out.push_back(fmt::format(
        "{} of {} requests were rejected, not served: their prompt + output exceeds {}'s "
        "{}-token context (vLLM answers such requests with an error); the first was {}: {} + {} "
        "tokens. Latency and throughput count only the {} served; set lengths.max_tokens to "
        "truncate long requests instead",
        totals_.rejected, workload_.total(), s_.model.name, s_.model.max_context,
        workload_.describe(r), r.prompt, r.output, totals_.completed));
  }
  if (first_truncated_) {
    out.push_back(fmt::format(
        "{} of {} requests were truncated to lengths.max_tokens, {} tokens of prompt + output; "
        "the first was {}",
        totals_.truncated, workload_.total(), workload_.max_tokens(),
        workload_.describe(*first_truncated_)));
  }
  return out;
}

}  // namespace kvsim::serving
