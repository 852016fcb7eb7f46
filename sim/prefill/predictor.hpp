#pragma once
// KVR-P: partitions predicted from KVR-S results, without searching.
//
// A predictor holds, per (model, GPU, attention, precision) it was trained for, the searched
// partition fractions at training points (processes, chain bandwidth, context length). A query
// with a trained process count whose bandwidth and context lie inside the trained grid is
// answered as the paper does, by interpolating the fractions between neighbouring trained
// context lengths in log space (and, between trained bandwidths, in log bandwidth). Elsewhere a
// parametric model answers: log(p * f_i) as a polynomial in the process's position in the
// chain, with coefficients linear-quadratic in log C, log B and log p, fitted by least squares
// (Eigen) to every trained point. PredictorTable::predict answers anything; the KVR-P
// partitioner below decides where it may be asked.
//
// Where the optimum changes shape between trained points (on slow links the search sometimes
// starves the first processes, sometimes not), a blend of two optima can be poor. So a
// prediction is a short list of candidates: the interpolation, the trained partitions it was
// blended from, each trained bandwidth's shape at the query's context, and the fitted model; the
// partitioner simulates each (about ten runs, against thousands for a search) and keeps the
// fastest. `predict` alone returns the first candidate.
//
// A predictor answers only inside what it was trained for: its (model, GPU, attention, KV
// dtype) and, per table, the span of trained process counts, chain bandwidths and context
// lengths. Elsewhere the KVR-P partitioner does not extrapolate: its partition comes from the
// search (KVR-S, default options), and check() says so as a warning naming the dimension, the
// value and the trained range. Inside, the even split is one more candidate, so KVR-P is never
// slower than KVR-E.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/prefill/partitioner.hpp"

namespace kvsim::prefill {

/// What a predictor table was trained for.
struct PredictorKey {
  std::string model;
  std::string gpu;
  std::string attention;  // "fused" or "eager"
  std::string precision;  // the KV cache dtype

  bool operator==(const PredictorKey&) const = default;
  std::string describe() const;
};

struct TrainingPoint {
  int processes = 0;
  double bandwidth = 0;  // bytes/s: the slowest link between chain neighbours
  std::int64_t context_tokens = 0;
  std::vector<double> fractions;  // KVR-S, summing to 1
  Duration ttft{0};               // KVR-S TTFT
  std::string topology;           // preset name, for the record
};

/// The span of each trained dimension of a table: smallest to largest trained value.
struct TrainedRanges {
  int min_processes = 0;
  int max_processes = 0;
  double min_bandwidth = 0;  // bytes/s
  double max_bandwidth = 0;
  std::int64_t min_context = 0;  // tokens
  std::int64_t max_context = 0;
};

struct Prediction {
  std::vector<double> fractions;
  std::string method;  // "interpolated", "trained C=..., B=..." or "fitted"
};

class PredictorTable {
 public:
  PredictorTable(PredictorKey key, std::vector<TrainingPoint> points);
  const PredictorKey& key() const { return key_; }
  const std::vector<TrainingPoint>& points() const { return points_; }
  /// The interpolation when the query is inside the trained grid, else the fitted model.
  Prediction predict(int processes, double bandwidth, std::int64_t context_tokens) const;
  /// Interpolation (if inside the grid), the trained points it blends, then the fitted model.
  std::vector<Prediction> candidates(int processes, double bandwidth,
                                     std::int64_t context_tokens) const;
  TrainedRanges ranges() const;
  /// Each dimension of the query outside the trained ranges, as "was trained on A to B GPUs,
  /// not P"; empty inside.
  std::vector<std::string> off_range(int processes, double bandwidth,
                                     std::int64_t context_tokens) const;
  /// Root-mean-square residual of the parametric fit, in log(p * f).
  double fit_rms() const { return fit_rms_; }
  Json to_json() const;
  static PredictorTable from_json(const ConfigNode& node);

 private:
  struct Blend {
    std::vector<double> fractions;
    std::vector<const TrainingPoint*> from;  // the trained points blended
  };
  using Row = std::map<std::int64_t, const TrainingPoint*>;  // context -> point
  std::map<double, Row> rows(int processes) const;          // by bandwidth
  static std::optional<Blend> along_context(const Row& row, std::int64_t context);
  // Bilinear in (log B, log C) inside the trained grid.
  std::optional<Blend> interpolate(int processes, double bandwidth, std::int64_t context) const;
  std::vector<double> fitted(int processes, double bandwidth, std::int64_t context) const;
  void fit();

  PredictorKey key_;
  std::vector<TrainingPoint> points_;
  std::vector<double> coefficients_;
  double fit_rms_ = 0;
};

class PartitionPredictor {
 public:
  explicit PartitionPredictor(std::vector<PredictorTable> tables, Json validation = Json());
  /// Loads a predictor file; throws InputError.
  static PartitionPredictor load(const std::string& path);
  /// Reads a predictor document's root (a file's, or a shipped one's); throws InputError.
  static PartitionPredictor from_json(const ConfigNode& root);
  Json to_json() const;
  const std::vector<PredictorTable>& tables() const { return tables_; }
  /// The table trained for `key`, or nullptr.
  const PredictorTable* find(const PredictorKey& key) const;
  /// The table trained for `key`; throws std::invalid_argument naming what it was trained for.
  const PredictorTable& table(const PredictorKey& key) const;
  void set_validation(Json validation) { validation_ = std::move(validation); }

 private:
  std::vector<PredictorTable> tables_;
  Json validation_;
};

/// The key and chain bandwidth of a prefill setup (what a prediction is asked for).
PredictorKey predictor_key(const PrefillSetup& setup);
double chain_bandwidth(const PrefillSetup& setup);

/// The best candidate by `evaluate` (ties: the earlier candidate), as tokens.
std::pair<Partition, std::string> choose_candidate(
    const std::vector<Prediction>& candidates, std::int64_t context_tokens,
    const std::function<Duration(const Partition&)>& evaluate);

/// Token counts from fractions: cumulative cut points rounded, every part at least one token.
Partition partition_from_fractions(const std::vector<double>& fractions,
                                   std::int64_t context_tokens);

/// The KVR-P partitioner over a loaded predictor read from `file`; `scenario_file` and
/// `pointer` name its scenario entry, for the warnings check() returns.
std::unique_ptr<Partitioner> make_predicted_partitioner(
    std::shared_ptr<const PartitionPredictor> predictor, std::string file,
    std::string scenario_file = "", std::string pointer = "");

}  // namespace kvsim::prefill
