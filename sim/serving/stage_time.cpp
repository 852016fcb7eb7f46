#include "sim/serving/stage_time.hpp"

namespace kvsim::serving {

int stage_layers(std::int64_t layers, int pipeline_parallel, int stage) {
  const auto pp = static_cast<std::int64_t>(pipeline_parallel);
  return static_cast<int>(layers / pp + (stage < layers % pp ? 1 : 0));
}

Duration stage_compute(const IterationCompute& c, const StageSpan& span) {
  double seconds = static_cast<double>(span.layers) * c.layer();
  if (span.first) seconds += c.embedding;
  if (span.last) seconds += c.head;
  // Each stage's GPUs run their own forward pass: each pays the engine's host time, and its
  // layer sync per layer (zero for kernels-only).
  return c.host + span.layers * c.layer_sync + from_seconds(seconds);
}

int stage_all_reduces(const IterationCompute& c, const StageSpan& span, int tensor_parallel) {
  return tensor_parallel > 1 ? span.layers * static_cast<int>(c.layer_blocks.size()) : 0;
}

Duration stage_time(const IterationCompute& c, const StageSpan& span, const std::vector<int>& gpus,
                    std::int64_t tokens, Communication& communication) {
  Duration d = stage_compute(c, span);
  const int tp = static_cast<int>(gpus.size());
  if (const int n = stage_all_reduces(c, span, tp); n > 0) {
    d += n * communication.all_reduce(gpus, tokens);
  }
  return d;
}

}  // namespace kvsim::serving
