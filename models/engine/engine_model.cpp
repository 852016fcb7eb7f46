// Pricing with an engine model (see engine_model.hpp): kernels, passes, the custom all-reduce.
#include "models/engine/engine_model.hpp"

#include <fmt/format.h>

#include "sim/core/units.hpp"

namespace kvsim {
namespace {

// per x n, refusing (at the engine's host parameters) a pass whose host time would pass the
// simulable range instead of wrapping around.
Duration scaled(const EngineParams& p, Duration per, std::int64_t n, const char* what) {
  std::int64_t product = 0;
  if (__builtin_mul_overflow(per.count(), n, &product) || product > kMaxSimTime.count() / 4) {
    throw InputError(p.source_file, p.pointer + "/host",
                     fmt::format("the engine's host {} ({}) x {} passes the simulable range of "
                                 "about 292 years",
                                 what, format_duration(per), n));
  }
  return Duration{product};
}

}  // namespace

const EngineModel& EngineModel::kernels_only() {
  static const EngineModel model;
  return model;
}

// The elementwise operations TensorRT-LLM folds into its GEMM epilogues and attention
// prologue: the input and post-attention norms, rotary, the MLP activation, the residual adds.
// The final norm, the embedding, sampling and eager attention's softmax stay kernels.
bool EngineModel::fused(const Operation& op) const {
  if (p_.fusion != Fusion::kElementwise) return false;
  switch (op.kind) {
    case OpKind::kInputNorm:
    case OpKind::kPostAttnNorm:
    case OpKind::kRotary:
    case OpKind::kMlpAct:
    case OpKind::kExpertAct:  // fused MoE kernels apply the activation between their GEMMs
    case OpKind::kResidualAdd:
      return true;
    default:
      return false;
  }
}

double EngineModel::op_seconds(const ComputeModel& compute, const Operation& op,
                               PassKind pass) const {
  if (fused(op)) return 0.0;
  return kernel_seconds(op, compute.cost(op).seconds, pass);
}

double EngineModel::kernel_seconds(const Operation& op, double compute_seconds,
                                   PassKind pass) const {
  double seconds = compute_seconds;
  if (op.op_class == OpClass::kAttention) seconds *= p_.attention_time_scale;
  if (pass == PassKind::kPureDecode && p_.decode_cuda_graphs) return seconds;
  // A kernel of a share of the layers (Gemma's local or global attention) launches there only.
  return seconds + to_seconds(p_.launch_per_kernel) * op.layer_share;
}

double EngineModel::ops_seconds(const ComputeModel& compute, std::span<const Operation> ops,
                                PassKind pass) const {
  double t = 0;
  for (const Operation& op : ops) t += op_seconds(compute, op, pass);
  return t;
}

// Each term is at most a quarter of the simulable range (per_pass: an hour), so the sum fits.
Duration EngineModel::host(std::int64_t sequences, std::int64_t tokens) const {
  return p_.host_per_pass + scaled(p_, p_.host_per_sequence, sequences, "per_sequence") +
         scaled(p_, p_.host_per_token, tokens, "per_token");
}

Duration EngineModel::tp_layer_sync(std::int64_t tensor_parallel) const {
  return tensor_parallel > 1 ? p_.tp_layer_sync : Duration{0};
}

std::optional<Duration> EngineModel::custom_all_reduce(double bytes, std::int64_t gpus) const {
  if (!p_.all_reduce || gpus < 2 || bytes > p_.all_reduce->max_bytes) return std::nullopt;
  const auto& table = p_.all_reduce->latency;
  check_tensor_parallel(gpus);
  // Piecewise linear between the listed GPU counts (an exact hit takes its own entry).
  auto hi = table.lower_bound(gpus);
  double latency = to_seconds(hi->second);
  if (hi->first != gpus) {
    const auto lo = std::prev(hi);
    const double f = static_cast<double>(gpus - lo->first) /
                     static_cast<double>(hi->first - lo->first);
    latency = to_seconds(lo->second) + f * (to_seconds(hi->second) - to_seconds(lo->second));
  }
  return from_seconds(latency + bytes / p_.all_reduce->bandwidth, "a custom all-reduce");
}

void EngineModel::check_tensor_parallel(std::int64_t gpus) const {
  if (!p_.all_reduce || gpus < 2) return;
  const auto& table = p_.all_reduce->latency;
  if (gpus >= table.begin()->first && gpus <= table.rbegin()->first) return;
  std::string listed;
  for (const auto& [p, d] : table) listed += fmt::format("{}\"{}\"", listed.empty() ? "" : ", ", p);
  throw InputError(p_.source_file, p_.latency_pointer,
                   fmt::format("the custom all-reduce's latency table lists GPU counts {} and "
                               "cannot price {} GPUs (it interpolates between listed counts "
                               "only); add \"{}\" to the table",
                               listed, gpus, gpus));
}

std::string EngineModel::describe() const {
  if (p_.type == "kernels-only") return "engine kernels-only (kernel and collective time only)";
  return fmt::format(
      "engine {}: host {} + {}/sequence + {}/token per pass, launch {}/kernel{}, fusion {}, "
      "attention {} x{}, all-reduce {}, layer sync tp {} pp {}",
      p_.name.empty() ? "parametric" : p_.name, format_duration(p_.host_per_pass),
      format_duration(p_.host_per_sequence), format_duration(p_.host_per_token),
      format_duration(p_.launch_per_kernel), p_.decode_cuda_graphs ? " (decode in CUDA graphs)" : "",
      p_.fusion == Fusion::kNone ? "none" : "elementwise", p_.attention_kernel,
      p_.attention_time_scale, p_.all_reduce ? "custom" : "nccl",
      format_duration(p_.tp_layer_sync), format_duration(p_.pp_stage_sync));
}

}  // namespace kvsim
