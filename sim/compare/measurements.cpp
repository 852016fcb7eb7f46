// Measured TTFT files: kvsim's JSON and CSV, and `vllm bench serve` detailed results.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/compare/compare.hpp"
#include "sim/compare/vllm_result.hpp"
#include "sim/core/table.hpp"

namespace kvsim::compare {
namespace {

// Measured TPOTs of kvsim points are accepted (files carry them) but have no prediction beside
// them: only a serving simulation predicts TPOT.
std::string tpot_not_compared(const std::string& path) {
  return path + " has tpot_ms, which is not compared: kvsim predicts TPOT for vllm bench serve "
                "results on a scenario with a \"serving\" section";
}

std::int64_t positive_integer(const std::string& text, const std::string& file,
                              const std::string& where, const std::string& column) {
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || v < 1) {
    throw InputError(file, "", fmt::format("{}: {} is '{}', not a positive integer", where, column,
                                           text));
  }
  return v;
}

double positive_number(const std::string& text, const std::string& file, const std::string& where,
                       const std::string& column) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(v > 0) || !std::isfinite(v)) {
    throw InputError(file, "", fmt::format("{}: {} is '{}', not a positive finite number", where,
                                           column, text));
  }
  return v;
}

Measurements read_csv_measurements(const std::string& path) {
  const Table t = read_csv(path);
  for (const char* required : {"prompt_tokens", "ttft_ms"}) {
    if (t.column(required) < 0) {
      throw InputError(path, "", fmt::format("missing column '{}' (columns: model, gpu, tp, batch, "
                                             "prompt_tokens, ttft_ms, tpot_ms, attention)",
                                             required));
    }
  }
  Measurements m;
  m.file = path;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    const std::string where = fmt::format("line {}", r + 2);
    auto cell = [&](const char* c) { return t.column(c) < 0 ? std::string() : row[t.column(c)]; };
    MeasuredPoint p;
    p.entry = fmt::format("{} {}", path, where);
    p.model = cell("model");
    p.gpu = cell("gpu");
    p.attention = cell("attention");
    if (!p.attention.empty() && p.attention != "fused" && p.attention != "eager") {
      throw InputError(path, "", fmt::format("{}: attention is '{}'; valid values are fused, eager",
                                             where, p.attention));
    }
    if (!cell("tp").empty()) p.tp = positive_integer(cell("tp"), path, where, "tp");
    if (!cell("batch").empty()) p.batch = positive_integer(cell("batch"), path, where, "batch");
    p.prompt_tokens = positive_integer(cell("prompt_tokens"), path, where, "prompt_tokens");
    p.ttft_ms = positive_number(cell("ttft_ms"), path, where, "ttft_ms");
    m.points.push_back(std::move(p));
  }
  if (t.column("tpot_ms") >= 0) m.warnings.push_back(tpot_not_compared(path));
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
  if (!root.has("kind") || root.string("kind") != "kvsim-ttft-measurements") {
    root.fail("unrecognised measurement file: expected \"kind\": \"kvsim-ttft-measurements\", a "
              "vllm bench serve result with input_lens and ttfts, or a .csv");
  }
  Measurements m;
  m.file = path;
  m.ttft_from = root.one_of_or("ttft_from", "prefill", {"prefill", "arrival"});
  const std::string model = root.string_or("model", "");
  const std::string gpu = root.string_or("gpu", "");
  (void)root.find("device");
  (void)root.find("software");
  (void)root.find("date");
  (void)root.find("note");
  for (const ConfigNode& e : root.at("points").elements()) {
    MeasuredPoint p;
    p.entry = fmt::format("{} {}", path, e.pointer());
    p.model = e.string_or("model", model);
    p.gpu = e.string_or("gpu", gpu);
    p.attention = e.has("attention") ? e.one_of("attention", {"fused", "eager"}) : "";
    p.tp = e.count_or("tp", 1);
    p.batch = e.count_or("batch", 1);
    p.prompt_tokens = e.count("prompt_tokens");
    p.ttft_ms = e.number("ttft_ms", 1e-9, 1e12);
    const bool tpot = e.find("tpot_ms").has_value();
    e.finish();
    m.points.push_back(std::move(p));
    if (tpot && m.warnings.empty()) m.warnings.push_back(tpot_not_compared(path));
  }
  root.finish();
  return m;
}

}  // namespace

Measurements read_measurements(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    throw InputError(path, "", "cannot open file (does it exist and is it readable?)");
  }
  Measurements m = std::filesystem::path(path).extension() == ".csv" ? read_csv_measurements(path)
                                                                      : read_json_measurements(path);
  if (m.points.empty()) throw InputError(path, "", "no measured points");
  return m;
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
  if (t.column("tpot_ms") >= 0) m.warnings.push_back(tpot_not_compared(path));
  return m;
}

}  // namespace kvsim::compare
