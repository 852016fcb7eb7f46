// read_trace's fast path (unquoted CSV read without a Table of strings, workload_trace.cpp)
// against the Table path it skips. Quoting every field of the same CSV sends it through parse_csv
// and the checked rows, the way every trace was read before, so each test reads one text both
// ways from the same path: the rows must be equal (arrival times bit for bit) or both readings
// must fail with the same message. Random traces include CRLF line ends, empty lines, extra
// columns in any order, a missing final newline and malformed cells.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "sim/serving/workload.hpp"
#include "sim/serving/workload_trace.hpp"

namespace kvsim::serving {
namespace {

// What reading a trace gave: its rows, or the InputError's message.
struct Outcome {
  std::vector<TraceRow> rows;
  std::string error;
};

Outcome read(const std::string& path, const std::string& text, bool arrivals) {
  std::ofstream(path, std::ios::binary) << text;
  const Json file = path;
  const ConfigNode node(&file, "scenario.json", Json::json_pointer("/lengths/file"));
  try {
    if (arrivals) return {read_trace(node), ""};
    return {read_trace(node, "in", "out", ""), ""};
  } catch (const InputError& e) {
    return {{}, e.what()};
  }
}

// The same CSV with every field quoted (a doubled quote inside none: cells hold no quotes).
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool line_end = c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n');
    if (c == ',') {
      out += "\",\"";
    } else if (line_end && c == '\r') {
      out += "\"\r";
    } else if (c == '\n') {
      out += (i > 0 && text[i - 1] == '\r') ? "\n\"" : "\"\n\"";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void expect_same(const Outcome& fast, const Outcome& table, const std::string& text) {
  EXPECT_EQ(fast.error, table.error) << text;
  ASSERT_EQ(fast.rows.size(), table.rows.size()) << text;
  for (std::size_t i = 0; i < fast.rows.size(); ++i) {
    EXPECT_EQ(fast.rows[i].arrival, table.rows[i].arrival) << text;  // exact
    EXPECT_EQ(fast.rows[i].prompt, table.rows[i].prompt) << text;
    EXPECT_EQ(fast.rows[i].output, table.rows[i].output) << text;
  }
}

// A random trace: the three columns plus an extra one in a random order, rows with arrival times
// that mostly increase, and now and then a fault (a bad cell, a missing field, an earlier time).
std::string random_trace(std::mt19937_64& rng, bool arrivals) {
  std::vector<std::string> header{arrivals ? "arrived_at" : "extra",
                                  arrivals ? "num_prefill_tokens" : "in",
                                  arrivals ? "num_decode_tokens" : "out", "note"};
  std::shuffle(header.begin(), header.end(), rng);
  const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::string eol = pick(3) == 0 ? "\r\n" : "\n";
  std::string text = fmt::format("{}{}", fmt::join(header, ","), eol);
  double t = 0;
  const int rows = pick(40);
  for (int r = 0; r < rows; ++r) {
    if (pick(10) == 0) text += eol;  // an empty line, skipped by both paths
    t += pick(4) == 0 ? 0.0 : 1e-3 * pick(5000);
    std::vector<std::string> cells;
    for (const std::string& h : header) {
      if (h == "arrived_at") cells.push_back(pick(2) ? fmt::format("{}", t) : fmt::format("{:.6f}", t));
      else if (h == "note" || h == "extra") cells.push_back(pick(2) ? "" : "x y");
      else cells.push_back(fmt::format("{}", 1 + pick(5000)));
    }
    switch (pick(120)) {  // rare faults
      case 0: cells[0] = "abc"; break;
      case 1: cells[1] = "0"; break;
      case 2: cells.pop_back(); break;
      case 3: cells[2] = "-1.5"; break;
      case 4: t = std::max(0.0, t - 10); break;
      case 5: cells[0] = fmt::format("{}", kMaxRequestTokens + 1); break;
      default: break;
    }
    text += fmt::format("{}", fmt::join(cells, ","));
    if (r + 1 < rows || pick(3) != 0) text += eol;
  }
  return text;
}

}  // namespace

TEST(TraceFastPath, UnquotedRowsEqualTheTablePathsOnRandomTraces) {
  const std::string path = ::testing::TempDir() + "/kvsim_trace_fast_path.csv";
  std::mt19937_64 rng(20);
  int read_both = 0;
  int failed_both = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const bool arrivals = trial % 2 == 0;
    const std::string text = random_trace(rng, arrivals);
    const Outcome fast = read(path, text, arrivals);
    const Outcome table = read(path, quoted(text), arrivals);
    expect_same(fast, table, text);
    (fast.error.empty() ? read_both : failed_both) += 1;
  }
  // Both kinds of outcome were compared, many times each.
  EXPECT_GT(read_both, 50);
  EXPECT_GT(failed_both, 50);
}

TEST(TraceFastPath, EdgeCasesReadAsThroughTheTable) {
  const std::string path = ::testing::TempDir() + "/kvsim_trace_fast_path_edges.csv";
  const std::string h = "arrived_at,num_prefill_tokens,num_decode_tokens\n";
  const std::vector<std::string> cases{
      h + "0,1,1", h + "0,1,1\n\n\n1,2,2\n", h, std::string(), h + "0,1,1\r\n1,2,2\r\n",
      h + "0,1,1,\n", h + "1e3,10,10\n", h + "0x1,1,1\n", h + " 1,1,1\n",
      h + "1,1,1\n0.5,1,1\n", "num_prefill_tokens,num_decode_tokens\n3,4\n",
      "arrived_at,num_prefill_tokens\n0,1\n", h + "nan,1,1\n", h + "inf,1,1\n"};
  for (const std::string& text : cases) {
    expect_same(read(path, text, true), read(path, quoted(text), true), text);
  }
  // A carriage return inside a field: quoting would keep it, so the reference here is what
  // parse_csv makes of the unquoted text (it drops it): the fast path leaves such text to it.
  const Outcome stray = read(path, h + "0,1\r2,3\n", true);
  ASSERT_EQ(stray.error, "");
  ASSERT_EQ(stray.rows.size(), 1U);
  EXPECT_EQ(stray.rows[0].prompt, 12);
  EXPECT_EQ(stray.rows[0].output, 3);
}

TEST(VidurTraceFastPath, ShippedTracesReadTheSameBothWays) {
  const std::filesystem::path dir = std::filesystem::path(KVSIM_SOURCE_DIR) / "../shared/data/traces";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no ../shared/data (a user's clone)";
  const std::string path = ::testing::TempDir() + "/kvsim_trace_fast_path_shipped.csv";
  for (const char* name : {"splitwise_conv.csv", "splitwise_code.csv"}) {
    std::stringstream text;
    text << std::ifstream(dir / name, std::ios::binary).rdbuf();
    const Outcome fast = read(path, text.str(), true);
    const Outcome table = read(path, quoted(text.str()), true);
    EXPECT_EQ(fast.error, "") << name;
    EXPECT_GT(fast.rows.size(), 1000U) << name;
    expect_same(fast, table, name);
  }
}

}  // namespace kvsim::serving
