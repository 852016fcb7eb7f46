// The engine model in serving, in closed form: host time on every iteration (and on every
// pipeline stage's pass), launch gaps that a CUDA-graph decode pass skips, the tensor-parallel
// layer sync, the pipeline hand-off sync and the custom all-reduce of a TP replica, in
// closed-form and flows communication alike.
#include <gtest/gtest.h>

#include "serving/serving_run.hpp"
#include "sim/serving/iteration_cost.hpp"

namespace kvsim::serving {
namespace {

Json lone_request(std::int64_t prompt, std::int64_t output) {
  return Json{{"requests", 1},
              {"arrivals", {{"type", "fixed"}, {"rate", "1/s"}}},
              {"lengths", {{"type", "fixed"}, {"prompt", prompt}, {"output", output}}}};
}

Json nvswitch(int gpus) {
  return Json{{"gpu", "a100-sxm4-80gb"}, {"topology", {{"type", "nvswitch"}, {"gpus", gpus}}}};
}

Json parametric(Json fields) {
  fields["type"] = "parametric";
  return fields;
}

double metric(ServingRun& run, const char* name) {
  return run.summary()[name]["max_s"].get<double>();
}

}  // namespace

TEST(EngineServing, HostTimePerPassAddsExactlyToEveryIteration) {
  // One request, 1000 prompt tokens then 4 decode iterations: the prefill iteration and each
  // decode iteration are 30 us longer, so TTFT and TPOT (the mean decode iteration) both grow by
  // 30 us (to double precision of the reported seconds).
  const Json serving{{"workload", lone_request(1000, 5)}, {"scheduler", {{"type", "vllm"}}}};
  ServingRun bare(serving);
  ServingRun host(serving, {{"gpu", "a100-sxm4-80gb"}},
                  parametric({{"host", {{"per_pass", "30us"}}}}));
  EXPECT_NEAR(metric(host, "ttft") - metric(bare, "ttft"), 30e-6, 1e-12);
  EXPECT_NEAR(metric(host, "tpot") - metric(bare, "tpot"), 30e-6, 1e-12);
}

TEST(EngineServing, IterationHostTimeCountsSequencesAndNewTokens) {
  // Two prefills (100 and 200 new tokens) and three decodes: 5 sequences, 303 new tokens:
  // 30 us + 5 x 2 us + 303 x 10 ns = 43.03 us, added once to the single-GPU iteration.
  ServingRun run(Json{{"workload", lone_request(10, 2)}}, {{"gpu", "a100-sxm4-80gb"}},
                 parametric({{"host", {{"per_pass", "30us"}, {"per_sequence", "2us"},
                                       {"per_token", "10ns"}}}}));
  ServingRun bare(Json{{"workload", lone_request(10, 2)}});
  IterationShape shape;
  shape.prefills = {{100, 100}, {200, 250}};
  shape.decodes = {300, 400, 500};
  shape.emitting = 4;
  IterationCost cost(run.scenario, 1);
  IterationCost bare_cost(bare.scenario, 1);
  EXPECT_EQ(cost(shape).host, Duration{43'030});
  EXPECT_EQ(cost.single_gpu(shape) - bare_cost.single_gpu(shape), Duration{43'030});
}

TEST(EngineServing, LaunchGapsPerKernelAndNoneInAGraphCapturedDecodeIteration) {
  ServingRun bare(Json{{"workload", lone_request(10, 2)}});
  ServingRun graphs(Json{{"workload", lone_request(10, 2)}}, {{"gpu", "a100-sxm4-80gb"}},
                    parametric({{"launch", {{"per_kernel", "4us"},
                                            {"decode_cuda_graphs", true}}}}));
  IterationCost with(graphs.scenario, 1);
  IterationCost without(bare.scenario, 1);
  IterationShape decode;
  decode.decodes = {300, 400};
  decode.emitting = 2;
  // Pure decode: every number bit-identical to kernels-only.
  EXPECT_EQ(with(decode).layer_blocks, without(decode).layer_blocks);
  EXPECT_EQ(with(decode).embedding, without(decode).embedding);
  EXPECT_EQ(with(decode).head, without(decode).head);
  // With a prompt: per layer the 10 non-attention kernels of the batch (input norm, QKV,
  // rotary, out proj, residual add, post norm, MLP up, activation, MLP down, residual add),
  // the prefill's attention and the decodes' batched attention: 12 kernels x 4 us; the
  // embedding 1 kernel; the head 3 (final norm, LM head, sampling).
  IterationShape mixed = decode;
  mixed.prefills = {{100, 100}};
  EXPECT_NEAR(with(mixed).layer() - without(mixed).layer(), 12 * 4e-6, 1e-15);
  EXPECT_NEAR(with(mixed).embedding - without(mixed).embedding, 4e-6, 1e-15);
  EXPECT_NEAR(with(mixed).head - without(mixed).head, 3 * 4e-6, 1e-15);
}

TEST(EngineServing, TensorParallelLayerSyncAndCustomAllReduceOnATp2Replica) {
  // TP 2, one request of 1000 tokens: 32 layers x 2 all-reduces of 1000 x 4096 x 2 B =
  // 8.192 MB (under 8 MiB, so the custom all-reduce carries them). Latency 7 us instead of
  // 6 us: TTFT + 64 x 1 us. Layer sync 3 us: TTFT + 32 x 3 us. Closed form and flows alike
  // (the custom all-reduce is closed-form in both).
  for (const char* communication : {"closed-form", "flows"}) {
    const Json serving{{"workload", lone_request(1000, 1)},
                       {"tensor_parallel", 2},
                       {"communication", communication}};
    const auto custom = [](const char* latency, const char* sync) {
      return parametric({{"all_reduce", {{"type", "custom"},
                                         {"latency", {{"2", latency}}},
                                         {"bandwidth", "150GB/s"}}},
                         {"layer_sync", {{"tensor_parallel", sync}}}});
    };
    ServingRun six(serving, nvswitch(2), custom("6us", "0us"));
    ServingRun seven(serving, nvswitch(2), custom("7us", "0us"));
    ServingRun synced(serving, nvswitch(2), custom("6us", "3us"));
    EXPECT_NEAR(metric(seven, "ttft") - metric(six, "ttft"), 64e-6, 1e-12) << communication;
    EXPECT_NEAR(metric(synced, "ttft") - metric(six, "ttft"), 96e-6, 1e-12) << communication;
    // And the custom all-reduce replaces NCCL's: the run with no engine differs by 64 x
    // (NCCL's time - (6 us + 8.192 MB / 150 GB/s, rounded to 60,613 ns)).
    ServingRun nccl(serving, nvswitch(2));
    const Scenario& s = nccl.scenario;
    const double bytes = 1000.0 * 4096 * 2;
    const std::vector<int> gpus{0, 1};
    const auto kind = net::CollectiveKind::kAllReduce;
    const Duration ring = net::collective_time(
        *s.topology, gpus, kind, s.collectives.algorithm, bytes,
        net::choose_protocol(*s.topology, gpus, kind, s.collectives, bytes));
    const double per_block = to_seconds(ring - Duration{60'613});
    EXPECT_NEAR(metric(nccl, "ttft") - metric(six, "ttft"), 64 * per_block, 200e-9)
        << communication << ": flows round per block";
  }
}

TEST(EngineServing, PipelineHandOffSyncAndHostTimeOnEachStage) {
  // PP 2: one hand-off per pass (TTFT + 5 us), and each stage's GPUs run their own pass and
  // pay the host time (TTFT + 2 x 30 us).
  for (const char* communication : {"closed-form", "flows"}) {
    const Json serving{{"workload", lone_request(1000, 1)},
                       {"pipeline_parallel", 2},
                       {"communication", communication}};
    ServingRun bare(serving, nvswitch(2));
    ServingRun sync(serving, nvswitch(2), parametric({{"layer_sync", {{"pipeline_parallel",
                                                                        "5us"}}}}));
    ServingRun host(serving, nvswitch(2), parametric({{"host", {{"per_pass", "30us"}}}}));
    EXPECT_NEAR(metric(sync, "ttft") - metric(bare, "ttft"), 5e-6, 1e-12) << communication;
    EXPECT_NEAR(metric(host, "ttft") - metric(bare, "ttft"), 60e-6, 1e-12) << communication;
  }
}

TEST(EngineServing, ACustomAllReduceWithoutTheReplicasGpuCountIsRefused) {
  const Json serving{{"workload", lone_request(1000, 1)}, {"tensor_parallel", 4}};
  ServingRun run(serving, nvswitch(4),
                 parametric({{"all_reduce", {{"type", "custom"},
                                             {"latency", {{"2", "6us"}}}}}}));
  try {
    (void)run.summary();
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/engine/all_reduce/latency");
    EXPECT_NE(e.message().find("cannot price 4 GPUs"), std::string::npos) << e.message();
  }
}

}  // namespace kvsim::serving
