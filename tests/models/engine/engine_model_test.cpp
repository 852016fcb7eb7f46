// The engine model on its own: parsing (defaults, every field, refusals at the JSON pointer),
// the resolved JSON reading back as the same engine, and each parameter's effect on one
// operation or pass in closed form.
#include <gtest/gtest.h>

#include "core/error_of.hpp"
#include "models/catalog/catalog.hpp"
#include "models/compute/roofline.hpp"
#include "models/engine/builtin.hpp"

namespace kvsim {
namespace {

EngineModel parse(const Json& engine) {
  const ConfigDocument doc(Json{{"engine", engine}}, "engine.json",
                           std::string(KVSIM_SOURCE_DIR) + "/tests/models/engine");
  return read_engine(doc.root().at("engine"));
}

InputError parse_error(const Json& engine) {
  return error_of([&] { (void)parse(engine); });
}

struct Ops {
  RooflineModel compute{catalog::gpu("a100-sxm4-80gb"), RooflineModel::Params{}};
  LlmSpec model = catalog::llm("llama-2-7b");
  std::vector<Operation> layer = prefill_layer(model, {512, 512, Mask::kCausal}, {});
};

}  // namespace

TEST(EngineModel, AbsentFieldsHaveNoEffect) {
  // kernels-only and a parametric engine with every default price every op as the compute
  // model does, bit for bit, and add no host, sync or all-reduce time.
  const Ops o;
  for (const EngineModel& e : {EngineModel::kernels_only(), parse({{"type", "parametric"}}),
                               parse({{"type", "kernels-only"}})}) {
    for (const Operation& op : o.layer) {
      EXPECT_EQ(e.op_seconds(o.compute, op, PassKind::kWithPrefill), o.compute.cost(op).seconds);
    }
    EXPECT_EQ(e.host(7, 4096), Duration{0});
    EXPECT_EQ(e.tp_layer_sync(8), Duration{0});
    EXPECT_EQ(e.pp_stage_sync(), Duration{0});
    EXPECT_FALSE(e.custom_all_reduce(1024, 8).has_value());
  }
}

TEST(EngineModel, EveryFieldIsReadAndTheResolvedFormReadsBackAsTheSameEngine) {
  const EngineModel e = parse("test-engine.json");
  const EngineParams& p = e.params();
  EXPECT_EQ(p.name, "test-engine.json");
  EXPECT_EQ(p.host_per_pass, Duration{30'000});
  EXPECT_EQ(p.host_per_sequence, Duration{2'000});
  EXPECT_EQ(p.host_per_token, Duration{10});
  EXPECT_EQ(p.launch_per_kernel, Duration{4'000});
  EXPECT_TRUE(p.decode_cuda_graphs);
  EXPECT_EQ(p.fusion, Fusion::kElementwise);
  EXPECT_EQ(p.attention_kernel, "trtllm-context-fmha");
  EXPECT_EQ(p.attention_time_scale, 1.5);
  ASSERT_TRUE(p.all_reduce.has_value());
  EXPECT_EQ(p.all_reduce->latency.at(4), Duration{8'000});
  EXPECT_EQ(p.tp_layer_sync, Duration{3'000});
  EXPECT_EQ(p.pp_stage_sync, Duration{5'000});
  const Json resolved = e.to_json();
  EXPECT_EQ(parse(resolved).to_json(), resolved);
  EXPECT_EQ(parse({{"type", "profile"}, {"name", "test-engine.json"}}).to_json(), resolved);
}

TEST(EngineModel, HostTimeIsLinearInSequencesAndTokens) {
  // 30 us + 3 sequences x 2 us + 1000 tokens x 10 ns = 30 + 6 + 10 = 46 us.
  const EngineModel e = parse("test-engine.json");
  EXPECT_EQ(e.host(3, 1000), Duration{46'000});
  // A host time past the simulable range is refused at the engine's host parameters.
  const EngineModel slow = parse({{"type", "parametric"}, {"host", {{"per_token", "60min"}}}});
  const InputError err = error_of([&] { (void)slow.host(1, std::int64_t{1} << 30); });
  EXPECT_EQ(err.pointer(), "/engine/host");
}

TEST(EngineModel, DescribeNamesTheEngineAndWhatItAdds) {
  EXPECT_EQ(EngineModel::kernels_only().describe(),
            "engine kernels-only (kernel and collective time only)");
  const std::string d = parse("test-engine.json").describe();
  EXPECT_NE(d.find("engine test-engine.json: host 30"), std::string::npos) << d;
  EXPECT_NE(d.find("fusion elementwise"), std::string::npos) << d;
  EXPECT_NE(d.find("all-reduce custom"), std::string::npos) << d;
}

TEST(EngineModel, ElementwiseFusionDropsNormsRotaryActivationAndResidualAdds) {
  // A Llama layer is 11 kernels (input norm, QKV, rotary, attention, out proj, residual add,
  // post norm, MLP up, activation, MLP down, residual add); fused, 5 remain (QKV, attention,
  // out proj, MLP up, MLP down), each plus the 4 us launch gap; attention x 1.5.
  const Ops o;
  const EngineModel e = parse("test-engine.json");
  ASSERT_EQ(o.layer.size(), 11u);
  double expected = 0;
  int kernels = 0;
  for (const Operation& op : o.layer) {
    const bool elementwise = op.op_class == OpClass::kElementwise;
    if (elementwise) {
      EXPECT_EQ(e.op_seconds(o.compute, op, PassKind::kWithPrefill), 0.0) << to_string(op.kind);
      continue;
    }
    ++kernels;
    const double scale = op.op_class == OpClass::kAttention ? 1.5 : 1.0;
    expected += o.compute.cost(op).seconds * scale + 4e-6;
  }
  EXPECT_EQ(kernels, 5);
  EXPECT_DOUBLE_EQ(e.ops_seconds(o.compute, o.layer, PassKind::kWithPrefill), expected);
}

TEST(EngineModel, AGraphCapturedDecodePassPaysNoLaunchGap) {
  const Ops o;
  const Operation& qkv = o.layer[1];
  const EngineModel graphs = parse({{"type", "parametric"},
                                    {"launch", {{"per_kernel", "4us"},
                                                {"decode_cuda_graphs", true}}}});
  const EngineModel eager = parse({{"type", "parametric"}, {"launch", {{"per_kernel", "4us"}}}});
  const double kernel = o.compute.cost(qkv).seconds;
  EXPECT_EQ(graphs.op_seconds(o.compute, qkv, PassKind::kPureDecode), kernel);
  EXPECT_EQ(graphs.op_seconds(o.compute, qkv, PassKind::kWithPrefill), kernel + 4e-6);
  EXPECT_EQ(eager.op_seconds(o.compute, qkv, PassKind::kPureDecode), kernel + 4e-6);
}

TEST(EngineModel, CustomAllReduceInterpolatesLatencyAndKeepsNcclForLargeMessages) {
  const EngineModel e = parse("test-engine.json");
  // 6 GPUs: halfway between 4 (8 us) and 8 (12 us) = 10 us; 1.5 MB / 150 GB/s = 10 us.
  EXPECT_EQ(*e.custom_all_reduce(1.5e6, 6), Duration{20'000});
  // Exactly 2 GPUs: 6 us + 0.
  EXPECT_EQ(*e.custom_all_reduce(0, 2), Duration{6'000});
  EXPECT_FALSE(e.custom_all_reduce(9.0 * 1024 * 1024, 8).has_value());  // over max_bytes
  const InputError err = error_of([&] { (void)e.custom_all_reduce(1024, 16); });
  EXPECT_EQ(err.pointer(), "/all_reduce/latency");
  EXPECT_NE(err.message().find("cannot price 16 GPUs"), std::string::npos);
}

TEST(EngineModel, BadInputIsRefusedAtItsPointerWithWhatWouldBeValid) {
  struct Case {
    Json engine;
    std::string pointer;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{{"type", "parametrc"}}, "/engine/type", "did you mean 'parametric'"},
      {{{"type", "parametric"}, {"host", {{"per_pas", "1us"}}}}, "/engine/host/per_pas",
       "per_pass"},
      {{{"type", "parametric"}, {"hots", {}}}, "/engine/hots", "host"},
      {{{"type", "parametric"}, {"host", {{"per_pass", "-1us"}}}}, "/engine/host/per_pass",
       "negative"},
      {{{"type", "parametric"}, {"attention", {{"time_scale", 0}}}},
       "/engine/attention/time_scale", "above 0"},
      {{{"type", "parametric"}, {"fusion", "all"}}, "/engine/fusion", "elementwise"},
      {{{"type", "parametric"}, {"all_reduce", {{"type", "custom"}}}}, "/engine/all_reduce",
       "latency"},
      {{{"type", "parametric"},
        {"all_reduce", {{"type", "custom"}, {"latency", {{"two", "1us"}}}}}},
       "/engine/all_reduce/latency/two", "GPU count"},
      {{{"type", "parametric"}, {"layer_sync", {{"tensor_parallel", "61min"}}}},
       "/engine/layer_sync/tensor_parallel", "at most 60min"},
      {"no-such-engine", "/engine", "no shipped engine profile"},
      {42, "/engine", "profile's name"},
  };
  for (const Case& c : cases) {
    const InputError e = parse_error(c.engine);
    EXPECT_EQ(e.pointer(), c.pointer) << c.engine.dump();
    EXPECT_NE(e.message().find(c.says), std::string::npos) << e.message();
  }
}

TEST(EngineModel, TheFamilyIsRegisteredWithDocumentedParameters) {
  const auto names = engine_models().names();
  EXPECT_EQ(names, (std::vector<std::string>{"kernels-only", "parametric", "profile"}));
  for (const auto& info : engine_models().infos()) {
    for (const ParamDoc& p : info.params) EXPECT_FALSE(p.doc.empty()) << p.name;
  }
}

}  // namespace kvsim
