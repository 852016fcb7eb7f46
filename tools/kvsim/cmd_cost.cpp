// `kvsim cost gemm|attention|collective|layer|pass`: prices one thing the way kvsim does
// (sim/report/cost_query.hpp), for calibration work and audits. This file owns the options, their
// units and their checks: every value that cannot be priced exits 2 naming the option and what
// would be valid, before anything is priced.
#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/llm/limits.hpp"
#include "sim/core/input_error.hpp"
#include "sim/core/units.hpp"
#include "sim/report/cost_query.hpp"
#include "tools/kvsim/scenario_loading.hpp"

namespace kvsim::cli {
namespace {

struct CostOptions {
  ScenarioOptions scenario;
  std::string gpu;    // --gpu: shortcut for --set /cluster/gpu=NAME
  std::string model;  // --model: shortcut for --set /model=NAME
  bool json = false;
  report::GemmQuery gemm;
  std::string dtype = "fp16";
  report::AttentionQuery attention;
  std::string kind = "all-reduce";
  std::string bytes;
  int gpus = 0;
  std::vector<int> gpu_list;
  report::PassQuery pass;
  std::int64_t tp = 1;
  bool tokens_given = false;
};

const std::vector<std::string> kKinds = {"all-reduce", "all-gather", "reduce-scatter",
                                         "all-to-all", "broadcast"};

Scenario load_for_cost(const CostOptions& o) {
  ScenarioOptions with = o.scenario;
  // The shortcuts go first, so an explicit --set still wins.
  std::vector<std::string> shortcuts;
  if (!o.model.empty()) shortcuts.push_back("/model=" + o.model);
  if (!o.gpu.empty()) shortcuts.push_back("/cluster/gpu=" + o.gpu);
  with.overrides.insert(with.overrides.begin(), shortcuts.begin(), shortcuts.end());
  return load(with);
}

// The participants: --gpu-list as given, else the first --gpus (default `fallback`) GPUs.
std::vector<int> participants(const CostOptions& o, const Scenario& s, int fallback,
                              const char* count_option) {
  const int available = s.topology->gpu_count();
  if (!o.gpu_list.empty()) {
    std::set<int> seen;
    for (const int g : o.gpu_list) {
      if (g < 0 || g >= available) {
        throw InputError("--gpu-list", "", fmt::format("GPU {} is not in the scenario's topology "
                                                       "of {} GPUs (0 to {})", g, available,
                                                       available - 1));
      }
      if (!seen.insert(g).second) {
        throw InputError("--gpu-list", "", fmt::format("GPU {} is listed twice", g));
      }
    }
    return o.gpu_list;
  }
  const int p = o.gpus > 0 ? o.gpus : fallback;
  if (p > available) {
    throw InputError(count_option, "", fmt::format("{} GPUs, but the scenario's topology has {} "
                                                   "(use a smaller count or another --scenario)",
                                                   p, available));
  }
  std::vector<int> gpus(static_cast<std::size_t>(p));
  for (int g = 0; g < p; ++g) gpus[static_cast<std::size_t>(g)] = g;
  return gpus;
}

int print(const CostOptions& o, const Scenario& s, const report::CostReport& r) {
  print_warnings(s);
  for (const std::string& w : r.warnings) fmt::print(stderr, "kvsim: warning: {}\n", w);
  if (o.json) {
    Json j = report::cost_json(r);
    j["scenario"] = s.file;
    j["scenario_warnings"] = s.warnings;
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}", report::format_cost(r));
  }
  return 0;
}

int run_gemm(CostOptions o) {
  const Scenario s = load_for_cost(o);
  o.gemm.dtype = parse_dtype(o.dtype);
  return print(o, s, report::price_gemm(s, o.gemm));
}

int run_attention(CostOptions o) {
  report::AttentionQuery& q = o.attention;
  if (q.kv_heads == 0) q.kv_heads = q.heads;
  if (q.heads % q.kv_heads != 0) {
    throw InputError("--kv-heads", "", fmt::format("{} KV heads do not divide the {} query heads; "
                                                   "use a divisor of {}", q.kv_heads, q.heads,
                                                   q.heads));
  }
  if (q.heads * q.head_dim > limits::kWidth) {
    throw InputError("--head-dim", "", fmt::format("heads x head dim is {}, over kvsim's limit "
                                                   "of {}", q.heads * q.head_dim, limits::kWidth));
  }
  if (q.decode && q.chunk != 1) {
    throw InputError("--chunk", "", "a decode step has one query per sequence: omit --chunk "
                                    "with --decode");
  }
  if (q.cached + q.chunk > limits::kTokens) {
    throw InputError("--cached", "", fmt::format("--cached + --chunk must be at most {} tokens",
                                                 limits::kTokens));
  }
  const Scenario s = load_for_cost(o);
  return print(o, s, report::price_attention(s, q));
}

int run_collective(CostOptions o) {
  const Scenario s = load_for_cost(o);
  report::CollectiveQuery q;
  using net::CollectiveKind;
  for (const CollectiveKind kind : {CollectiveKind::kAllGather, CollectiveKind::kReduceScatter,
                                    CollectiveKind::kAllReduce, CollectiveKind::kAllToAll,
                                    CollectiveKind::kBroadcast}) {
    if (net::to_string(kind) == o.kind) q.kind = kind;  // --kind's check admits only these
  }
  q.bytes = parse_bytes(o.bytes);
  q.gpus = participants(o, s, 0, "--gpus");
  if (q.gpus.size() < 2) {
    throw InputError("--gpus", "", "a collective needs at least 2 GPUs: give --gpus P or "
                                   "--gpu-list A,B,...");
  }
  return print(o, s, report::price_collective(s, q));
}

// Shared by `layer` and `pass`: the options' combinations, then the TP group.
report::PassQuery pass_query(const CostOptions& o, const Scenario& s) {
  report::PassQuery q = o.pass;
  if (q.decode && o.tokens_given) {
    throw InputError("--tokens", "", "a decode step has one new token per sequence: give "
                                     "--batch B instead of --tokens with --decode");
  }
  if (!q.decode && !o.tokens_given) {
    throw InputError("--tokens", "", "a prefill needs --tokens T (new tokens per sequence), or "
                                     "give --decode");
  }
  if (q.decode) q.tokens = 1;
  if (q.batch * q.tokens > limits::kTokens) {  // the iteration's rows, one GEMM over all
    throw InputError("--batch", "", fmt::format("--batch x --tokens must be at most {} tokens",
                                                limits::kTokens));
  }
  if (q.context + q.tokens > limits::kTokens) {
    throw InputError("--context", "", fmt::format("--context + --tokens must be at most {}",
                                                  limits::kTokens));
  }
  if (!o.gpu_list.empty() && o.tp != 1 && o.tp != static_cast<std::int64_t>(o.gpu_list.size())) {
    throw InputError("--tp", "", fmt::format("--tp {} but --gpu-list names {} GPUs; give one",
                                             o.tp, o.gpu_list.size()));
  }
  CostOptions group = o;
  group.gpus = static_cast<int>(o.tp);
  q.gpus = participants(group, s, 1, "--tp");
  const auto tp = static_cast<std::int64_t>(q.gpus.size());
  if (s.model.heads % tp != 0) {
    throw InputError("--tp", "", fmt::format("tensor parallelism shards the {} attention heads "
                                             "of {}; {} does not divide them", s.model.heads,
                                             s.model.name, tp));
  }
  return q;
}

int run_pass(const CostOptions& o, bool whole) {
  const Scenario s = load_for_cost(o);
  const report::PassQuery q = pass_query(o, s);
  report::CostReport r = whole ? report::price_pass(s, q) : report::price_layer(s, q);
  if (q.context + q.tokens > s.model.max_context) {
    r.warnings.push_back(fmt::format("{} tokens of context is past {}'s trained maximum of {}",
                                     q.context + q.tokens, s.model.name, s.model.max_context));
  }
  return print(o, s, r);
}

}  // namespace

namespace {

// A check that names the valid values, with a "did you mean".
CLI::Validator one_of(const std::vector<std::string>& names, const char* what) {
  return CLI::Validator(
      [names](const std::string& v) {
        if (std::find(names.begin(), names.end(), v) != names.end()) return std::string();
        return fmt::format("'{}' is not known; {}", v, valid_values_hint(v, names));
      },
      what);
}

CLI::Validator size_check() {
  return CLI::Validator(
      [](const std::string& v) {
        try {
          const double bytes = parse_bytes(v);
          if (bytes > 0 && bytes <= 1e15) return std::string();
          return fmt::format("'{}' must be more than 0 B and at most 1 PB", v);
        } catch (const UnitError& e) {
          return std::string(e.what());
        }
      },
      "SIZE");
}

// --scenario, --set, --gpu, --model, --strict and --json, on every cost subcommand.
void add_common(CLI::App& cmd, CostOptions& o) {
  o.scenario.path = "scenarios/default.json";
  cmd.add_option("--scenario", o.scenario.path,
                 "scenario JSON whose compute model, precision, model and network price the "
                 "query (relative to the working directory)")
      ->capture_default_str();
  cmd.add_option("--set", o.scenario.overrides,
                 "override a scenario field: /json/pointer=value (JSON, or a bare string); "
                 "repeatable")
      ->expected(1)
      ->take_all();
  cmd.add_option("--gpu", o.gpu, "shortcut for --set /cluster/gpu=NAME (a catalog GPU)");
  cmd.add_option("--model", o.model, "shortcut for --set /model=NAME (a catalog model)");
  add_strict_option(cmd, o.scenario.strict);
  cmd.add_flag("--json", o.json, "print the answer as JSON (command, what, priced_by, seconds, "
                                 "lines with flops, bytes, seconds, rates and source, notes, "
                                 "warnings)");
}

template <class T>
CLI::Option* count(CLI::App& cmd, const char* name, T& value, T low, T high, const char* help) {
  return cmd.add_option(name, value, help)->check(CLI::Range(low, high));
}

void add_gemm(CLI::App& cost, Command& selected) {
  CLI::App* cmd = cost.add_subcommand("gemm", "one GEMM: (m x k) times (k x n)");
  auto o = std::make_shared<CostOptions>();
  add_common(*cmd, *o);
  count<std::int64_t>(*cmd, "--m", o->gemm.m, 1, limits::kTokens, "rows (tokens)")->required();
  count<std::int64_t>(*cmd, "--n", o->gemm.n, 1, limits::kVocab, "output features (columns)")
      ->required();
  count<std::int64_t>(*cmd, "--k", o->gemm.k, 1, limits::kWidth, "input features (the reduced "
                                                                "dimension)")->required();
  cmd->add_option("--dtype", o->dtype, "format of weights, activations and the math; FP8 or "
                                       "FP4 on a GPU without their tensor cores runs weight-only "
                                       "(W8A16, W4A16), with a warning; int4 always W4A16")
      ->capture_default_str()
      ->check(one_of(dtype_names(), "DTYPE"));
  cmd->callback([&selected, o] { selected = [o] { return run_gemm(*o); }; });
}

void add_attention(CLI::App& cost, Command& selected) {
  CLI::App* cmd = cost.add_subcommand(
      "attention", "attention of a chunk of new tokens against cached ones (the scenario's "
                   "fused or eager attention, precision and compute model)");
  auto o = std::make_shared<CostOptions>();
  add_common(*cmd, *o);
  report::AttentionQuery& q = o->attention;
  count<std::int64_t>(*cmd, "--chunk", q.chunk, 1, limits::kTokens,
                      "new tokens (queries) per sequence, causal among themselves (default 1)");
  count<std::int64_t>(*cmd, "--cached", q.cached, 0, limits::kTokens,
                      "tokens already in each sequence's KV cache (default 0)");
  count<std::int64_t>(*cmd, "--heads", q.heads, 1, limits::kHeads,
                      "query heads on the GPU (a TP shard's share)")->required();
  count<std::int64_t>(*cmd, "--kv-heads", q.kv_heads, 1, limits::kHeads,
                      "KV heads on the GPU (default: --heads); must divide --heads");
  count<std::int64_t>(*cmd, "--head-dim", q.head_dim, 1, limits::kWidth,
                      "elements per head")->required();
  count<std::int64_t>(*cmd, "--batch", q.batch, 1, limits::kBatch,
                      "sequences (prefill: priced one at a time, as kvsim does; decode: one "
                      "batched kernel) (default 1)");
  cmd->add_flag("--decode", q.decode, "a decode step: one query per sequence against --cached "
                                      "+ 1 keys");
  cmd->callback([&selected, o] { selected = [o] { return run_attention(*o); }; });
}

void add_collective(CLI::App& cost, Command& selected) {
  CLI::App* cmd = cost.add_subcommand(
      "collective", "a collective of S bytes over GPUs of the scenario's topology, in closed "
                    "form (no other traffic) with its collectives config");
  auto o = std::make_shared<CostOptions>();
  add_common(*cmd, *o);
  cmd->add_option("--kind", o->kind, "all-reduce, all-gather, reduce-scatter, all-to-all or "
                                     "broadcast")
      ->capture_default_str()
      ->check(one_of(kKinds, "KIND"));
  cmd->add_option("--bytes", o->bytes, "the full buffer S with a unit (16MiB, 4KB): all-gather "
                                       "output, reduce-scatter input, all-reduce buffer, "
                                       "all-to-all send buffer, broadcast message")
      ->required()
      ->check(size_check());
  auto* gpus = count<int>(*cmd, "--gpus", o->gpus, 2, 1 << 20,
                          "participants: the topology's first P GPUs (0 to P-1)");
  cmd->add_option("--gpu-list", o->gpu_list, "participants by GPU index, comma-separated "
                                             "(0,2,4,6), in ring order")
      ->delimiter(',')
      ->excludes(gpus);
  cmd->callback([&selected, o] { selected = [o] { return run_collective(*o); }; });
}

void add_pass(CLI::App& cost, Command& selected, bool whole) {
  CLI::App* cmd = cost.add_subcommand(
      whole ? "pass" : "layer",
      whole ? "a whole forward pass (embedding, every layer, final norm, LM head, sampling) on "
              "one GPU of a tensor-parallel group, as a serving replica prices it"
            : "one transformer layer on one GPU of a tensor-parallel group, as a serving "
              "replica prices it (its kernels, blocks and all-reduces)");
  auto o = std::make_shared<CostOptions>();
  add_common(*cmd, *o);
  report::PassQuery& q = o->pass;
  auto* tokens = count<std::int64_t>(*cmd, "--tokens", q.tokens, 1, limits::kTokens,
                                     "prefill: new tokens per sequence (required without "
                                     "--decode)");
  count<std::int64_t>(*cmd, "--context", q.context, 0, limits::kTokens,
                      "tokens already in each sequence's KV cache (default 0; a decode step "
                      "attends to --context + 1)");
  count<std::int64_t>(*cmd, "--batch", q.batch, 1, limits::kBatch, "sequences (default 1)");
  cmd->add_flag("--decode", q.decode, "a decode step: one new token per sequence");
  count<std::int64_t>(*cmd, "--tp", o->tp, 1, limits::kTensorParallel,
                                 "tensor-parallel degree: the topology's first N GPUs (default "
                                 "1); must divide the model's heads");
  cmd->add_option("--gpu-list", o->gpu_list, "the tensor-parallel group by GPU index, "
                                             "comma-separated (its size is the degree)")
      ->delimiter(',');
  cmd->callback([&selected, o, tokens, whole] {
    o->tokens_given = tokens->count() > 0;
    selected = [o, whole] { return run_pass(*o, whole); };
  });
}

}  // namespace

void add_cost(CLI::App& app, Command& selected) {
  CLI::App* cost = app.add_subcommand(
      "cost", "price one thing the way kvsim does: a GEMM, an attention, a collective, a layer "
              "or a forward pass at a TP shard (for calibration work and audits)");
  cost->require_subcommand(1);
  add_gemm(*cost, selected);
  add_attention(*cost, selected);
  add_collective(*cost, selected);
  add_pass(*cost, selected, false);
  add_pass(*cost, selected, true);
}

}  // namespace kvsim::cli
