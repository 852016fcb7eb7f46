#include "sim/scenario/sections.hpp"

#include "sim/core/doc_family.hpp"
#include "sim/scenario/precision_config.hpp"

namespace kvsim {
namespace {

const ParamDoc kRate{"rate", "rate", "", "mean requests per second, e.g. \"4/s\""};

// sim/serving/workload.cpp, Workload::Impl::read_arrivals.
const DocFamily& arrivals() {
  static const DocFamily family(
      "arrivals", "when requests arrive (serving /serving/workload/arrivals)",
      {{"poisson", "exponential gaps at a mean rate", {kRate}},
       {"gamma", "gamma-distributed gaps: burstier (cv > 1) or smoother (cv < 1) than Poisson",
        {kRate, {"cv", "number", "", "coefficient of variation of the gaps, 0.001 to 1000"}}},
       {"fixed", "evenly spaced at the rate", {kRate}},
       {"trace", "arrival times (and, unless lengths say otherwise, lengths) from a CSV",
        {{"file", "path", "",
          "CSV with arrived_at, num_prefill_tokens, num_decode_tokens (Vidur's trace format), "
          "relative to the scenario file"}}},
       {"burst", "every request at time 0 (a closed batch)", {}},
       {"times", "arrival times listed in the scenario",
        {{"seconds", "[number]", "", "non-decreasing arrival times in seconds, e.g. [0, 0.5, 2]"}}}});
  return family;
}

ParamDoc tokens(const std::string& name, const std::string& doc) {
  return {name, "count", "", doc};
}

const ParamDoc kMaxTokens{"max_tokens", "count >= 2", "none",
                          "prompt + output cap; longer requests are truncated (at most the "
                          "model's context)"};

// sim/serving/workload.cpp, Workload::Impl::read_lengths.
const DocFamily& lengths() {
  static const DocFamily family(
      "lengths", "prompt and output lengths of requests (serving /serving/workload/lengths)",
      {{"fixed", "every request alike",
        {tokens("prompt", "prompt tokens, e.g. 512"), tokens("output", "output tokens, e.g. 128"),
         kMaxTokens}},
       {"uniform", "uniform between bounds (inclusive)",
        {tokens("prompt_min", "shortest prompt"), tokens("prompt_max", "longest prompt"),
         tokens("output_min", "shortest output"), tokens("output_max", "longest output"),
         kMaxTokens}},
       {"lognormal", "log-normal around medians",
        {tokens("prompt_median", "median prompt tokens"),
         {"prompt_sigma", "number", "", "sigma of log(prompt), 0 to 10"},
         tokens("output_median", "median output tokens"),
         {"output_sigma", "number", "", "sigma of log(output), 0 to 10"}, kMaxTokens}},
       {"zipf", "Zipf-distributed over a range",
        {tokens("prompt_min", "shortest prompt"), tokens("prompt_max", "longest prompt"),
         {"prompt_theta", "number", "1", "Zipf exponent of prompts, 0 to 10"},
         tokens("output_min", "shortest output"), tokens("output_max", "longest output"),
         {"output_theta", "number", "1", "Zipf exponent of outputs, 0 to 10"}, kMaxTokens}},
       {"trace", "lengths from a trace CSV, row by row",
        {{"file", "path", "the arrival trace's",
          "CSV with num_prefill_tokens and num_decode_tokens, relative to the scenario file"},
         kMaxTokens}},
       {"empirical", "lengths drawn from the rows of a CSV",
        {{"file", "path", "", "CSV relative to the scenario file"},
         {"prompt_column", "string", "num_prefill_tokens", "column of prompt lengths"},
         {"output_column", "string", "num_decode_tokens", "column of output lengths"},
         kMaxTokens}},
       {"list", "lengths listed in the scenario, one request each (cycled)",
        {{"prompts", "[count]", "", "prompt tokens per request, e.g. [512, 2048]"},
         {"outputs", "[count]", "", "output tokens per request, as many as prompts"},
         kMaxTokens}}});
  return family;
}

// sim/network/protocol.cpp, Protocol::from_config.
std::vector<ParamDoc> protocol_fields() {
  return {{"name", "string", "simple (p2p for point_to_point)", "what reports call it"},
          {"step_latency", "duration", "0", "fixed cost of each algorithm step, e.g. \"20us\""},
          {"latency_by_gpus", "[object]", "",
           "measured all-reduce fixed cost by GPU count instead of step_latency, e.g. "
           "[{\"gpus\": 2, \"latency\": \"40us\"}]"},
          {"efficiency", "ratio|object", "1",
           "share of link bandwidth reached, one number or {\"nvlink\": x, \"pcie\": y, "
           "\"network\": z}"}};
}

// sim/scenario/precision_config.cpp: {"weights", "activations"} of one operation.
Section operation_precision(const std::string& operation) {
  std::vector<ParamDoc> fields;
  for (const ParamDoc& p : precision_docs()) {
    if (p.name == "weights" || p.name == "activations") fields.push_back(p);
  }
  return {"/precision/per_operation/" + operation, "formats of " + operation, fields, "", ""};
}

// sim/serving/setup.cpp, ServingSetup::from_config (the workload is read by Workload).
Section serving_section() {
  return {"/serving", "traffic on replicas of the model (kvsim serve)",
          {{"replicas", "count", "1", "identical replicas"},
           {"tensor_parallel", "count", "1", "GPUs per pipeline stage of a replica"},
           {"pipeline_parallel", "count", "1", "pipeline stages of a replica"},
           {"expert_parallel", "bool|count", "false",
            "MoE: routed experts split over the tp ranks (true), or over groups of this many"},
           {"data_parallel_attention", "bool", "false",
            "MoE: the tp GPUs are attention ranks, each with its own requests and KV"},
           {"communication", "closed-form|flows", "closed-form",
            "price a replica's collectives by formula or as flows on the topology"},
           {"host_overhead", "duration", "0", "CPU time per iteration, e.g. \"2ms\""},
           {"slo", "object", "none", "latency objectives for goodput"},
           {"scheduler", "object", "{\"type\": \"vllm\"}", "which sequences run each iteration"},
           {"memory", "object", "the scheduler's", "how KV memory is held"},
           {"router", "object", "{\"type\": \"round-robin\"}", "which replica a request joins"},
           {"drafter", "object", "absent", "speculative decoding on every replica"},
           {"disaggregation", "object", "absent",
            "prefill and decode pools instead of colocated replicas (Splitwise, DistServe)"},
           {"workload", "object", "", "the requests"}},
          "", ""};
}

std::vector<Section> scenario_sections() {
  return {
      {"", "a kvsim scenario: model, precision, cluster, and what to simulate",
       {{"$schema", "path", "absent", "for editors: where `kvsim schema` wrote this schema"},
        {"name", "string", "unnamed", "what outputs call this scenario"},
        {"description", "string", "\"\"", "free text for readers"},
        {"seed", "count >= 0", "1", "seed of every random stream"},
        {"model", "name|object", "",
         "catalog name (kvsim list), {\"file\": ...}, {\"hf_config\": ...} or an inline spec; "
         "e.g. \"llama-2-7b\""},
        {"precision", "object", "the model's dtype", "formats of weights, math and KV cache"},
        {"cluster", "object", "", "GPUs and how they are joined"},
        {"compute", "object", "{\"type\": \"roofline\"}", "how long one operation takes"},
        {"engine", "object", "kernels only", "what a serving engine adds around the kernels"},
        {"expert_load", "object", "{\"type\": \"uniform\"}",
         "MoE models: each expert's share of the tokens"},
        {"prefill", "object", "absent", "one prompt's prefill over GPUs (kvsim run)"},
        {"decode", "object", "absent", "one decode step on a layout (kvsim run)"},
        {"serving", "object", "absent", "traffic on replicas (kvsim serve)"}},
       "", ""},
      {"/model", "a model spec (see `kvsim explain model`)", {}, "", "a catalog model"},
      {"/precision", "formats of weights, math and KV cache", precision_docs(), "", ""},
      {"/precision/per_operation", "formats of their own for some operations",
       {{"attention", "object", "the scenario's", "QKV and output projections"},
        {"mlp", "object", "the scenario's", "the MLP GEMMs"},
        {"lm_head", "object", "the scenario's", "embedding, LM head and norms"}},
       "", ""},
      operation_precision("attention"),
      operation_precision("mlp"),
      operation_precision("lm_head"),
      {"/cluster", "the GPUs and the network between them",
       {{"gpu", "name|object", "", "catalog GPU name (kvsim list), e.g. \"a100-sxm4-80gb\""},
        {"topology", "object", "one GPU, no network", "how GPUs are joined"},
        {"heterogeneity", "[object]", "[]", "static changes to link bandwidths, in order"},
        {"background", "[object]", "[]", "background flows competing for links"},
        {"collectives", "name|object", "NCCL-like ring defaults",
         "collective algorithm and protocol costs, or a profile name, e.g. \"vidur-dgx-a100\""},
        {"memory_utilization", "ratio", "0.9", "share of each GPU's HBM a prefill may use"}},
       "", ""},
      {"/cluster/gpu", "an inline GPU spec (models/catalog/gpus/*.json)", {}, "", "a catalog GPU"},
      {"/cluster/topology", "", {}, "topology", ""},
      {"/cluster/heterogeneity/*", "", {}, "heterogeneity", ""},
      {"/cluster/background/*", "an on/off background flow between two endpoints",
       {{"from", "count|string", "", "GPU index or node name"},
        {"to", "count|string", "", "GPU index or node name"},
        {"rate", "bandwidth", "unlimited", "cap on the flow's rate, e.g. \"10GB/s\""},
        {"windows", "[[duration, duration]]", "", "fixed on-windows, e.g. [[\"0ms\", \"5ms\"]]"},
        {"mean_on", "duration", "", "mean on-period (exponential), e.g. \"2ms\""},
        {"mean_off", "duration", "", "mean off-period (exponential), e.g. \"8ms\""},
        {"start", "duration", "0", "delay before the first on-period"}},
       "", ""},
      {"/cluster/collectives", "how collectives are priced",
       {{"profile", "name|path", "absent",
         "take every field from a profile: a shipped name (calibration/profiles, kvsim list), "
         "e.g. \"vidur-dgx-a100\", or a file kvsim calibrate-network wrote, relative to this "
         "file; alone in the object"},
        {"algorithm", "ring|tree|direct|mesh", "ring", "collective algorithm"},
        {"protocols", "[object]", "NCCL's simple protocol",
         "protocols; each collective takes the fastest"},
        {"point_to_point", "object", "p2p defaults", "cost of one point-to-point message"},
        {"measured_on", "object", "absent", "where a fitted profile was measured"}},
       "", "a collective profile (calibration/profiles)"},
      {"/cluster/collectives/protocols/*", "one collective protocol's costs", protocol_fields(),
       "", ""},
      {"/cluster/collectives/point_to_point", "one point-to-point message's costs",
       protocol_fields(), "", ""},
      {"/cluster/collectives/measured_on", "where a fitted collective profile was measured",
       {{"profile", "string", "", "the profile's name"},
        {"gpu", "string", "", "the GPU it was measured on"},
        {"topologies", "[object]", "", "{type, nodes, gpus, link_kind} of each measured setup"}},
       "", ""},
      {"/compute", "", {}, "compute model", ""},
      {"/engine", "", {}, "engine", ""},
      {"/expert_load", "", {}, "expert_load", ""},
      {"/prefill", "one prompt's prefill spread over GPUs (kvsim run)",
       {{"context_tokens", "count", "", "prompt tokens, e.g. 16384"},
        {"gpus", "count", "every GPU of the topology", "GPUs of the chain"},
        {"attention", "fused|eager", "fused", "attention kernel"},
        {"strategies", "[object]", "[]", "the strategies compared"}},
       "", ""},
      {"/prefill/strategies/*", "", {}, "prefill strategy", ""},
      {"/prefill/strategies/*/partitioner", "", {}, "partitioner", ""},
      {"/decode", "one decode step on a tensor x pipeline-parallel layout (kvsim run)",
       {{"batch_size", "count", "1", "requests in the step"},
        {"context_tokens", "count", "", "KV tokens per request, the new one included"},
        {"tensor_parallel", "count", "1", "GPUs per stage"},
        {"pipeline_parallel", "count", "1", "stages"},
        {"expert_parallel", "bool|count", "false",
            "MoE: routed experts split over the tp ranks (true), or over groups of this many"},
        {"data_parallel_attention", "bool", "false",
         "MoE: the tp GPUs are attention ranks, each with its share of the batch and its KV"},
        {"drafter", "object", "absent", "speculative decoding's drafter"}},
       "", ""},
      {"/decode/drafter", "", {}, "drafter", ""},
      serving_section(),
      {"/serving/slo", "service-level objectives for goodput",
       {{"ttft", "duration", "none", "time to first token bound, e.g. \"2s\""},
        {"tpot", "duration", "none", "time per output token bound, e.g. \"100ms\""}},
       "", ""},
      {"/serving/scheduler", "", {}, "scheduler", ""},
      {"/serving/memory", "", {}, "kv memory", ""},
      {"/serving/router", "", {}, "router", ""},
      {"/serving/drafter", "", {}, "drafter", ""},
      {"/serving/workload", "the requests: how many, when they arrive, how long they are",
       {{"requests", "count", "1000 (or the trace's rows)", "requests simulated"},
        {"max_concurrency", "count", "unlimited",
         "clients: at most this many requests outstanding (vllm bench's --max-concurrency)"},
        {"arrivals", "object", "", "when requests arrive"},
        {"lengths", "object", "", "prompt and output lengths"}},
       "", ""},
      {"/serving/disaggregation", "prefill and decode pools, the KV transfer between them",
       {{"prefill", "object", "", "the prefill pool"},
        {"decode", "object", "", "the decode pool"},
        {"transfer", "whole|layerwise", "whole",
         "ship the KV cache after the prefill, or layer by layer during it (Splitwise)"},
        {"policy", "object", "{\"type\": \"join-shortest-queue\"}",
         "which prefill and decode instance a request takes"},
        {"mixed", "object", "none", "Splitwise's mixed pool: instances that join whichever pool "
         "is overloaded"}},
       "", ""},
      {"/serving/disaggregation/mixed",
       "Splitwise's mixed pool: idle instances lent to the prefill pool when every prefill "
       "instance has `threshold` requests queued or running, or to the decode pool when no decode "
       "instance has room for a request's KV; back once their work there is done. Each has the "
       "prefill pool's GPUs per instance (which must equal the decode tensor_parallel) and "
       "follows the decode instances on the topology",
       {{"instances", "count", "1", "mixed instances"},
        {"threshold", "count", "4", "requests queued or running on every prefill instance before "
         "a mixed instance joins the prefill pool"}},
       "", ""},
      {"/serving/disaggregation/prefill",
       "prefill instances, each running one prompt, or one batch of prompts, at a time",
       {{"instances", "count", "1", "prefill instances"},
        {"gpus", "count", "1", "GPUs per prefill instance"},
        {"max_batch_size", "count", "1",
         "waiting prompts prefilled together as one pass over their summed tokens (tp, tsp; "
         "attention priced as one causal sequence, an upper bound)"},
        {"max_batched_tokens", "count", "the model's context", "most prompt tokens in a batch"},
        {"bucket", "count", "1", "prompt lengths rounded up to a multiple of this for caching"},
        {"strategy", "object", "", "the prefill strategy, as kvsim run's"},
        {"gpu", "name|object", "/cluster/gpu", "the pool's GPU type, as /cluster/gpu"},
        {"price_per_gpu_hour", "number", "the GPU's catalog price",
         "US dollars per GPU-hour, for cost_per_hour"}},
       "", ""},
      {"/serving/disaggregation/prefill/strategy", "", {}, "prefill strategy", ""},
      {"/serving/disaggregation/prefill/strategy/partitioner", "", {}, "partitioner", ""},
      {"/serving/disaggregation/decode", "decode instances (continuous batching)",
       {{"instances", "count", "1", "decode instances"},
        {"tensor_parallel", "count", "1", "GPUs per decode instance"},
        {"max_batch_size", "count", "256", "sequences per decode iteration"},
        {"gpu", "name|object", "/cluster/gpu", "the pool's GPU type, as /cluster/gpu"},
        {"price_per_gpu_hour", "number", "the GPU's catalog price",
         "US dollars per GPU-hour, for cost_per_hour"}},
       "", ""},
      {"/serving/disaggregation/policy", "", {}, "global scheduler", ""},
      {"/serving/workload/arrivals", "", {}, "arrivals", ""},
      {"/serving/workload/lengths", "", {}, "lengths", ""},
  };
}

// sim/sweep/sweep_spec.cpp, load_sweep and read_axis.
std::vector<Section> sweep_sections() {
  const ParamDoc name{"name", "string", "", "the column this setting writes"};
  const ParamDoc pointer{"pointer", "string", "",
                         "JSON pointer into the base scenario, e.g. \"/prefill/context_tokens\""};
  const ParamDoc values{"values", "array", "", "the values, one per point"};
  const ParamDoc labels{"labels", "[string]", "the values", "what the column shows per value"};
  return {
      {"", "a kvsim sweep: a base scenario and axes of settings (kvsim sweep)",
       {{"$schema", "path", "absent", "for editors: where `kvsim schema sweep` wrote this schema"},
        {"name", "string", "the file's stem", "what outputs call this sweep"},
        {"base", "path", "", "the base scenario, relative to the sweep file"},
        {"set", "object", "{}", "{\"/pointer\": value} applied to the base first"},
        {"seed", "count >= 0", "1", "seed of sampled axes"},
        {"axes", "[object]", "", "the axes; points are their product"},
        {"outputs",
         "[ttft_ms|speedup|partition|fractions|critical_compute_ms|critical_communication_ms|"
         "link_bytes|events]",
         "[\"ttft_ms\"]", "columns written per strategy"},
        {"baseline", "string", "tsp", "strategy label the speedup is relative to"}},
       "", ""},
      {"/set", "settings applied to the base scenario", {}, "", ""},
      {"/axes/*", "one axis: a setting, a zip of settings, or a sample of random settings",
       {name, pointer, values, labels,
        {"zip", "[object]", "", "settings that change together (same length)"},
        {"sample", "count", "", "random points drawn (with vary)"},
        {"vary", "[object]", "", "what a sampled axis draws"}},
       "", ""},
      {"/axes/*/zip/*", "one setting of a zipped axis", {name, pointer, values, labels}, "", ""},
      {"/axes/*/vary/*", "one randomly drawn setting",
       {name, pointer,
        {"distribution", "uniform|log-uniform|choice", "", "how values are drawn"},
        {"values", "array", "", "choice: the values drawn from"},
        {"min", "number", "", "uniform, log-uniform: the lower bound"},
        {"max", "number", "", "uniform, log-uniform: the upper bound"},
        {"unit", "string", "\"\"", "appended to drawn numbers, e.g. \"GB/s\""}},
       "", ""},
  };
}

}  // namespace

const std::vector<Section>& sections(DocumentKind kind) {
  static const std::vector<Section> scenario = scenario_sections();
  static const std::vector<Section> sweep = sweep_sections();
  return kind == DocumentKind::kScenario ? scenario : sweep;
}

std::vector<const RegistryView*> workload_families() { return {&arrivals(), &lengths()}; }

std::vector<std::string> workload_types(const std::string& family) {
  std::vector<std::string> out;
  for (const RegistryView* r : workload_families()) {
    if (r->family() != family) continue;
    for (const RegistryEntryInfo& e : r->infos()) out.push_back(e.name);
  }
  return out;
}

}  // namespace kvsim
