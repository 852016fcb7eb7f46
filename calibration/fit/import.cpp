#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "calibration/fit/calibration.hpp"
#include "models/catalog/catalog.hpp"
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
    const LlmSpec model = recognise(static_cast<std::int64_t>(get("n_head")),
                                    static_cast<std::int64_t>(get("n_kv_head")),
                                    static_cast<std::int64_t>(get("n_embd")),
                                    static_cast<std::int64_t>(get("n_expanded_embd")), path);
    const auto tokens = static_cast<std::int64_t>(get("num_tokens"));
    const auto tp = static_cast<std::int64_t>(get("num_tensor_parallel_workers"));
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
    DecomposeOptions o;
    o.tensor_parallel = static_cast<std::int64_t>(get("num_tensor_parallel_workers"));
    const auto kv_cache = static_cast<std::int64_t>(get("kv_cache_size"));
    const int c = t.column("is_prefill");
    if (c < 0) throw InputError(path, "", "no column 'is_prefill'");
    std::vector<Operation> ops;
    if (row[c] == "True") {
      const auto chunk = static_cast<std::int64_t>(get("prefill_chunk_size"));
      ops = prefill_layer(model, PrefillChunk{chunk, kv_cache + chunk, Mask::kCausal}, o);
    } else {
      const std::vector<std::int64_t> lengths(static_cast<std::size_t>(get("batch_size")),
                                              kv_cache + 1);
      ops = decode_layer(model, lengths, o);
    }
    out.push_back({*find_op(ops, OpKind::kAttention), get("median_ms") * 1e-3,
                   fmt::format("vidur attention {}", model.name), "vidur"});
  }
  return out;
}

namespace {

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
      o = gemm(OpKind::kQkvProj, LayerStage::kPreAttention, p.count("m"), p.count("n"),
               p.count("k"), bf16);
    } else if ((op == "attention" || op == "decode_attention") &&
               p.string_or("variant", "fused") == "fused") {
      kernel = p.string_or("kernel", "unnamed");
      LlmSpec shape;
      shape.name = "measured";
      shape.heads = p.count("heads");
      shape.kv_heads = p.count("kv_heads");
      shape.head_dim = p.count("head_dim");
      shape.hidden_size = shape.heads * shape.head_dim;
      shape.intermediate_size = shape.hidden_size;
      std::vector<Operation> ops;
      if (op == "attention") {
        const std::int64_t q = p.count("q");
        const std::int64_t kv = p.count("kv");
        if (kv < q) p.at("kv").fail(fmt::format("kv ({}) must be at least q ({})", kv, q));
        ops = prefill_layer(shape, PrefillChunk{q, kv, Mask::kCausal}, {});
      } else {
        ops = decode_layer(shape, std::vector<std::int64_t>(
                                      static_cast<std::size_t>(p.count("batch")), p.count("kv")),
                           {});
      }
      o = *find_op(ops, OpKind::kAttention);
    } else if (op == "elementwise") {
      const OpKind kind = elementwise_kind(p);
      const LlmSpec model = catalog_model(p);
      const std::int64_t tokens = p.count("tokens");
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

std::vector<CollectivePoint> import_kvsim_collective(const std::string& path,
                                                    const std::string& kind) {
  std::vector<CollectivePoint> out;
  read_kvsim_points(path, [&](const std::string& op, const ConfigNode& p) {
    if (op != "collective" || p.string("kind") != kind) return;
    out.push_back({static_cast<int>(p.count("gpus")), static_cast<double>(p.count("bytes")),
                   p.number("median_ms", 0, 1e9) * 1e-3});
  });
  return out;
}

}  // namespace kvsim::calibration
