#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "calibration/fit/calibration.hpp"
#include "models/catalog/catalog.hpp"
#include "models/llm/limits.hpp"
#include "sim/core/input_error.hpp"
#include "sim/core/table.hpp"

namespace kvsim::calibration {
namespace {

namespace fs = std::filesystem;

double number(const Table& t, const std::vector<std::string>& row, const std::string& column,
              const std::string& path, std::size_t line) {
  const int c = t.column(column);
  if (c < 0) throw InputError(path, "", fmt::format("no column '{}'", column));
  char* end = nullptr;
  const double v = std::strtod(row[c].c_str(), &end);
  if (row[c].empty() || end != row[c].c_str() + row[c].size()) {
    throw InputError(path, "", fmt::format("row {}: column '{}' is '{}', not a number", line,
                                           column, row[c]));
  }
  return v;
}

// A count in [min, max] from a CSV cell: an integer, not a float beyond int64 (whose cast would
// be undefined) nor a size beyond kvsim's limits (limits.hpp).
std::int64_t count(const Table& t, const std::vector<std::string>& row, const std::string& column,
                   const std::string& path, std::size_t line, std::int64_t min, std::int64_t max) {
  const double v = number(t, row, column, path, line);
  if (!(v >= static_cast<double>(min) && v <= static_cast<double>(max)) || v != std::floor(v)) {
    throw InputError(path, "", fmt::format("row {}: column '{}' is '{}'; it must be a whole number "
                                           "from {} to {}",
                                           line, column, row[t.column(column)], min, max));
  }
  return static_cast<std::int64_t>(v);
}

// Megatron shards heads over the TP ranks: a degree that does not divide them was not measured.
void check_tensor_parallel(std::int64_t tp, const LlmSpec& model, const std::string& path,
                           std::size_t line) {
  if (model.heads % tp != 0) {
    throw InputError(path, "", fmt::format("row {}: num_tensor_parallel_workers {} does not divide "
                                           "the {} attention heads of {}",
                                           line, tp, model.heads, model.name));
  }
}

// The catalog model with this shape (Vidur records shapes, not names).
LlmSpec recognise(std::int64_t heads, std::int64_t kv_heads, std::int64_t hidden,
                  std::int64_t intermediate, const std::string& path) {
  for (const std::string& name : catalog::llm_names()) {
    const LlmSpec s = catalog::llm(name);
    if (s.heads == heads && s.kv_heads == kv_heads && s.hidden_size == hidden &&
        s.intermediate_size == intermediate) {
      return s;
    }
  }
  throw InputError(path, "", fmt::format("no catalog model has {} heads, {} KV heads, hidden {} "
                                         "and intermediate {}; add it to models/catalog first",
                                         heads, kv_heads, hidden, intermediate));
}

const Operation* find_op(const std::vector<Operation>& ops, OpKind kind) {
  for (const Operation& op : ops) {
    if (op.kind == kind) return &op;
  }
  return nullptr;
}

}  // namespace

std::vector<Measurement> import_vidur_mlp(const std::string& path) {
  const Table t = read_csv(path);
  static const std::vector<std::pair<std::string, OpKind>> columns{
      {"attn_pre_proj", OpKind::kQkvProj},     {"attn_post_proj", OpKind::kOutProj},
      {"mlp_up_proj", OpKind::kMlpUp},         {"mlp_down_proj", OpKind::kMlpDown},
      {"input_layernorm", OpKind::kInputNorm}, {"post_attention_layernorm", OpKind::kPostAttnNorm},
      {"attn_rope", OpKind::kRotary},          {"mlp_act", OpKind::kMlpAct},
      {"add", OpKind::kResidualAdd},           {"emb", OpKind::kEmbedding}};
  std::vector<Measurement> out;
  const std::string where = fs::path(path).parent_path().filename().string();
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    auto get = [&](const std::string& c) { return number(t, row, c, path, r + 2); };
    auto whole = [&](const std::string& c, std::int64_t max) {
      return count(t, row, c, path, r + 2, 1, max);
    };
    const LlmSpec model = recognise(whole("n_head", limits::kHeads),
                                    whole("n_kv_head", limits::kHeads),
                                    whole("n_embd", limits::kWidth),
                                    whole("n_expanded_embd", limits::kWidth), path);
    const std::int64_t tokens = whole("num_tokens", limits::kTokens);
    const std::int64_t tp = whole("num_tensor_parallel_workers", limits::kTensorParallel);
    check_tensor_parallel(tp, model, path, r + 2);
    DecomposeOptions o;
    o.precision = Precision{};  // fp16 throughout, as Vidur profiled
    o.tensor_parallel = tp;
    std::vector<Operation> ops = prefill_layer(model, PrefillChunk{tokens, tokens, Mask::kCausal}, o);
    for (const Operation& op : model_ends(model, tokens, 1, o)) ops.push_back(op);
    for (const auto& [column, kind] : columns) {
      const std::string median = "time_stats." + column + ".median";
      if (t.column(median) < 0 || row[t.column(median)].empty()) continue;
      const Operation* op = find_op(ops, kind);
      if (op == nullptr) continue;  // e.g. no rotary in this architecture
      out.push_back({*op, get(median) * 1e-3,
                     fmt::format("vidur {} {} tp{}", where, column, tp), ""});
    }
  }
  return out;
}

std::vector<Measurement> import_vidur_tree(const std::string& directory) {
  if (!fs::is_directory(directory)) {
    throw InputError(directory, "", "not a directory (expected Vidur's compute/<gpu> tree)");
  }
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(directory)) {
    if (e.is_regular_file() && e.path().filename() == "mlp.csv") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw InputError(directory, "", "no mlp.csv below this directory");
  std::vector<Measurement> out;
  for (const auto& f : files) {
    auto m = import_vidur_mlp(f);
    out.insert(out.end(), m.begin(), m.end());
  }
  return out;
}

std::vector<Measurement> import_vidur_attention(const std::string& path, const LlmSpec& model) {
  const Table t = read_csv(path);
  std::vector<Measurement> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    auto get = [&](const std::string& c) { return number(t, row, c, path, r + 2); };
    auto whole = [&](const std::string& c, std::int64_t min, std::int64_t max) {
      return count(t, row, c, path, r + 2, min, max);
    };
    DecomposeOptions o;
    o.tensor_parallel = whole("num_tensor_parallel_workers", 1, limits::kTensorParallel);
    check_tensor_parallel(o.tensor_parallel, model, path, r + 2);
    // Half the token limit each, so that the cache plus the new tokens stay within it.
    const std::int64_t kv_cache = whole("kv_cache_size", 0, limits::kTokens / 2);
    const int c = t.column("is_prefill");
    if (c < 0) throw InputError(path, "", "no column 'is_prefill'");
    std::vector<Operation> ops;
    if (row[c] == "True") {
      const std::int64_t chunk = whole("prefill_chunk_size", 1, limits::kTokens / 2);
      ops = prefill_layer(model, PrefillChunk{chunk, kv_cache + chunk, Mask::kCausal}, o);
    } else {
      const std::vector<std::int64_t> lengths(
          static_cast<std::size_t>(whole("batch_size", 1, limits::kBatch)), kv_cache + 1);
      ops = decode_layer(model, lengths, o);
    }
    out.push_back({*find_op(ops, OpKind::kAttention), get("median_ms") * 1e-3,
                   fmt::format("vidur attention {}", model.name), "vidur"});
  }
  return out;
}

namespace {

// A count in [1, max] of a measurement point.
std::int64_t up_to(const ConfigNode& point, const std::string& key, std::int64_t max) {
  const std::int64_t v = point.count(key);
  if (v > max) {
    point.at(key).fail(fmt::format("must be at most {} (kvsim's limit), got {}", max, v));
  }
  return v;
}

// The attention shape a point measured, as a model spec for the decomposition.
LlmSpec attention_shape(const ConfigNode& p) {
  LlmSpec shape;
  shape.name = "measured";
  shape.heads = up_to(p, "heads", limits::kHeads);
  shape.kv_heads = up_to(p, "kv_heads", limits::kHeads);
  shape.head_dim = up_to(p, "head_dim", limits::kWidth);
  if (shape.heads % shape.kv_heads != 0) {
    p.at("kv_heads").fail(fmt::format("heads ({}) must be a multiple of kv_heads ({})",
                                      shape.heads, shape.kv_heads));
  }
  if (shape.heads * shape.head_dim > limits::kWidth) {
    p.at("head_dim").fail(fmt::format("{} heads of {} make a width beyond kvsim's limit of {}",
                                      shape.heads, shape.head_dim, limits::kWidth));
  }
  shape.hidden_size = shape.heads * shape.head_dim;
  shape.intermediate_size = shape.hidden_size;
  return shape;
}

// A catalog model named by a point ("model"), for the operations it describes.
LlmSpec catalog_model(const ConfigNode& point) {
  const std::string name = point.string("model");
  const auto names = catalog::llm_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    point.at("model").fail(fmt::format("'{}' is not a catalog model (kvsim list models)", name));
  }
  return catalog::llm(name);
}

// The microbenchmark's elementwise kernels, by the name it gives them.
OpKind elementwise_kind(const ConfigNode& point) {
  static const std::vector<std::pair<std::string, OpKind>> kinds{
      {"input_norm", OpKind::kInputNorm},
      {"rotary", OpKind::kRotary},
      {"mlp_act", OpKind::kMlpAct},
      {"residual_add", OpKind::kResidualAdd}};
  std::vector<std::string> names;
  for (const auto& [name, kind] : kinds) names.push_back(name);
  const std::string kind = point.one_of("kind", names);
  return std::find_if(kinds.begin(), kinds.end(), [&](const auto& k) { return k.first == kind; })
      ->second;
}

// Reads a kvsim measurement file, calling `take` on each point (with its op) and checking that
// every point was understood.
template <typename Take>
void read_kvsim_points(const std::string& path, Take&& take) {
  const ConfigDocument doc = ConfigDocument::load_file(path);
  const ConfigNode root = doc.root();
  if (root.string("kind") != "kvsim-measurements") {
    root.at("kind").fail("not a kvsim measurement file (\"kind\": \"kvsim-measurements\")");
  }
  (void)root.find("device");
  (void)root.find("software");
  (void)root.find("date");
  for (const ConfigNode& p : root.at("points").elements()) {
    const std::string op = p.one_of("op", {"gemm", "attention", "decode_attention", "elementwise",
                                           "copy", "collective"});
    (void)p.number("median_ms", 0, 1e9);
    (void)p.find("spread_ms");
    (void)p.find("repeats");
    (void)p.find("dtype");
    take(op, p);
  }
  root.finish();
}

}  // namespace

std::vector<Measurement> import_kvsim(const std::string& path) {
  std::vector<Measurement> out;
  read_kvsim_points(path, [&](const std::string& op, const ConfigNode& p) {
    const double seconds = p.number("median_ms", 0, 1e9) * 1e-3;
    Operation o{};
    std::string kernel;
    if (op == "gemm") {
      Precision bf16;
      bf16.weights = bf16.activations = DType::kBf16;
      o = gemm(OpKind::kQkvProj, LayerStage::kPreAttention, up_to(p, "m", limits::kTokens),
               up_to(p, "n", limits::kVocab), up_to(p, "k", limits::kVocab), bf16);
    } else if ((op == "attention" || op == "decode_attention") &&
               p.string_or("variant", "fused") == "fused") {
      kernel = p.string_or("kernel", "unnamed");
      const LlmSpec shape = attention_shape(p);
      std::vector<Operation> ops;
      if (op == "attention") {
        const std::int64_t q = up_to(p, "q", limits::kTokens);
        const std::int64_t kv = up_to(p, "kv", limits::kTokens);
        if (kv < q) p.at("kv").fail(fmt::format("kv ({}) must be at least q ({})", kv, q));
        ops = prefill_layer(shape, PrefillChunk{q, kv, Mask::kCausal}, {});
      } else {
        const auto batch = static_cast<std::size_t>(up_to(p, "batch", limits::kBatch));
        ops = decode_layer(shape, std::vector<std::int64_t>(batch, up_to(p, "kv", limits::kTokens)),
                           {});
      }
      o = *find_op(ops, OpKind::kAttention);
    } else if (op == "elementwise") {
      const OpKind kind = elementwise_kind(p);
      const LlmSpec model = catalog_model(p);
      const std::int64_t tokens = up_to(p, "tokens", limits::kTokens);
      const std::int64_t width = p.count("width");
      if (width != model.hidden_size) {
        p.at("width").fail(fmt::format("{} has hidden size {}, not {}", model.name,
                                       model.hidden_size, width));
      }
      const auto ops = prefill_layer(model, PrefillChunk{tokens, tokens, Mask::kCausal}, {});
      const Operation* found = find_op(ops, kind);
      if (found == nullptr) p.at("kind").fail(fmt::format("{} has no such kernel", model.name));
      o = *found;
    } else {
      // Eager attention parts, copies and collectives: the compute profile does not use them
      // (collectives go to `kvsim calibrate-network --measurements`).
      return;
    }
    p.finish({"model", "tp", "purpose", "block_size"});
    out.push_back({o, seconds, fmt::format("kvsim {}", path), kernel});
  });
  return out;
}

std::map<std::string, std::vector<CollectivePoint>> import_kvsim_collectives(
    const std::string& path) {
  std::map<std::string, std::vector<CollectivePoint>> out;
  read_kvsim_points(path, [&](const std::string& op, const ConfigNode& p) {
    if (op != "collective") return;
    out[p.string("kind")].push_back({static_cast<int>(up_to(p, "gpus", 4096)),
                                     static_cast<double>(p.count("bytes")),
                                     p.number("median_ms", 0, 1e9) * 1e-3});
  });
  return out;
}

std::vector<CollectivePoint> import_kvsim_collective(const std::string& path,
                                                    const std::string& kind) {
  auto all = import_kvsim_collectives(path);
  return std::move(all[kind]);
}

}  // namespace kvsim::calibration
