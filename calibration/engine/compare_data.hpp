#pragma once
// Measurements as a fit sees them: each row's TTFT and TPOT as Observations, predicted by
// `kvsim compare` on a template scenario with the engine object set at "/engine".
//
// Called by `kvsim calibrate-engine`. Reads every format compare reads (its CSV, kvsim's JSON,
// `vllm bench serve` results); `where` keeps the rows whose column has the value. A row's TPOT
// is fitted where it was measured and compare predicts one; a measured TPOT compare cannot
// predict is an InputError naming the row.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "calibration/engine/linear_model.hpp"
#include "sim/compare/compare.hpp"

namespace kvsim::engine_fit {

struct Filter {
  std::string column;               // a measured row's column (model, gpu, tp, ...)
  std::vector<std::string> values;  // the row is kept when the column has one of them
};

/// Parses "column=value" or "column=value,value,..."; throws InputError naming --where and the
/// columns it accepts.
Filter parse_filter(const std::string& text);

struct CompareData {
  std::vector<Observation> observations;
  Predictor predict;
  std::shared_ptr<std::vector<std::string>> warnings;  // compare's, from the first prediction
  std::vector<std::pair<std::string, std::size_t>> files;  // each file and the rows it gave
};

/// Reads `files`, keeps the rows every filter accepts, and lists the metrics in `metrics`
/// ("ttft", "tpot"). Throws InputError when a filter names an unknown column or no row is left.
CompareData compare_data(const ConfigDocument& scenario, const std::vector<std::string>& files,
                         const std::vector<Filter>& where, const std::vector<std::string>& metrics,
                         const compare::CompareOptions& options);

}  // namespace kvsim::engine_fit
