#pragma once
// Measurements as a fit sees them: each row's TTFT and TPOT as Observations, predicted by
// `kvsim compare` on a template scenario with the engine object set at "/engine".
//
// Called by `kvsim calibrate-engine`. Reads every format compare reads (its CSV, the published
// engine tables, kvsim's JSON, `vllm bench serve` results). A row is predicted on the template
// of its GPU when one is given (scenarios/engines/ holds one per server), else on the default
// template. `where` keeps the rows whose column has one of the listed values. A row's TTFT and
// TPOT are fitted where they were measured (and `metrics` lists them); a measured TPOT compare
// cannot predict is an InputError naming the row.

#include <map>
#include <memory>
#include <optional>
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

/// The scenarios rows are predicted on: by GPU (catalog name), else the default.
struct Templates {
  std::optional<ConfigDocument> fallback;
  std::map<std::string, ConfigDocument> by_gpu;
};

struct CompareData {
  std::vector<Observation> observations;
  Predictor predict;
  std::shared_ptr<std::vector<std::string>> warnings;  // compare's, from the first prediction
  std::vector<std::pair<std::string, std::size_t>> files;  // each file and the rows it gave
};

/// Reads `files`, keeps the rows every filter accepts, and lists the metrics in `metrics`
/// ("ttft", "tpot"). Throws InputError when a filter names an unknown column, a row has no
/// template, or no row is left.
CompareData compare_data(const Templates& templates, const std::vector<std::string>& files,
                         const std::vector<Filter>& where, const std::vector<std::string>& metrics,
                         const compare::CompareOptions& options);

}  // namespace kvsim::engine_fit
