// kvsim plot: text from the CSV or the command line reaches gnuplot only as single-quoted
// strings (never as code), and CSV errors name the file, line and column.
#include "sim/report/plot.hpp"

#include <gtest/gtest.h>

#include "sim/core/input_error.hpp"

namespace kvsim::report {
namespace {

// The script with every single-quoted string removed ('' inside one is an escaped quote);
// fails the test if a line holds an unterminated string.
std::string outside_single_quotes(const std::string& script) {
  std::string out;
  bool quoted = false;
  for (std::size_t i = 0; i < script.size(); ++i) {
    const char c = script[i];
    if (quoted && c == '\'' && i + 1 < script.size() && script[i + 1] == '\'') {
      ++i;
    } else if (c == '\'') {
      quoted = !quoted;
    } else if (c == '\n') {
      EXPECT_FALSE(quoted) << "a string runs past the end of its line in\n" << script;
      quoted = false;
      out += c;
    } else if (!quoted) {
      out += c;
    }
  }
  return out;
}

// Header, cells and group values carrying gnuplot back-quotes, double quotes, newlines,
// semicolons and system() calls.
Table hostile_table() {
  Table t;
  t.columns = {"x", "y`touch PWNED_HEADER`", "g"};
  t.rows = {{"1", "2", "`touch PWNED_GROUP`"},
            {"2", "3", "a\nsystem(\"touch PWNED_NEWLINE\")"},
            {"3", "4", "it's\"; `touch PWNED_QUOTE`; b"},
            {"4", "5", "@macro;\r\nplot 1"}};
  return t;
}

TEST(GnuplotString, DoublesQuotesAndBlanksControlCharacters) {
  EXPECT_EQ(gnuplot_string("it's"), "'it''s'");
  EXPECT_EQ(gnuplot_string("a\nb\r\tc"), "'a b  c'");
  EXPECT_EQ(gnuplot_string("`touch X`; \"y\""), "'`touch X`; \"y\"'");
  EXPECT_EQ(gnuplot_string(""), "''");
}

TEST(GnuplotScript, HostileTextAppearsOnlyInsideSingleQuotedStrings) {
  const Table t = hostile_table();
  PlotSpec lines;
  lines.x = "x";
  lines.y = {t.columns[1]};
  lines.group = "g";
  lines.title = "title `touch PWNED_TITLE`'\"\nsystem('touch PWNED_TITLE2')";
  lines.xlabel = "x'; system(\"touch PWNED_XLABEL\")";
  PlotSpec cdf = lines;
  cdf.kind = "cdf";
  PlotSpec bars = lines;
  bars.kind = "bars";
  bars.x = "g";  // the hostile cells become bar categories
  PlotSpec heatmap = lines;
  heatmap.kind = "heatmap";
  heatmap.x = "g";  // and heat-map categories
  heatmap.y = {"x"};
  heatmap.z = t.columns[1];
  heatmap.group.clear();
  heatmap.marks = {PlotMark{2, std::nullopt, "`touch PWNED_MARK`'\""}};
  lines.marks = heatmap.marks;
  for (const PlotSpec& spec : {lines, cdf, bars}) {
    const std::string code = outside_single_quotes(gnuplot_script(t, spec, "hostile.csv"));
    EXPECT_EQ(code.find('`'), std::string::npos) << spec.kind << ":\n" << code;
    EXPECT_EQ(code.find('"'), std::string::npos) << spec.kind << ":\n" << code;
    EXPECT_EQ(code.find("system"), std::string::npos) << spec.kind << ":\n" << code;
    EXPECT_EQ(code.find("PWNED"), std::string::npos) << spec.kind << ":\n" << code;
  }
  // A heat map's marks must sit on its grid: a mark at x alone is refused before any text.
  EXPECT_THROW(gnuplot_script(t, heatmap, "hostile.csv"), InputError);
  heatmap.marks.clear();
  const std::string code = outside_single_quotes(gnuplot_script(t, heatmap, "hostile.csv"));
  EXPECT_EQ(code.find('`'), std::string::npos) << code;
  EXPECT_EQ(code.find('"'), std::string::npos) << code;
  EXPECT_EQ(code.find("PWNED"), std::string::npos) << code;
}

TEST(GnuplotScript, NotANumberNamesFileLineAndColumn) {
  Table t;
  t.columns = {"x", "y"};
  t.rows = {{"1", "2"}, {"2", "fast"}};
  PlotSpec spec;
  spec.x = "x";
  spec.y = {"y"};
  try {
    gnuplot_script(t, spec, "data.csv");
    FAIL() << "a non-numeric cell was plotted";
  } catch (const InputError& e) {
    // Row 1 (the second data row) is on line 1 + 2 = 3: line 1 is the header.
    EXPECT_STREQ(e.what(), "data.csv: at line 3, column 'y': 'fast' is not a number");
  }
}

TEST(GnuplotScript, UnknownColumnNamesTheHeaderLineAndTheOption) {
  Table t;
  t.columns = {"gpus", "ttft_ms"};
  t.rows = {{"1", "2"}};
  PlotSpec spec;
  spec.x = "gpus";
  spec.y = {"ttft"};
  try {
    gnuplot_script(t, spec, "sweep.csv");
    FAIL() << "an unknown column was plotted";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("sweep.csv: at line 1: no column 'ttft' (named by --y)"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("valid values are: gpus, ttft_ms"), std::string::npos) << message;
  }
}

TEST(GnuplotScript, ColumnWithoutValuesIsAnInputErrorNotAnEmptyPlot) {
  Table t;
  t.columns = {"ttft_s"};
  t.rows = {{""}, {""}};
  PlotSpec spec;
  spec.kind = "cdf";
  spec.x = "ttft_s";
  EXPECT_THROW(gnuplot_script(t, spec, "requests.csv"), InputError);
}


// gnuplot drops zero and negative values from a log axis without a word, and exits non-zero
// (kvsim's exit 3) when none is left: such a cell is refused by name instead.
TEST(GnuplotScript, LogAxisRefusesZeroAndNegativeCellsByLineAndColumn) {
  Table t;
  t.columns = {"point", "comm_ms"};
  t.rows = {{"0", "1.5"}, {"1", "0.000000"}};
  PlotSpec spec;
  spec.x = "point";
  spec.y = {"comm_ms"};
  spec.logy = true;
  try {
    gnuplot_script(t, spec, "sweep.csv");
    FAIL() << "a zero was put on a logarithmic axis";
  } catch (const InputError& e) {
    // Row 1 is on line 1 + 2 = 3.
    EXPECT_STREQ(e.what(),
                 "sweep.csv: at line 3, column 'comm_ms': --logy needs positive values, got "
                 "'0.000000'; drop --logy or the row (--where)");
  }
  spec.logy = false;
  spec.logx = true;  // point 0 on a log x axis
  EXPECT_THROW(gnuplot_script(t, spec, "sweep.csv"), InputError);
  spec.kind = "cdf";
  EXPECT_THROW(gnuplot_script(t, spec, "sweep.csv"), InputError);
}

TEST(GnuplotScript, BarsRefuseALogarithmicCategoryAxis) {
  Table t;
  t.columns = {"context", "ttft_ms"};
  t.rows = {{"1024", "10"}, {"4096", "40"}};
  PlotSpec spec;
  spec.kind = "bars";
  spec.x = "context";
  spec.y = {"ttft_ms"};
  spec.logx = true;
  EXPECT_THROW(gnuplot_script(t, spec, "sweep.csv"), InputError);
  spec.logx = false;
  spec.logy = true;  // positive bars on a log y axis are fine
  EXPECT_NO_THROW(gnuplot_script(t, spec, "sweep.csv"));
}

}  // namespace
}  // namespace kvsim::report
