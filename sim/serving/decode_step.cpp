#include "sim/serving/decode_step.hpp"

#include "sim/core/event_queue.hpp"
#include "sim/serving/communication.hpp"
#include "sim/serving/engine.hpp"
#include "sim/serving/iteration_cost.hpp"
#include "sim/serving/stage_time.hpp"

namespace kvsim::serving {

DecodeStep decode_step(const Scenario& s, int tensor_parallel, int pipeline_parallel,
                       std::span<const std::int64_t> kv_lengths, int expert_parallel) {
  IterationShape shape;
  shape.decodes.assign(kv_lengths.begin(), kv_lengths.end());
  shape.emitting = static_cast<std::int64_t>(kv_lengths.size());
  const IterationCompute compute = IterationCost(s, tensor_parallel, expert_parallel)(shape);
  EventQueue queue;  // closed-form communication schedules nothing on it
  Communication communication(s, false, queue);
  ServingSetup layout;  // only its GPU numbering: replica 0's stages
  layout.tensor_parallel = tensor_parallel;
  layout.pipeline_parallel = pipeline_parallel;
  DecodeStep step;
  for (int stage = 0; stage < pipeline_parallel; ++stage) {
    const StageSpan span{stage_layers(s.model.layers, pipeline_parallel, stage), stage == 0,
                         stage + 1 == pipeline_parallel};
    const std::vector<int> gpus = layout.stage_gpus(0, stage);
    const Duration busy = stage_time(compute, span, gpus, shape.tokens(), communication);
    const Duration work = stage_compute(compute, span);
    step.compute += work;
    step.communication += busy - work;
    step.all_reduces += stage_all_reduces(compute, span, tensor_parallel);
    step.total += busy;
    if (stage + 1 < pipeline_parallel) {
      // The engine's hand-off sync delays the send, as in the replica (replica_pipeline.cpp).
      const Duration send = s.engine.pp_stage_sync() +
                            communication.send(gpus, layout.stage_gpus(0, stage + 1),
                                               shape.tokens());
      step.communication += send;
      step.total += send;
      ++step.sends;
    }
  }
  return step;
}

DecodeStep decode_section_step(const Scenario& s, std::span<const std::int64_t> kv_lengths) {
  const DecodeSpec& d = *s.decode;
  if (!d.data_parallel_attention) {
    return decode_step(s, d.tensor_parallel, d.pipeline_parallel, kv_lengths,
                       static_cast<int>(d.expert_degree()));
  }
  const DpAttentionStep dp = dp_attention_step(s, d.tensor_parallel, kv_lengths);
  DecodeStep step;
  step.total = dp.total;
  step.compute = dp.compute;
  step.communication = dp.communication;
  step.all_to_alls = dp.all_to_alls;
  step.data_parallel = dp;
  return step;
}

}  // namespace kvsim::serving
