// The engine model in the prefill strategies, in closed form: host time before a process's
// first kernel, launch gaps per kernel with and without elementwise fusion, the attention time
// scale, and tp's layer sync and custom all-reduce.
#include <cstdlib>

#include <gtest/gtest.h>

#include "sim/prefill/stage_costs.hpp"
#include "sim/scenario/scenario.hpp"

namespace kvsim::prefill {
namespace {

constexpr std::int64_t kContext = 2048;
constexpr std::int64_t kLayers = 32;  // llama-2-7b

// Llama-2-7B on 2 A100s (NVSwitch), roofline, one strategy, and an engine when not null.
struct PrefillRun {
  ConfigDocument doc;
  Scenario s;
  PrefillRun(const char* strategy, Json engine)
      : doc(make(strategy, std::move(engine)), "engine.json"), s(load_scenario(doc)) {}
  static Json make(const char* strategy, Json engine) {
    Json j{{"model", "llama-2-7b"},
           {"cluster", {{"gpu", "a100-sxm4-80gb"},
                        {"topology", {{"type", "nvswitch"}, {"gpus", 2}}}}},
           {"compute", {{"type", "roofline"}}},
           {"prefill", {{"context_tokens", kContext},
                        {"gpus", std::string(strategy) == "single" ? 1 : 2},
                        {"strategies", {{{"type", strategy}}}}}}};
    if (!engine.is_null()) j["engine"] = std::move(engine);
    return j;
  }
  Duration ttft() const { return s.prefill->strategies.front()->run(s.prefill_setup(), false).ttft; }
};

// |a - b| in nanoseconds, for checks bounded by the rounding of stage times to whole ns.
std::int64_t off(Duration a, Duration b) { return std::abs((a - b).count()); }

Json parametric(Json fields) {
  fields["type"] = "parametric";
  return fields;
}

Duration ttft(const char* strategy, Json engine) { return PrefillRun(strategy, std::move(engine)).ttft(); }

}  // namespace

TEST(EnginePrefill, KernelsOnlyIsTheSameAsNoEngine) {
  for (const char* strategy : {"single", "tp", "tsp", "kvr"}) {
    EXPECT_EQ(ttft(strategy, {{"type", "kernels-only"}}), ttft(strategy, nullptr)) << strategy;
    EXPECT_EQ(ttft(strategy, {{"type", "parametric"}}), ttft(strategy, nullptr)) << strategy;
  }
}

TEST(EnginePrefill, HostTimeIsAddedOnceToASingleGpuTtft) {
  const Duration bare = ttft("single", nullptr);
  // per_pass: exactly 30 us.
  EXPECT_EQ(ttft("single", parametric({{"host", {{"per_pass", "30us"}}}})) - bare,
            Duration{30'000});
  // per_token: 2048 tokens x 10 ns = 20.48 us; per_sequence: one sequence, 2 us.
  EXPECT_EQ(ttft("single", parametric({{"host", {{"per_token", "10ns"}}}})) - bare,
            Duration{20'480});
  EXPECT_EQ(ttft("single", parametric({{"host", {{"per_sequence", "2us"}}}})) - bare,
            Duration{2'000});
  // Every process of a KV-Runahead chain and every rank of tp runs its own pass: they run in
  // parallel, so TTFT also grows by one pass's host time (tp: all ranks 30 us; kvr: each
  // process starts 30 us later, and the chain's last process ends 30 us later).
  for (const char* strategy : {"tp", "kvr"}) {
    EXPECT_EQ(ttft(strategy, parametric({{"host", {{"per_pass", "30us"}}}})) -
                  ttft(strategy, nullptr),
              Duration{30'000})
        << strategy;
  }
}

TEST(EnginePrefill, LaunchGapPerKernelCountsTheKernelsOfThePass) {
  // Single GPU, fused attention. Unfused, a Llama layer is 11 kernels (input norm, QKV,
  // rotary, attention, out proj, residual add, post norm, MLP up, activation, MLP down,
  // residual add) and the model's ends 4 (embedding, final norm, LM head, sampling):
  // 32 x 11 + 4 = 356 kernels, x 4 us = 1424 us. Elementwise fusion leaves 5 a layer (QKV,
  // attention, out proj, MLP up, MLP down): 32 x 5 + 4 = 164 kernels, x 4 us = 656 us.
  // Each stage is rounded to whole ns once per run (embedding, qkv, attention, rest, head),
  // and the layer stages repeat 32 times: at most 3 x 32 + 2 half-ns roundings either way.
  const Duration tolerance{3 * kLayers + 2};
  const auto gap = [](const char* fusion) {
    return ttft("single", parametric({{"fusion", fusion}, {"launch", {{"per_kernel", "4us"}}}})) -
           ttft("single", parametric({{"fusion", fusion}}));
  };
  EXPECT_LE(off(gap("none"), 356 * Duration{4'000}), tolerance.count());
  EXPECT_LE(off(gap("elementwise"), 164 * Duration{4'000}), tolerance.count());
}

TEST(EnginePrefill, ElementwiseFusionRemovesExactlyTheFusedOperationsTime) {
  // TTFT(none) - TTFT(elementwise) = 32 layers x the roofline time of the six fused operations
  // of one layer (input norm, rotary, residual add, post norm, activation, residual add).
  const PrefillRun run("single", nullptr);
  DecomposeOptions o;
  o.precision = run.s.precision;
  double fused = 0;
  for (const Operation& op : prefill_layer(run.s.model, {kContext, kContext, Mask::kCausal}, o)) {
    if (op.op_class == OpClass::kElementwise) fused += run.s.compute->cost(op).seconds;
  }
  const Duration saved = run.ttft() - ttft("single", parametric({{"fusion", "elementwise"}}));
  EXPECT_LE(off(saved, from_seconds(kLayers * fused)), 3 * kLayers + 2);
}

TEST(EnginePrefill, AttentionTimeScaleTwoAddsExactlyTheAttentionTime) {
  // TTFT(scale 2) - TTFT(scale 1) = 32 x the attention stage (one fused kernel a layer), up to
  // the rounding of the doubled stage (at most 1 ns a layer).
  const PrefillRun run("single", nullptr);
  const StageCosts c = stage_costs(run.s.prefill_setup(), kContext, kContext, Mask::kCausal);
  const Duration extra =
      ttft("single", parametric({{"attention", {{"time_scale", 2.0}}}})) - run.ttft();
  EXPECT_LE(off(extra, kLayers * c.attention), kLayers);
}

TEST(EnginePrefill, TpLayerSyncAndCustomAllReduceReplaceNcclInClosedForm) {
  // TP 2 over 2048 tokens: two all-reduces a layer of 2048 x 4096 x 2 B = 16 MiB. With
  // max_bytes 32MiB the custom all-reduce carries them: 6 us + 16,777,216 B / 150 GB/s =
  // 6 us + 111.848 us = 117,848 ns each (rounded). TTFT = embedding pass (host 0) + 32 x (attention
  // block + all-reduce + MLP block + all-reduce) + head, every rank alike; the layer sync adds
  // 3 us per layer: 32 x 3 us = 96 us.
  const auto engine = [](const char* sync) {
    return parametric({{"all_reduce", {{"type", "custom"}, {"max_bytes", "32MiB"},
                                       {"latency", {{"2", "6us"}, {"8", "12us"}}},
                                       {"bandwidth", "150GB/s"}}},
                       {"layer_sync", {{"tensor_parallel", sync}}}});
  };
  const PrefillRun run("tp", engine("0us"));
  PrefillSetup setup = run.s.prefill_setup();
  setup.options.tensor_parallel = 2;
  const auto ops = prefill_layer(run.s.model, {kContext, kContext, Mask::kCausal}, setup.options);
  const auto split = std::find_if(ops.begin(), ops.end(),
                                  [](const Operation& op) { return op.kind == OpKind::kOutProj; });
  const std::span<const Operation> all(ops);
  const auto cut = static_cast<std::size_t>(split - ops.begin()) + 1;
  const auto ends = model_ends(run.s.model, kContext, 1, setup.options);
  const Duration all_reduce{117'848};
  const Duration expected = price(setup, std::span(ends).subspan(0, 1)) +
                            kLayers * (price(setup, all.subspan(0, cut)) + all_reduce +
                                       price(setup, all.subspan(cut)) + all_reduce) +
                            price(setup, std::span(ends).subspan(1));
  EXPECT_EQ(run.ttft(), expected);
  EXPECT_EQ(ttft("tp", engine("3us")) - run.ttft(), Duration{96'000});
}

TEST(EnginePrefill, ACustomAllReduceThatCannotPriceTheTpDegreeIsRefusedAtLoad) {
  try {
    (void)PrefillRun("tp", parametric({{"all_reduce", {{"type", "custom"},
                                                {"latency", {{"4", "6us"}, {"8", "9us"}}}}}}));
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/engine/all_reduce/latency");
    EXPECT_NE(e.message().find("cannot price 2 GPUs"), std::string::npos) << e.message();
  }
}

}  // namespace kvsim::prefill
