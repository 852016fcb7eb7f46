// The KVR-P partitioner: inside its predictor's trained ranges, the fastest of the predicted
// candidates and the even split that fit in memory; outside them, or where no predicted
// candidate fits, the memory-aware search (KVR-S, default options), which check() reports as a
// warning so that no output passes a searched partition off as predicted.
#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/prefill/predictor.hpp"
#include "sim/prefill/prefill_strategy.hpp"
#include "sim/prefill/search.hpp"

namespace kvsim::prefill {
namespace {

// The search KVR-P falls back to: KVR-S's defaults, the granularity lowered only where the
// context is too short for the default (nobody asked for 64 here).
SearchOptions fallback_options(std::int64_t context_tokens, int processes) {
  SearchOptions o;
  o.granularity = std::clamp<std::int64_t>(coarsest_granularity(context_tokens, processes), 1,
                                           o.granularity);
  return o;
}

class PredictedPartitioner final : public Partitioner {
 public:
  PredictedPartitioner(std::shared_ptr<const PartitionPredictor> predictor, std::string file,
                       std::string scenario_file, std::string pointer)
      : predictor_(std::move(predictor)),
        file_(std::move(file)),
        scenario_file_(std::move(scenario_file)),
        pointer_(std::move(pointer)) {}
  std::string name() const override { return "predicted"; }

  Partition partition(const PartitionQuery& q) const override {
    if (q.processes <= 1) return Partition{q.context_tokens};
    const Assessment a = assess(q);
    if (!a.off_range.empty()) return fallback(q);
    const std::vector<Prediction> fitting = fitting_candidates(*a.table, q);
    if (fitting.empty()) return fallback(q);
    const Partition x = choose_candidate(fitting, q.context_tokens, q.evaluate).first;
    const Partition even = even_partition(q.context_tokens, q.processes);
    if (q.evaluate && x != even && q.overflow(even).empty() && q.evaluate(even) < q.evaluate(x)) {
      return even;
    }
    return x;
  }

  std::vector<std::string> check(const PartitionQuery& q) const override {
    if (q.processes <= 1) return {};  // one part: nothing is predicted
    const Assessment a = assess(q);
    std::string where = scenario_file_;
    if (!pointer_.empty()) where += fmt::format(": at {}", pointer_);
    if (!where.empty()) where += ": ";
    // Phrased to read as well when --strict makes it an error: what is off, what KVR-P does
    // about it, and what would be inside.
    if (!a.off_range.empty()) {
      return {fmt::format("{}KVR-P predictor {} {}; off its trained ranges KVR-P uses {} instead "
                          "of a prediction (keep the chain inside them, or train a predictor "
                          "that covers it with kvsim train-predictor)",
                          where, file_, fmt::join(a.off_range, "; it "),
                          fallback_description(q))};
    }
    if (!fitting_candidates(*a.table, q).empty()) return {};
    return {fmt::format("{}KVR-P predictor {} predicts no partition that fits in memory (HBM x "
                        "/cluster/memory_utilization); KVR-P uses {} instead of a prediction "
                        "(train a predictor at this memory setting with kvsim train-predictor)",
                        where, file_, fallback_description(q))};
  }

  Json to_json() const override { return Json{{"type", "predicted"}, {"file", file_}}; }

 private:
  struct Assessment {
    const PredictorTable* table = nullptr;
    std::vector<std::string> off_range;  // empty: the predictor answers
  };

  Assessment assess(const PartitionQuery& q) const {
    if (q.setup == nullptr) throw std::logic_error("the predicted partitioner needs the setup");
    const PredictorKey key = predictor_key(*q.setup);
    Assessment out{predictor_->find(key), {}};
    if (out.table == nullptr) {
      std::vector<std::string> trained;
      for (const auto& t : predictor_->tables()) trained.push_back(t.key().describe());
      out.off_range.push_back(fmt::format("was not trained for {}, only for {}", key.describe(),
                                          fmt::join(trained, ", ")));
      return out;
    }
    out.off_range =
        out.table->off_range(q.processes, chain_bandwidth(*q.setup), q.context_tokens);
    return out;
  }

  // The predicted candidates whose partitions fit in memory, in the predictor's order.
  static std::vector<Prediction> fitting_candidates(const PredictorTable& table,
                                                    const PartitionQuery& q) {
    std::vector<Prediction> out;
    for (Prediction& c : table.candidates(q.processes, chain_bandwidth(*q.setup),
                                          q.context_tokens)) {
      if (q.overflow(partition_from_fractions(c.fractions, q.context_tokens)).empty()) {
        out.push_back(std::move(c));
      }
    }
    return out;
  }

  Partition fallback(const PartitionQuery& q) const {
    const SearchOptions o = fallback_options(q.context_tokens, q.processes);
    if (!q.evaluate || !search_obstacle(o, q.context_tokens, q.processes).empty()) {
      return even_partition(q.context_tokens, q.processes);
    }
    const SearchResult r = search_partition(q, o);
    if (!r.fits) throw InputError(scenario_file_, pointer_, "KVR-P's KVR-S " + no_fit_message(r, q));
    return r.best;
  }

  static std::string fallback_description(const PartitionQuery& q) {
    const SearchOptions o = fallback_options(q.context_tokens, q.processes);
    const std::string why = search_obstacle(o, q.context_tokens, q.processes);
    if (!why.empty()) return fmt::format("the even split (KVR-E), as KVR-S cannot run: {}", why);
    if (o.granularity != SearchOptions{}.granularity) {
      return fmt::format("the search (KVR-S, default options at granularity {})", o.granularity);
    }
    return "the search (KVR-S, default options)";
  }

  std::shared_ptr<const PartitionPredictor> predictor_;
  std::string file_;
  std::string scenario_file_;
  std::string pointer_;
};

}  // namespace

std::unique_ptr<Partitioner> make_predicted_partitioner(
    std::shared_ptr<const PartitionPredictor> predictor, std::string file,
    std::string scenario_file, std::string pointer) {
  return std::make_unique<PredictedPartitioner>(std::move(predictor), std::move(file),
                                                std::move(scenario_file), std::move(pointer));
}

}  // namespace kvsim::prefill
