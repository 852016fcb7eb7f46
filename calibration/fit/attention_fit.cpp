#include "calibration/fit/attention_fit.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "models/compute/attention_grid.hpp"
#include "sim/core/statistics.hpp"

namespace kvsim::calibration {
namespace {

using Points = std::vector<const Measurement*>;
using Predictor = std::function<double(const Operation&)>;
using Fitter = std::function<Predictor(const Points&)>;
using Grouping = std::function<std::int64_t(const Operation&)>;
using Reshape = std::function<Operation(const Operation&)>;

LinearFit fit_rows(const Points& pts, const std::function<std::vector<double>(const Operation&)>& row) {
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  for (const Measurement* m : pts) {
    x.push_back(row(m->op));
    y.push_back(m->seconds);
  }
  return fit_relative(x, y);
}

// The model this replaces: one FLOP rate (prefill) or a per-request cost (decode).
std::vector<double> single_rate_row(const Operation& op) {
  if (op.attention.prefill) return {1.0, op.flops, op.bytes()};
  return {1.0, op.bytes(), static_cast<double>(op.attention.batch)};
}

Predictor fit_single_rate(const Points& pts) {
  const LinearFit f = fit_rows(pts, single_rate_row);
  return [f](const Operation& op) {
    const auto x = single_rate_row(op);
    return std::max(0.0, f.predict({x[0], x[1], x[2]}));
  };
}

Fitter grid_fitter(const GpuSpec& gpu) {
  return [gpu](const Points& pts) {
    const AttentionGridFit f = fit_attention_grid(pts, gpu);
    return Predictor([f](const Operation& op) { return f.predict(op); });
  };
}

// Each point predicted by a fit to the points outside its group, after `reshape` (the point as
// another shape with, by construction, the same measured time).
std::vector<double> leave_group_out(const Points& pts, const Fitter& fit, const Grouping& group,
                                    const Reshape& reshape) {
  std::map<std::int64_t, Points> by_group;
  for (const Measurement* m : pts) by_group[group(m->op)].push_back(m);
  std::vector<double> errors;
  for (const auto& [key, held_out] : by_group) {
    Points train;
    for (const Measurement* m : pts) {
      if (group(m->op) != key) train.push_back(m);
    }
    const Predictor predict = fit(by_group.size() > 1 ? train : pts);
    for (const Measurement* m : held_out) {
      errors.push_back(std::abs(predict(reshape(m->op)) / m->seconds - 1));
    }
  }
  return errors;
}

// The same kernel launch as computed by a shard holding 1/`factor` of the heads: `factor` times
// the requests, each head a block as before. Every block does the same work, so the measured
// time is the shard's (FlashAttention's blocks are independent (request, head) pairs).
Reshape head_split(std::int64_t factor) {
  return [factor](const Operation& op) {
    Operation o = op;
    AttentionShape& a = o.attention;
    a.heads /= factor;
    a.kv_heads = std::max<std::int64_t>(1, a.kv_heads / factor);
    a.batch *= factor;
    a.q_tokens *= factor;
    a.kv_tokens *= factor;
    a.pairs *= factor;
    return o;
  };
}

Operation same(const Operation& op) { return op; }

std::string row(const AttentionCheck& c) {
  return fmt::format("| {} | {} | {:.1f}% | {:.1f}% | {:.1f}% | {:.1f}% |\n", c.name, c.points,
                     100 * c.before_median, 100 * c.before_worst, 100 * c.after_median,
                     100 * c.after_worst);
}

// Checks of one phase: (name, grouping, reshape).
struct Check {
  std::string name;
  Grouping group;
  Reshape reshape = same;
};

void run_checks(const Points& pts, const GpuSpec& gpu, const std::string& phase,
                const std::vector<Check>& checks, std::vector<AttentionCheck>& out) {
  auto worst = [](const std::vector<double>& e) { return *std::max_element(e.begin(), e.end()); };
  const Fitter grid = grid_fitter(gpu);
  for (const Check& c : checks) {
    const auto before = leave_group_out(pts, fit_single_rate, c.group, c.reshape);
    const auto after = leave_group_out(pts, grid, c.group, c.reshape);
    out.push_back({phase, c.name, after.size(), median(before), worst(before), median(after),
                   worst(after)});
  }
}

struct Phases {
  Points prefill;
  Points decode;
};

Phases fused_attention(const std::vector<Measurement>& measurements) {
  Phases p;
  for (const Measurement& m : measurements) {
    if (m.op.op_class != OpClass::kAttention || m.op.kind != OpKind::kAttention) continue;
    (m.op.attention.prefill ? p.prefill : p.decode).push_back(&m);
  }
  return p;
}

std::int64_t cached(const Operation& op) {
  return op.attention.kv_tokens / op.attention.batch - op.attention.q_tokens / op.attention.batch;
}

constexpr const char* kWhatTp1DataChecks = R"(
## What TP1 data can and cannot check

- A decode point of b requests on 32 heads launches exactly the blocks of a 8-head shard (TP4)
  serving 4b requests, or a 4-head shard (TP8) serving 8b, each block the same (request, head)
  pair over the same keys: FlashAttention's blocks do not share work across heads. So the
  measured time is the shard's time, and the twins check a model on the shard shapes the issue
  names, provided the batch sizes it is asked about were not fitted (their group is left out).
  The single rate's per-request term reads the twin as 4 or 8 times the requests and misses.
- The prefill twin (4 requests of the chunk on 8 heads) is the same launch for both models (it
  has the FLOPs and bytes of the 32-head chunk), so it shows only that neither breaks.
- A single request's prefill on a shard of fewer heads has fewer blocks than any measured point
  with the same work per block (a 4-head chunk of 1024 tokens is 64 blocks, split over the keys,
  where every measured 1024-token chunk has 512): TP1 data cannot measure that directly. The
  grid model prices it by the same mechanism (blocks, splits, waves) that the held-out chunk
  sizes (64 and 80 token chunks run 32 blocks, split) and small decode batches exercise; the
  single rate prices it at a quarter or an eighth of the 32-head time whatever the grid.
- Head dimensions other than 128 and grouped-query heads were not measured: the grid follows
  FlashAttention-2's rules for them (tile sizes, folding query heads into rows), unchecked here.
)";

}  // namespace

AttentionGridFit fit_attention_grid(const Points& pts, const GpuSpec& gpu) {
  std::optional<AttentionGridFit> best;
  for (const int ctas : {1, 2}) {
    AttentionGridFit f;
    f.sms = gpu.sm_count;
    f.ctas_per_sm = ctas;
    f.fit = fit_rows(pts, [&](const Operation& op) {
      const auto x = attention_grid_features(op, f.sms, ctas);
      return std::vector<double>(x.begin(), x.end());
    });
    if (!best || f.fit.loo_median < best->fit.loo_median) best = f;
  }
  return *best;
}

std::vector<AttentionCheck> attention_validation(const std::vector<Measurement>& measurements,
                                                 const GpuSpec& gpu) {
  const auto [prefill, decode] = fused_attention(measurements);
  const Grouping all = [](const Operation&) { return std::int64_t{0}; };
  std::vector<AttentionCheck> out;
  if (!prefill.empty()) {
    run_checks(
        prefill, gpu, "prefill",
        {{"in sample", all},
         {"leave one chunk size out", [](const Operation& op) { return op.attention.q_tokens; }},
         {"leave cached context out (bins of 1024 tokens)",
          [](const Operation& op) { return cached(op) / 1024; }},
         {"8-head twin (4 requests of each chunk), chunk size left out",
          [](const Operation& op) { return op.attention.q_tokens; }, head_split(4)}},
        out);
  }
  if (!decode.empty()) {
    const Grouping batch16 = [](const Operation& op) { return (op.attention.batch - 1) / 16; };
    run_checks(
        decode, gpu, "decode",
        {{"in sample", all},
         {"leave batch sizes out (groups of 16)", batch16},
         {"leave context out (32, 2048, 2112 tokens)", cached},
         {"8-head twin (TP4 shard, 4x the requests), batch group left out", batch16,
          head_split(4)},
         {"4-head twin (TP8 shard, 8x the requests), batch group left out", batch16,
          head_split(8)}},
        out);
  }
  return out;
}

std::string attention_validation_markdown(const std::vector<Measurement>& measurements,
                                          const GpuSpec& gpu) {
  const Phases phases = fused_attention(measurements);
  const std::vector<AttentionCheck> checks = attention_validation(measurements, gpu);
  std::string out;
  for (const auto& [phase, pts] : {std::pair{"prefill", &phases.prefill},
                                   std::pair{"decode", &phases.decode}}) {
    if (pts->empty()) continue;
    const AttentionGridFit f = fit_attention_grid(*pts, gpu);
    out += fmt::format("{}## {} ({} points; grid fit: {} blocks per SM on {} SMs)\n\n"
                       "| check | points | single rate: median | worst | grid: median | worst "
                       "|\n|---|---|---|---|---|---|\n",
                       out.empty() ? "" : "\n",
                       std::string(phase) == "prefill" ? "Prefill" : "Decode", pts->size(),
                       f.ctas_per_sm, f.sms);
    for (const AttentionCheck& c : checks) {
      if (c.phase == phase) out += row(c);
    }
  }
  return out + kWhatTp1DataChecks;
}

}  // namespace kvsim::calibration
