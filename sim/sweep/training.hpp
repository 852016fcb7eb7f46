#pragma once
// Training and validating KVR-P: KVR-S at every point of a sweep, a predictor fitted to the
// results, and the predictor's TTFT against a fresh search at held-out points.

#include <functional>

#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/predictor.hpp"
#include "sim/prefill/search.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/sweep/sweep.hpp"

namespace kvsim::sweep {

/// The KV-Runahead options of a scenario's first kvr strategy (defaults when it has none): the
/// chain the search and the predictor serve.
prefill::KvrOptions kvr_options_of(const Scenario& scenario);

struct SearchedPoint {
  prefill::PredictorKey key;
  prefill::TrainingPoint point;
  std::vector<Setting> settings;
};

/// KVR-S at every point of `spec` (points in parallel, each search parallel too).
std::vector<SearchedPoint> search_points(const SweepSpec& spec,
                                         const prefill::SearchOptions& options,
                                         const std::function<void(std::size_t)>& progress);

/// One table per (model, GPU, attention, KV dtype) among the points.
prefill::PartitionPredictor fit_predictor(const std::vector<SearchedPoint>& points);

struct ValidationRow {
  std::vector<Setting> settings;
  int processes = 0;
  double bandwidth = 0;
  std::int64_t context_tokens = 0;
  std::string method;        // the candidate KVR-P chose
  std::string first_method;  // "interpolated" inside the trained grid, else "fitted"
  prefill::Partition searched;
  prefill::Partition predicted;
  Duration ttft_searched{0};
  Duration ttft_predicted{0};       // KVR-P: the best of the candidates
  Duration ttft_first_candidate{0};  // the interpolation (or fit) alone, as the paper predicts
  Duration ttft_even{0};
  double error() const;  // predicted / searched - 1
  double first_candidate_error() const;
};

std::vector<ValidationRow> validate_predictor(const prefill::PartitionPredictor& predictor,
                                              const SweepSpec& spec,
                                              const prefill::SearchOptions& options,
                                              const std::function<void(std::size_t)>& progress);

/// Mean and worst error, count, per method; goes into the predictor file.
Json validation_summary(const std::vector<ValidationRow>& rows);
std::string validation_csv(const std::vector<ValidationRow>& rows);
std::string validation_markdown(const std::vector<ValidationRow>& rows, const Json& summary);

}  // namespace kvsim::sweep
