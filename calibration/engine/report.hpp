#pragma once
// What `kvsim calibrate-engine` writes: the fitted engine profile (the engine object with the
// fitted values, plus a "fit" object recording the data, parameters and errors) and a report in
// Markdown. Neither holds a date or a path that the command line did not give, so the same
// inputs give byte-identical files.

#include <string>
#include <utility>
#include <vector>

#include "calibration/engine/fit.hpp"

namespace kvsim::engine_fit {

struct FitInputs {
  std::string scenario;                                     // the template, as given
  std::vector<std::pair<std::string, std::size_t>> files;   // each file and the rows it gave
  std::vector<std::string> where;                           // "column=value" as given
  std::vector<std::string> metrics;                         // "ttft", "tpot"
  std::vector<std::string> warnings;                        // compare's, at the base engine
  std::string description;  // what engine, which version, measured on what; may be empty
};

/// The fitted profile (calibration/profiles/engines/README.md): `base_engine` with the fitted
/// values, "kind", "description" when given, "source" (the data files) and "fit".
Json profile_json(const Json& base_engine, const LinearModel& model,
                  const std::vector<Observation>& observations, const EngineFit& fit,
                  const FitInputs& inputs);

/// The Markdown report: parameters, errors in-sample and held out, every row.
std::string report_markdown(const std::string& name, const LinearModel& model,
                            const std::vector<Observation>& observations, const EngineFit& fit,
                            const FitInputs& inputs);

/// "TTFT median 3.1%, worst 9.8% (entry), bias -1.2%" for a terminal summary.
std::string summary_line(const std::string& metric, const ErrorStats& s);

}  // namespace kvsim::engine_fit
