#pragma once
// Calibration: measurements of GPU kernels (from kvsim's CUDA microbenchmarks or imported from
// other tools) fitted into a device profile for the calibrated compute model.
//
// Every measurement is described as a kvsim Operation, decomposed by kvsim's own model code, so
// a profile's tables are keyed exactly as the simulator later asks for them.

#include <map>
#include <string>
#include <vector>

#include "calibration/fit/collectives.hpp"
#include "models/compute/calibrated.hpp"
#include "models/llm/llm_spec.hpp"

namespace kvsim::calibration {

struct Measurement {
  Operation op;
  double seconds = 0;  // median
  std::string source;  // "vidur a100 Llama-2-7b-hf mlp.csv tp2" ...
  std::string kernel;  // fused attention: which implementation ("flash", "cudnn", ...)
};

/// Vidur's compute/<gpu>/<org>/<model>/mlp.csv: GEMMs and elementwise kernels per token count
/// and TP degree. The model is recognised from the file's shape columns among the catalog's.
std::vector<Measurement> import_vidur_mlp(const std::string& path);
/// Every mlp.csv under a directory (sorted, so the import order is stable).
std::vector<Measurement> import_vidur_tree(const std::string& directory);
/// Vidur's attention points (prefill chunks and decode batches) for `model` at TP 1.
std::vector<Measurement> import_vidur_attention(const std::string& path, const LlmSpec& model);
/// kvsim's own measurement JSON (kvsim-microbench and attention_bench.py write it): GEMMs,
/// fused prefill and decode attention, elementwise kernels (of a named catalog model).
std::vector<Measurement> import_kvsim(const std::string& path);
/// The collective points of a kvsim measurement file by kind ("all_reduce", "send_recv", ...),
/// for `kvsim calibrate-network`. The file is read once, so a named pipe or `<(...)` works.
std::map<std::string, std::vector<CollectivePoint>> import_kvsim_collectives(
    const std::string& path);
/// The collective points of one kind.
std::vector<CollectivePoint> import_kvsim_collective(const std::string& path,
                                                    const std::string& kind);

/// Least squares minimising relative error, with leave-one-out relative errors (hat matrix).
LinearFit fit_relative(const std::vector<std::vector<double>>& features,
                       const std::vector<double>& seconds);

/// The GEMM model (gemm_fit.hpp) fitted to GEMM measurements taken on `gpu`: the tile shape and,
/// with `split_k`, the split-K parameters chosen by the median relative error with token-count
/// bands (1-16, 17-128, more) weighted equally.
GemmFit fit_gemm(const std::vector<const Measurement*>& gemms, const GpuSpec& gpu, bool split_k);

struct ProfileInfo {
  std::string name;
  Json provenance;
};

/// Tables, fits and a quality report from measurements taken on `gpu`.
DeviceProfile fit_profile(const std::vector<Measurement>& measurements, const GpuSpec& gpu,
                          const ProfileInfo& info);

/// A Markdown report of a profile's fits and tables.
std::string fit_report_markdown(const DeviceProfile& profile);

}  // namespace kvsim::calibration
