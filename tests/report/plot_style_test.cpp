// Figures read as the paper does: strategy names and units on legends and axes, ticks a person
// would write, and heat maps whose cells are readable whatever the grid's spacing.
#include "sim/report/plot_style.hpp"

#include <gtest/gtest.h>

#include "sim/core/input_error.hpp"
#include "sim/report/plot.hpp"

namespace kvsim::report {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(PlotStyle, NamesStrategiesAndMetricsWithTheirUnits) {
  EXPECT_EQ(style::strategy_name("kvr/search"), "KVR-S");
  EXPECT_EQ(style::strategy_name("kvr/even"), "KVR-E");
  EXPECT_EQ(style::strategy_name("kvr/predicted"), "KVR-P");
  EXPECT_EQ(style::strategy_name("tsp"), "TSP");
  EXPECT_EQ(style::strategy_name("vllm"), "vllm");  // unknown: as written
  EXPECT_EQ(style::metric_label("ttft_p99_ms"), "TTFT p99 (ms)");
  EXPECT_EQ(style::metric_label("e2e_latency_mean_ms"), "end-to-end latency mean (ms)");
  EXPECT_EQ(style::metric_label("context"), "context (tokens)");
  EXPECT_EQ(style::metric_label("ms"), "ms");  // a lone unit is a name, not a unit
  EXPECT_EQ(style::axis_label("serve.goodput"), "goodput (requests/s)");
  EXPECT_EQ(style::axis_label("kvr/even.speedup"), "KVR-E speed-up");
}

TEST(PlotStyle, LegendsNameStrategiesWhenTheMetricIsShared) {
  const std::vector<std::string> same{"tsp.ttft_ms", "kvr/search.ttft_ms"};
  EXPECT_EQ(style::series_labels(same), (std::vector<std::string>{"TSP", "KVR-S"}));
  EXPECT_EQ(style::shared_axis_label(same), "TTFT (ms)");
  const std::vector<std::string> mixed{"kvr/even.ttft_ms", "kvr/even.speedup"};
  EXPECT_EQ(style::series_labels(mixed),
            (std::vector<std::string>{"KVR-E TTFT (ms)", "KVR-E speed-up"}));
  EXPECT_EQ(style::shared_axis_label(mixed), "");
}

TEST(PlotStyle, TokenCountsTickAtPowersOfTwoAndTimesAtOneTwoFive) {
  EXPECT_TRUE(contains(style::log_axis("x", {1024, 12288, 16384}),
                       "set logscale x 2\nset xrange [1023.998976:16384.01638]\n"
                       "set xtics ('1024' 1024, '2048' 2048, '4096' 4096, '8192' 8192, "
                       "'16384' 16384)"));
  // 0.013 s .. 310 s spans more than four decades: ticks at powers of ten only.
  EXPECT_TRUE(contains(style::log_axis("x", {0.013, 310}),
                       "set xtics ('0.01' 0.01, '0.1' 0.10000000000000001, '1' 1, '10' 10, "
                       "'100' 100, '1000' 1000)"));
  // 12 ms .. 230 ms: 1, 2, 5 per decade, from the tick below to the tick above.
  EXPECT_TRUE(contains(style::log_axis("y", {12, 230}),
                       "set yrange [9.99999:500.0005]\nset ytics ('10' 10, '20' 20, '50' 50, "
                       "'100' 100, '200' 200, '500' 500)"));
}

Table grid(const std::vector<std::string>& xs, const std::vector<std::string>& ys) {
  Table t;
  t.columns = {"context", "gpus", "speedup"};
  double z = 1;
  for (const auto& y : ys) {
    for (const auto& x : xs) t.rows.push_back({x, y, std::to_string(z += 0.25)});
  }
  return t;
}

PlotSpec heatmap() {
  PlotSpec spec;
  spec.kind = "heatmap";
  spec.x = "context";
  spec.y = {"gpus"};
  spec.z = "speedup";
  return spec;
}

TEST(PlotHeatmap, UnevenGridsBecomeLabelledEqualCells) {
  // 1k..16k tokens: a numeric axis would make the 1k cells 1/15 of the 16k gap (mostly white).
  const Table t = grid({"1024", "4096", "16384"}, {"2", "4", "8"});
  const std::string script = gnuplot_script(t, heatmap(), "sweep.csv");
  EXPECT_TRUE(contains(script, "set xrange [-0.5:2.5]\nset xtics ('1024' 0, '4096' 1, '16384' 2)"))
      << script;
  EXPECT_TRUE(contains(script, "set ytics ('2' 0, '4' 1, '8' 2)")) << script;
  EXPECT_TRUE(contains(script, "with labels tc rgb variable")) << script;  // 9 cells: labelled
  EXPECT_TRUE(contains(script, "set cblabel 'speed-up'")) << script;
}

TEST(PlotHeatmap, EvenGridsKeepTheirValuesAndMarksSitOnThem) {
  const Table t = grid({"128", "256", "384"}, {"512", "640"});
  PlotSpec spec = heatmap();
  spec.marks = {PlotMark{256, 640, "KVR-S"}};
  const std::string script = gnuplot_script(t, spec, "landscape.csv");
  EXPECT_TRUE(contains(script, "set xrange [64:448]")) << script;
  EXPECT_FALSE(contains(script, "set xtics (")) << script;
  EXPECT_TRUE(contains(script, "set label 'KVR-S' at 256,640 point")) << script;
}

TEST(PlotHeatmap, MarksOnCategoriesMoveToTheirCellAndOffGridMarksAreRefused) {
  const Table t = grid({"1024", "4096", "16384"}, {"2", "4", "8"});
  PlotSpec spec = heatmap();
  spec.marks = {PlotMark{4096, 8, "here"}};
  EXPECT_TRUE(contains(gnuplot_script(t, spec, "sweep.csv"), "set label 'here' at 1,2 point"));
  spec.marks = {PlotMark{2048, 8, "off"}};
  EXPECT_THROW(gnuplot_script(t, spec, "sweep.csv"), InputError);
}

TEST(PlotHeatmap, TwoRowsOnOneCellAreAnErrorNamingBothLines) {
  Table t = grid({"1024", "4096"}, {"2"});
  t.rows.push_back({"4096", "2", "9"});
  try {
    gnuplot_script(t, heatmap(), "sweep.csv");
    FAIL() << "overlapping cells were drawn";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "sweep.csv: at lines 3 and 4: both rows fall on the same "
                                   "heat-map cell"))
        << e.what();
  }
}

TEST(PlotMarks, ParsesPointsAndLinesAndRefusesAnythingElse) {
  const PlotMark line = parse_mark("5461=KVR-E", "l.csv");
  EXPECT_EQ(line.x, 5461);
  EXPECT_FALSE(line.y.has_value());
  EXPECT_EQ(line.label, "KVR-E");
  const PlotMark point = parse_mark("7168,12288=KVR-S = best", "l.csv");
  EXPECT_EQ(*point.y, 12288);
  EXPECT_EQ(point.label, "KVR-S = best");
  for (const char* bad : {"KVR-S", "=x", "1,=x", "a=x", "1=", "1,2,3=x", "inf=x"}) {
    EXPECT_THROW(parse_mark(bad, "l.csv"), InputError) << bad;
  }
}

}  // namespace
}  // namespace kvsim::report
