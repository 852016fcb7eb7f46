#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <Eigen/Dense>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "calibration/fit/calibration.hpp"
#include "sim/core/statistics.hpp"

namespace kvsim::calibration {
namespace {

// Leave-one-out error of linear interpolation: each interior point predicted from its
// neighbours.
std::pair<double, double> interpolation_loo(const std::vector<MeasuredPoint>& pts) {
  std::vector<double> errors;
  for (std::size_t i = 1; i + 1 < pts.size(); ++i) {
    const MeasuredPoint& a = pts[i - 1];
    const MeasuredPoint& b = pts[i + 1];
    const double t = static_cast<double>(pts[i].m - a.m) / static_cast<double>(b.m - a.m);
    const double predicted = a.seconds + t * (b.seconds - a.seconds);
    errors.push_back(std::abs(predicted / pts[i].seconds - 1));
  }
  if (errors.empty()) return {0, 0};
  return {median(errors), *std::max_element(errors.begin(), errors.end())};
}

// Pool adjacent violators: the closest non-decreasing sequence (least squares) to measured
// times that noise made dip (a kernel is never faster on more tokens).
void make_monotone(std::vector<MeasuredPoint>& pts) {
  struct Block {
    double sum;
    std::size_t count;
  };
  std::vector<Block> blocks;
  for (const auto& p : pts) {
    blocks.push_back({p.seconds, 1});
    while (blocks.size() > 1) {
      const Block& b = blocks.back();
      const Block& a = blocks[blocks.size() - 2];
      if (a.sum / static_cast<double>(a.count) <= b.sum / static_cast<double>(b.count)) break;
      const Block merged{a.sum + b.sum, a.count + b.count};
      blocks.pop_back();
      blocks.back() = merged;
    }
  }
  std::size_t i = 0;
  for (const Block& b : blocks) {
    for (std::size_t j = 0; j < b.count; ++j) pts[i++].seconds = b.sum / static_cast<double>(b.count);
  }
}

Json fit_json(const LinearFit& f) {
  return Json{{"points", f.points},
              {"loo_median_relative_error", f.loo_median},
              {"loo_worst_relative_error", f.loo_worst}};
}

}  // namespace

namespace {

LinearFit fit_unconstrained(const std::vector<std::vector<double>>& features,
                            const std::vector<double>& seconds);

}  // namespace

// Every term is a cost (a launch, a rate): none may be negative. Fit, and while a coefficient
// is negative drop the most negative term and fit again (an active-set non-negative fit).
LinearFit fit_relative(const std::vector<std::vector<double>>& features,
                       const std::vector<double>& seconds) {
  const std::size_t k = features.empty() ? 0 : features.front().size();
  std::vector<bool> active(k, true);
  for (;;) {
    std::vector<std::vector<double>> x;
    for (const auto& row : features) {
      std::vector<double> r;
      for (std::size_t j = 0; j < k; ++j) {
        if (active[j]) r.push_back(row[j]);
      }
      x.push_back(std::move(r));
    }
    LinearFit f = fit_unconstrained(x, seconds);
    std::vector<double> full(k, 0.0);
    std::size_t next = 0;
    std::size_t worst = k;
    for (std::size_t j = 0; j < k; ++j) {
      if (!active[j]) continue;
      full[j] = f.coefficients[next++];
      if (full[j] < 0 && (worst == k || full[j] < full[worst])) worst = j;
    }
    f.coefficients = full;
    if (worst == k) return f;
    active[worst] = false;
  }
}

namespace {

LinearFit fit_unconstrained(const std::vector<std::vector<double>>& features,
                            const std::vector<double>& seconds) {
  const auto n = static_cast<Eigen::Index>(features.size());
  const auto k = static_cast<Eigen::Index>(features.empty() ? 0 : features.front().size());
  LinearFit out;
  out.points = features.size();
  out.coefficients.assign(static_cast<std::size_t>(k), 0.0);
  if (n == 0) return out;
  // Rows divided by the measured time: least squares on relative error. Columns scaled to unit
  // norm first so FLOPs (1e12) and launch terms (1) condition well together.
  Eigen::MatrixXd a(n, k);
  Eigen::VectorXd y = Eigen::VectorXd::Ones(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < k; ++j) {
      a(i, j) = features[i][j] / seconds[i];
    }
  }
  Eigen::VectorXd scale = a.colwise().norm().transpose();
  for (Eigen::Index j = 0; j < k; ++j) {
    if (scale(j) == 0) scale(j) = 1;
    a.col(j) /= scale(j);
  }
  const Eigen::MatrixXd normal = a.transpose() * a +
                                 1e-10 * Eigen::MatrixXd::Identity(k, k);
  const Eigen::LDLT<Eigen::MatrixXd> solver(normal);
  const Eigen::VectorXd beta = solver.solve(a.transpose() * y);
  for (Eigen::Index j = 0; j < k; ++j) out.coefficients[j] = beta(j) / scale(j);
  // Leave-one-out residuals: r_i / (1 - h_ii), h the hat matrix's diagonal.
  const Eigen::VectorXd residual = a * beta - y;
  const Eigen::MatrixXd inverse = solver.solve(Eigen::MatrixXd::Identity(k, k));
  std::vector<double> loo;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double h = a.row(i) * inverse * a.row(i).transpose();
    loo.push_back(std::abs(residual(i) / std::max(1e-9, 1 - h)));
  }
  out.loo_median = median(loo);
  out.loo_worst = *std::max_element(loo.begin(), loo.end());
  return out;
}

}  // namespace

DeviceProfile fit_profile(const std::vector<Measurement>& measurements, const GpuSpec& gpu,
                          const ProfileInfo& info) {
  DeviceProfile p;
  p.name = info.name;
  p.gpu = gpu.name;
  p.provenance = info.provenance;

  // Tables: the mean of repeated measurements of one shape at one token count.
  std::map<ShapeKey, std::map<std::int64_t, std::vector<double>>> grouped;
  std::vector<const Measurement*> gemms;
  std::vector<const Measurement*> elementwise;
  std::vector<const Measurement*> prefill_attention;
  std::vector<const Measurement*> decode_attention;
  for (const Measurement& m : measurements) {
    if (const auto key = ShapeKey::of(m.op)) grouped[*key][m.op.rows].push_back(m.seconds);
    switch (m.op.op_class) {
      case OpClass::kGemm: gemms.push_back(&m); break;
      case OpClass::kElementwise: elementwise.push_back(&m); break;
      case OpClass::kAttention:
        (m.op.attention.prefill ? prefill_attention : decode_attention).push_back(&m);
        break;
    }
  }
  Json tables = Json::array();
  for (const auto& [key, by_m] : grouped) {
    std::vector<MeasuredPoint> pts;
    for (const auto& [m, values] : by_m) {
      double sum = 0;
      for (const double v : values) sum += v;
      pts.push_back({m, sum / static_cast<double>(values.size())});
    }
    const auto [loo_median, loo_worst] = interpolation_loo(pts);
    make_monotone(pts);
    tables.push_back({{"shape", key.describe()},
                      {"points", pts.size()},
                      {"interpolation_loo_median", loo_median},
                      {"interpolation_loo_worst", loo_worst}});
    p.tables[key] = std::move(pts);
  }

  Json fits = Json::object();
  if (!gemms.empty()) {
    const GemmFit best = fit_gemm(gemms, gpu, true);
    p.gemm = best;
    fits["gemm"] = fit_json(best.fit);
    fits["gemm"]["tile"] = fmt::format("{}x{}", best.tile_m, best.tile_n);
    if (best.max_split > 1) {
      fits["gemm"]["tile"] = fmt::format("{}x{}, split-K up to {} with k/s >= {}", best.tile_m,
                                         best.tile_n, best.max_split, best.min_k_slice);
    }
  }
  auto fit_simple = [](const std::vector<const Measurement*>& ms, bool with_flops) {
    std::vector<std::vector<double>> x;
    std::vector<double> y;
    for (const Measurement* m : ms) {
      x.push_back(with_flops ? std::vector<double>{1.0, m->op.flops, m->op.bytes()}
                             : std::vector<double>{1.0, m->op.bytes()});
      y.push_back(m->seconds);
    }
    return fit_relative(x, y);
  };
  if (!elementwise.empty()) {
    p.elementwise = fit_simple(elementwise, false);
    fits["elementwise (all kinds)"] = fit_json(*p.elementwise);
    std::map<OpKind, std::vector<const Measurement*>> by_kind;
    for (const Measurement* m : elementwise) by_kind[m->op.kind].push_back(m);
    for (const auto& [kind, ms] : by_kind) {
      p.elementwise_by_kind[kind] = fit_simple(ms, false);
      fits["elementwise " + to_string(kind)] = fit_json(p.elementwise_by_kind[kind]);
    }
  }
  Json shapes = Json::array();
  auto range = [&](const std::vector<const Measurement*>& ms) {
    std::int64_t q = 0;
    std::int64_t kv = 0;
    for (const Measurement* m : ms) {
      q = std::max(q, m->op.attention.q_tokens);
      kv = std::max(kv, m->op.attention.kv_tokens);
      const Json s{{"heads", m->op.attention.heads},
                   {"kv_heads", m->op.attention.kv_heads},
                   {"head_dim", m->op.attention.head_dim}};
      if (std::find(shapes.begin(), shapes.end(), s) == shapes.end()) shapes.push_back(s);
    }
    return Json{{"max_q_tokens", q}, {"max_kv_tokens", kv}, {"points", ms.size()}};
  };
  p.attention_range = Json::object();
  if (!prefill_attention.empty()) {
    p.attention_prefill = fit_simple(prefill_attention, true);
    fits["attention_prefill"] = fit_json(*p.attention_prefill);
    p.attention_range["prefill"] = range(prefill_attention);
  }
  if (!decode_attention.empty()) {
    std::vector<std::vector<double>> x;
    std::vector<double> y;
    for (const Measurement* m : decode_attention) {
      x.push_back({1.0, m->op.bytes(), static_cast<double>(m->op.attention.batch)});
      y.push_back(m->seconds);
    }
    p.attention_decode = fit_relative(x, y);
    fits["attention_decode"] = fit_json(*p.attention_decode);
    p.attention_range["decode"] = range(decode_attention);
  }
  p.attention_range["shapes"] = shapes;
  p.attention_range["kernels"] = Json::object();
  for (const auto& [phase, ms] : {std::pair{"prefill", &prefill_attention},
                                  std::pair{"decode", &decode_attention}}) {
    std::set<std::string> kernels;
    for (const Measurement* m : *ms) kernels.insert(m->kernel);
    if (kernels.size() > 1) {
      throw InputError(ms->front()->source, "",
                       fmt::format("the {} attention measurements mix kernels ({}); a profile "
                                   "describes one: calibrate from one kernel's file",
                                   phase, fmt::join(kernels, ", ")));
    }
    if (!kernels.empty()) p.attention_range["kernels"][phase] = *kernels.begin();
  }
  p.report = Json{{"measurements", measurements.size()}, {"fits", fits}, {"tables", tables}};
  return p;
}

std::string fit_report_markdown(const DeviceProfile& p) {
  std::string out = fmt::format("# Device profile `{}` ({})\n\n", p.name, p.gpu);
  out += fmt::format("{} measurements. Source: {}\n\n", p.report.value("measurements", 0),
                     p.provenance.value("source", "unknown"));
  out += "## Fitted models (leave-one-out relative error)\n\n| model | points | median | worst "
         "|\n|---|---|---|---|\n";
  for (const auto& [name, f] : p.report["fits"].items()) {
    out += fmt::format("| {}{} | {} | {:.2f}% | {:.2f}% |\n", name,
                       f.contains("tile") ? fmt::format(" (tile {})", f["tile"].get<std::string>())
                                          : "",
                       f["points"].get<std::size_t>(),
                       100 * f["loo_median_relative_error"].get<double>(),
                       100 * f["loo_worst_relative_error"].get<double>());
  }
  out += "\n## Tables (leave-one-out error of interpolating each interior point from its "
         "neighbours)\n\n| shape | points | median | worst |\n|---|---|---|---|\n";
  for (const Json& t : p.report["tables"]) {
    out += fmt::format("| {} | {} | {:.2f}% | {:.2f}% |\n", t["shape"].get<std::string>(),
                       t["points"].get<std::size_t>(),
                       100 * t["interpolation_loo_median"].get<double>(),
                       100 * t["interpolation_loo_worst"].get<double>());
  }
  return out;
}

}  // namespace kvsim::calibration
