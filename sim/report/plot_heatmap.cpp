// kvsim plot --kind heatmap: z over an (x, y) grid as coloured cells (plot_rows.hpp).
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/report/plot_rows.hpp"
#include "sim/report/plot_style.hpp"

namespace kvsim::report::detail {
namespace {

// Cells are labelled with their value up to this many (16 x 16 stays readable at 900 px).
constexpr std::size_t kLabelledCells = 256;

std::optional<double> as_number(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// One axis of the grid. Evenly spaced numbers keep their values as coordinates (a cell as wide
// as the spacing); anything else becomes categories at 0, 1, 2, ... labelled with the values.
class GridAxis {
 public:
  GridAxis(const Rows& rows, int column, bool log) {
    bool numeric = true;
    for (const std::size_t r : rows.kept()) {
      const std::string& cell = rows.cell(r, column);
      const auto v = as_number(cell);
      numeric = numeric && v.has_value();
      if (std::find(names_.begin(), names_.end(), cell) == names_.end()) {
        names_.push_back(cell);
        values_.push_back(v.value_or(0));
      }
    }
    if (numeric) sort_by_value();
    categorical_ = !numeric || log || !evenly_spaced();
  }

  // The coordinate of a cell's text on this axis.
  double at(const std::string& cell) const {
    const auto i = static_cast<std::size_t>(
        std::find(names_.begin(), names_.end(), cell) - names_.begin());
    return categorical_ ? static_cast<double>(i) : values_[i];
  }
  // The coordinate of a number (a --mark) on this axis; nullopt when it is off a category.
  std::optional<double> at(double value) const {
    if (!categorical_) return value;
    for (std::size_t i = 0; i < values_.size(); ++i) {
      if (values_[i] == value && as_number(names_[i])) return static_cast<double>(i);
    }
    return std::nullopt;
  }
  double half_width() const {
    return categorical_ || values_.size() < 2 ? 0.5 : (values_[1] - values_[0]) / 2;
  }
  std::size_t size() const { return names_.size(); }

  std::string commands(std::string_view axis) const {
    const double lo = categorical_ ? 0 : values_.front();
    const double hi = categorical_ ? static_cast<double>(size() - 1) : values_.back();
    std::string out = fmt::format("set {}range [{:.17g}:{:.17g}]\n", axis, lo - half_width(),
                                  hi + half_width());
    if (!categorical_) return out;
    std::vector<std::string> tics;
    for (std::size_t i = 0; i < size(); ++i) {
      tics.push_back(fmt::format("{} {}", gnuplot_string(style::strategy_name(names_[i])), i));
    }
    return out + fmt::format("set {}tics ({}) noenhanced\n", axis, fmt::join(tics, ", "));
  }

 private:
  void sort_by_value() {
    std::vector<std::size_t> order(names_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return values_[a] < values_[b]; });
    std::vector<std::string> names;
    std::vector<double> values;
    for (const std::size_t i : order) {
      names.push_back(names_[i]);
      values.push_back(values_[i]);
    }
    names_ = std::move(names);
    values_ = std::move(values);
  }
  bool evenly_spaced() const {
    if (values_.size() < 3) return true;
    const double gap = values_[1] - values_[0];
    for (std::size_t i = 2; i < values_.size(); ++i) {
      if (std::abs(values_[i] - values_[i - 1] - gap) > 1e-9 * std::abs(gap)) return false;
    }
    return gap > 0;
  }

  std::vector<std::string> names_;  // the distinct cell texts, in axis order
  std::vector<double> values_;      // their numbers (0 for text)
  bool categorical_ = false;
};

void place_marks(const GridAxis& gx, const GridAxis& gy, const Rows& rows,
                 std::vector<PlotMark>& marks) {
  for (PlotMark& m : marks) {
    const auto x = gx.at(m.x);
    const auto y = m.y ? gy.at(*m.y) : std::optional<double>();
    if (!m.y || !x || !y) {
      throw InputError(rows.source(), "",
                       fmt::format("--mark '{}' must give x,y on the heat map's grid (a "
                                   "categorical axis takes one of its values)",
                                   m.label));
    }
    m.x = *x;
    m.y = *y;
  }
}

}  // namespace

std::string heatmap_plot(const Rows& rows, const PlotSpec& spec, int x,
                         std::vector<PlotMark>& marks) {
  if (spec.y.size() != 1 || spec.z.empty()) {
    throw InputError(rows.source(), "", "a heat map needs one --y column and a --z column");
  }
  const int y = rows.column(spec.y.front(), "--y");
  const int z = rows.column(spec.z, "--z");
  const GridAxis gx(rows, x, spec.logx);
  const GridAxis gy(rows, y, spec.logy);
  place_marks(gx, gy, rows, marks);
  std::map<std::pair<double, double>, std::size_t> seen;
  std::vector<double> zs;
  std::string cells = "$cells << EOD\n";
  for (const std::size_t r : rows.kept()) {
    const double cx = gx.at(rows.cell(r, x));
    const double cy = gy.at(rows.cell(r, y));
    if (const auto [it, fresh] = seen.emplace(std::pair{cx, cy}, r); !fresh) {
      throw InputError(rows.source(), fmt::format("lines {} and {}", it->second + 2, r + 2),
                       "both rows fall on the same heat-map cell; keep one with --where");
    }
    zs.push_back(rows.number(r, z));
    cells += fmt::format("{} {} {}\n", cx, cy, zs.back());
  }
  cells += "EOD\n";
  std::string out = fmt::format("set cblabel {} noenhanced\n{}unset key\nset tics out\n",
                                gnuplot_string(style::axis_label(spec.z)),
                                style::heatmap_palette()) +
                    gx.commands("x") + gy.commands("y") + cells;
  std::string plot = fmt::format(
      "plot $cells using 1:2:({}):({}):3 with boxxyerror fs solid 1.0 noborder lc palette",
      gx.half_width(), gy.half_width());
  if (gx.size() * gy.size() <= kLabelledCells) {
    // White text on the dark (low) end of the palette, black on the light end.
    const auto [lo, hi] = std::minmax_element(zs.begin(), zs.end());
    const double middle = *lo + 0.55 * (*hi - *lo);
    plot += fmt::format(
        ", \\\n     $cells using 1:2:(sprintf('%.3g', $3)):($3 < {:.17g} ? 16777215 : 0) "
        "with labels tc rgb variable notitle",
        middle);
  }
  return out + plot + "\n";
}

}  // namespace kvsim::report::detail
