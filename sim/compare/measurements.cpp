// Measured latency files: kvsim's JSON and CSV, the published engine tables, and `vllm bench
// serve` detailed results.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/compare/compare.hpp"
#include "sim/compare/csv_cells.hpp"
#include "sim/compare/engine_tables.hpp"
#include "sim/compare/vllm_result.hpp"
#include "models/llm/dtype.hpp"
#include "sim/core/table.hpp"

namespace kvsim::compare {
namespace {

// The precision, engine, PP and TPOT of a kvsim row, as read from its cells.
void read_row_extras(const std::function<std::string(const char*)>& cell, const std::string& path,
                     const std::string& where, MeasuredPoint& p) {
  if (!cell("precision").empty()) p.precision = precision_name(cell("precision"), path, where);
  p.engine = cell("engine");
  if (!cell("pp").empty()) p.pp = positive_integer(cell("pp"), path, where, "pp");
  if (!cell("output_tokens").empty()) {
    p.output_tokens = positive_integer(cell("output_tokens"), path, where, "output_tokens");
  }
  if (!cell("tpot_ms").empty()) {
    p.tpot_ms = positive_number(cell("tpot_ms"), path, where, "tpot_ms");
    if (p.output_tokens < 2) {
      throw InputError(path, "", fmt::format("{}: a tpot_ms needs output_tokens of at least 2 "
                                             "(the decode it is the mean of), got '{}'",
                                             where, cell("output_tokens")));
    }
  }
}

Measurements read_csv_measurements(const Table& t, const std::string& path) {
  const std::string columns = "model, gpu, precision, tp, pp, batch, prompt_tokens, "
                              "output_tokens, ttft_ms, tpot_ms, attention, engine";
  if (t.column("prompt_tokens") < 0 || (t.column("ttft_ms") < 0 && t.column("tpot_ms") < 0)) {
    throw InputError(path, "", fmt::format("missing column '{}' (columns: {}; ttft_ms or tpot_ms "
                                           "or both)",
                                           t.column("prompt_tokens") < 0 ? "prompt_tokens"
                                                                         : "ttft_ms",
                                           columns));
  }
  Measurements m;
  m.file = path;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    const std::string where = fmt::format("line {}", r + 2);
    auto cell = [&](const char* c) {
      return t.column(c) < 0 ? std::string() : row[static_cast<std::size_t>(t.column(c))];
    };
    MeasuredPoint p;
    p.entry = fmt::format("{} {}", path, where);
    p.model = cell("model");
    p.gpu = catalog_gpu_name(cell("gpu"));
    p.attention = cell("attention");
    if (!p.attention.empty() && p.attention != "fused" && p.attention != "eager") {
      throw InputError(path, "", fmt::format("{}: attention is '{}'; valid values are fused, eager",
                                             where, p.attention));
    }
    if (!cell("tp").empty()) p.tp = positive_integer(cell("tp"), path, where, "tp");
    if (!cell("batch").empty()) p.batch = positive_integer(cell("batch"), path, where, "batch");
    p.prompt_tokens = positive_integer(cell("prompt_tokens"), path, where, "prompt_tokens");
    read_row_extras(cell, path, where, p);
    p.has_ttft = !cell("ttft_ms").empty() || !p.tpot_ms;
    if (p.has_ttft) p.ttft_ms = positive_number(cell("ttft_ms"), path, where, "ttft_ms");
    m.points.push_back(std::move(p));
  }
  return m;
}

}  // namespace

ConfigDocument load_json(const std::string& path) {
  try {
    return ConfigDocument::load_file(path);
  } catch (const Json::out_of_range& e) {
    const std::string why = e.what();
    throw InputError(path, "",
                     fmt::format("{}: every number must be finite",
                                 why.substr(why.find(']') + 2)));
  }
}

namespace {

Measurements read_json_measurements(const std::string& path) {
  const ConfigDocument doc = load_json(path);
  const ConfigNode root = doc.root();
  if (!root.json().is_object()) root.fail("a measurement file is a JSON object");
  if (is_vllm_result(root)) return read_vllm_result(root, path);
  // kvsim serve's own summary.json: its vllm_bench block, written with --save-detailed.
  if (root.has("vllm_bench") && root.at("vllm_bench").json().is_object()) {
    const ConfigNode bench = root.at("vllm_bench");
    if (!is_vllm_result(bench)) {
      bench.fail("a kvsim serve summary without per-request results: run kvsim serve with "
                 "--save-detailed to compare against it");
    }
    return read_vllm_result(bench, path);
  }
  if (!root.has("kind") || root.string("kind") != "kvsim-ttft-measurements") {
    root.fail("unrecognised measurement file: expected \"kind\": \"kvsim-ttft-measurements\", a "
              "vllm bench serve result with input_lens and ttfts, a kvsim serve summary.json "
              "(--save-detailed), or a .csv");
  }
  Measurements m;
  m.file = path;
  m.ttft_from = root.one_of_or("ttft_from", "prefill", {"prefill", "arrival"});
  const std::string model = root.string_or("model", "");
  const std::string gpu = catalog_gpu_name(root.string_or("gpu", ""));
  const std::string engine = root.string_or("engine", "");
  const std::string precision =
      root.has("precision") ? root.one_of("precision", dtype_names()) : std::string();
  (void)root.find("device");
  (void)root.find("software");
  (void)root.find("date");
  (void)root.find("note");
  for (const ConfigNode& e : root.at("points").elements()) {
    MeasuredPoint p;
    p.entry = fmt::format("{} {}", path, e.pointer());
    p.model = e.string_or("model", model);
    p.gpu = catalog_gpu_name(e.string_or("gpu", gpu));
    p.attention = e.has("attention") ? e.one_of("attention", {"fused", "eager"}) : "";
    p.precision = e.has("precision") ? e.one_of("precision", dtype_names()) : precision;
    p.engine = e.string_or("engine", engine);
    p.tp = e.count_or("tp", 1);
    p.pp = e.count_or("pp", 1);
    p.batch = e.count_or("batch", 1);
    p.prompt_tokens = e.count("prompt_tokens");
    p.output_tokens = e.count_or("output_tokens", 0);
    if (e.has("tpot_ms")) {
      p.tpot_ms = e.number("tpot_ms", 1e-9, 1e12);
      if (p.output_tokens < 2) {
        e.fail("a tpot_ms needs output_tokens of at least 2 (the decode it is the mean of)");
      }
    }
    p.has_ttft = e.has("ttft_ms") || !p.tpot_ms;
    if (p.has_ttft) p.ttft_ms = e.number("ttft_ms", 1e-9, 1e12);
    e.finish();
    m.points.push_back(std::move(p));
  }
  root.finish();
  return m;
}

}  // namespace

Measurements read_measurements(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    throw InputError(path, "", "cannot open file (does it exist and is it readable?)");
  }
  Measurements m;
  if (std::filesystem::path(path).extension() == ".csv") {
    const Table t = read_csv(path);
    m = is_splitwise_table(t) ? read_splitwise_table(t, path)
        : is_trtllm_table(t)  ? read_trtllm_table(t, path)
                              : read_csv_measurements(t, path);
  } else {
    m = read_json_measurements(path);
  }
  if (m.points.empty()) throw InputError(path, "", "no measured points");
  return m;
}

namespace {

const std::vector<std::string> kWhereColumns{"model", "gpu", "precision", "engine",
                                             "tp",    "pp",  "batch"};

// A point's value of a --where column, as read.
std::string value_of(const MeasuredPoint& p, const std::string& column) {
  if (column == "model") return p.model;
  if (column == "gpu") return p.gpu;
  if (column == "precision") return p.precision;
  if (column == "engine") return p.engine;
  if (column == "tp") return std::to_string(p.tp);
  if (column == "pp") return std::to_string(p.pp);
  return std::to_string(p.batch);
}

}  // namespace

Where parse_where(const std::string& text) {
  const auto eq = text.find('=');
  const std::string column = text.substr(0, eq);
  if (eq == std::string::npos || std::find(kWhereColumns.begin(), kWhereColumns.end(), column) ==
                                     kWhereColumns.end()) {
    throw InputError("command line", "--where",
                     fmt::format("'{}' is not COLUMN=VALUE with a column of {}", text,
                                 fmt::join(kWhereColumns, ", ")));
  }
  return {column, column == "gpu" ? catalog_gpu_name(text.substr(eq + 1)) : text.substr(eq + 1)};
}

void select(Measurements& m, const std::vector<Where>& filters) {
  if (filters.empty()) return;
  const std::size_t before = m.points.size();
  std::vector<std::string> left_out;  // "entry:", how the readers' warnings about it begin
  std::erase_if(m.points, [&](const MeasuredPoint& p) {
    const bool out = std::any_of(filters.begin(), filters.end(),
                                 [&](const Where& w) { return value_of(p, w.column) != w.value; });
    if (out) left_out.push_back(p.entry + ":");
    return out;
  });
  // Warnings about points not compared (outliers of another GPU's rows) would mislead.
  std::erase_if(m.warnings, [&](const std::string& w) {
    return std::any_of(left_out.begin(), left_out.end(),
                       [&](const std::string& e) { return w.starts_with(e); });
  });
  std::vector<std::string> said;
  for (const Where& w : filters) said.push_back(w.column + "=" + w.value);
  if (m.points.empty()) {
    throw InputError(m.file, "",
                     fmt::format("no point has {} (--where)", fmt::join(said, " and ")));
  }
  m.warnings.push_back(fmt::format("--where {}: {} of the {} points of {} compared",
                                   fmt::join(said, " "), m.points.size(), before, m.file));
}

namespace {

// The columns of a sweep-measurement CSV that are not the sweep's own axes.
const std::vector<std::string> kMeasurementColumns{"strategy", "ttft_ms", "tpot_ms"};

bool is_measurement_column(const std::string& c) {
  return std::find(kMeasurementColumns.begin(), kMeasurementColumns.end(), c) !=
         kMeasurementColumns.end();
}

// Every column is the sweep's or a measurement's, and the sweep's columns and ttft_ms are there.
void check_sweep_csv_columns(const Table& t, const std::string& path,
                             const sweep::SweepSpec& sweep, const std::string& expected) {
  for (const std::string& c : t.columns) {
    if (!is_measurement_column(c) &&
        std::find(sweep.columns.begin(), sweep.columns.end(), c) == sweep.columns.end()) {
      throw InputError(path, "", fmt::format("unknown column '{}'; measurements for sweep {} have {}",
                                             c, sweep.name, expected));
    }
  }
  std::vector<std::string> required = sweep.columns;
  required.emplace_back("ttft_ms");
  for (const std::string& c : required) {
    if (t.column(c) < 0) {
      throw InputError(path, "", fmt::format("missing column '{}'; measurements for sweep {} have {}",
                                             c, sweep.name, expected));
    }
  }
}

// Row r of the table (CSV line r + 2): its settings of the sweep's columns, strategy and TTFT.
MeasuredPoint sweep_csv_row(const Table& t, std::size_t r, const std::string& path,
                            const sweep::SweepSpec& sweep) {
  const auto& row = t.rows[r];
  const std::string where = fmt::format("line {}", r + 2);
  MeasuredPoint p;
  p.entry = fmt::format("{} {}", path, where);
  for (const std::string& c : sweep.columns) {
    const std::string& value = row[static_cast<std::size_t>(t.column(c))];
    if (value.empty()) throw InputError(path, "", fmt::format("{}: no value for {}", where, c));
    p.settings.emplace_back(c, value);
  }
  if (t.column("strategy") >= 0) p.strategy = row[static_cast<std::size_t>(t.column("strategy"))];
  p.ttft_ms = positive_number(row[static_cast<std::size_t>(t.column("ttft_ms"))], path, where,
                              "ttft_ms");
  return p;
}

}  // namespace

Measurements read_sweep_measurements(const std::string& path, const sweep::SweepSpec& sweep) {
  for (const std::string& c : sweep.columns) {
    if (is_measurement_column(c)) {
      throw InputError(sweep.file, "/axes",
                       fmt::format("the column '{}' has the name of a measurement column: rename "
                                   "the axis to compare measurements with this sweep",
                                   c));
    }
  }
  const std::string expected =
      fmt::format("the sweep's columns ({}), an optional strategy (a label such as tsp or "
                  "kvr/search), ttft_ms and an optional tpot_ms",
                  fmt::join(sweep.columns, ", "));
  if (!std::filesystem::exists(path)) {
    throw InputError(path, "", "cannot open file (does it exist and is it readable?)");
  }
  if (std::filesystem::path(path).extension() != ".csv") {
    throw InputError(path, "", "measurements at the points of a sweep are a .csv with " + expected);
  }
  const Table t = read_csv(path);
  check_sweep_csv_columns(t, path, sweep, expected);
  Measurements m;
  m.file = path;
  for (std::size_t r = 0; r < t.rows.size(); ++r) m.points.push_back(sweep_csv_row(t, r, path, sweep));
  if (m.points.empty()) throw InputError(path, "", "no measured points");
  if (t.column("tpot_ms") >= 0) {
    m.warnings.push_back(path + " has tpot_ms, which is not compared at the points of a sweep: "
                                "compare it with a scenario, one row per configuration");
  }
  return m;
}

}  // namespace kvsim::compare
