// `kvsim cost layer` and `kvsim cost pass`: a layer or a forward pass on one GPU of a
// tensor-parallel group, priced by serving's IterationCost (the blocks a TP replica runs) and
// Communication (its closed-form all-reduce), with the kernels those blocks are made of listed
// beside them so each number can be audited.
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/units.hpp"
#include "sim/report/cost_query.hpp"
#include "sim/report/cost_lines.hpp"
#include "sim/serving/communication.hpp"
#include "sim/serving/iteration_cost.hpp"

namespace kvsim::report {
namespace {

// As IterationCost splits a layer: the attention stage (attention proper, eager attention's
// softmax, latent attention's per-sequence GEMMs) is priced per sequence; every other kernel
// once over all the iteration's tokens.
bool attention_part(const Operation& op) { return op.stage == LayerStage::kAttention; }

serving::IterationShape iteration_shape(const PassQuery& q) {
  serving::IterationShape shape;
  for (std::int64_t b = 0; b < q.batch; ++b) {
    if (q.decode) {
      shape.decodes.push_back(q.context + 1);  // the KV length includes the new token
    } else {
      shape.prefills.emplace_back(q.tokens, q.context + q.tokens);
    }
  }
  shape.emitting = q.batch;
  return shape;
}

struct Priced {
  serving::IterationShape shape;
  serving::IterationCompute compute;  // seconds per GPU, from IterationCost
  Duration all_reduce{0};             // one all-reduce of the iteration's hidden states
  std::vector<Operation> linear;      // one layer's kernels over all tokens
  std::vector<Operation> attention;   // one layer's attention kernels, one sequence's (prefill)
                                      // or the batch's (decode)
  DecomposeOptions options;
};

Priced price(const Scenario& s, const PassQuery& q) {
  Priced p;
  const auto tp = static_cast<std::int64_t>(q.gpus.size());
  p.shape = iteration_shape(q);
  serving::IterationCost cost(s, tp);
  p.compute = cost(p.shape);
  if (tp > 1) {
    EventQueue unused;  // closed form: no flows
    serving::Communication communication(s, false, unused);
    p.all_reduce = communication.all_reduce(q.gpus, p.shape.tokens());
  }
  p.options = s.decompose_options(tp);
  const std::int64_t t = p.shape.tokens();
  for (const Operation& op : prefill_layer(s.model, PrefillChunk{t, t, Mask::kCausal}, p.options)) {
    if (!attention_part(op)) p.linear.push_back(op);
  }
  const auto ops = q.decode ? decode_layer(s.model, p.shape.decodes, p.options)
                            : prefill_layer(s.model, PrefillChunk{q.tokens, q.context + q.tokens,
                                                                   Mask::kCausal},
                                            p.options);
  for (const Operation& op : ops) {
    if (attention_part(op)) p.attention.push_back(op);
  }
  return p;
}

// One layer's kernel lines, `layers` times each.
std::vector<CostLine> kernel_lines(const Scenario& s, const PassQuery& q, const Priced& p,
                                   std::int64_t layers) {
  std::vector<CostLine> lines;
  const std::int64_t per_sequence = q.decode ? 1 : q.batch;
  bool attended = false;
  for (const Operation& op : p.linear) {
    if (!attended && op.stage != LayerStage::kPreAttention) {  // in layer order
      for (const Operation& a : p.attention) {
        lines.push_back(op_line(*s.compute, a, layers * per_sequence));
      }
      attended = true;
    }
    lines.push_back(op_line(*s.compute, op, layers));
  }
  return lines;
}

// The all-reduces of `layers` layers (none on one GPU).
void add_communication(std::vector<CostLine>& lines, const Scenario& s, const Priced& p,
                       std::int64_t layers) {
  if (p.all_reduce == Duration{0}) return;
  const auto blocks = static_cast<std::int64_t>(p.compute.layer_blocks.size());
  const double bytes = static_cast<double>(p.shape.tokens() * s.model.hidden_size) *
                       bytes_of(s.precision.activations);
  const std::int64_t calls = layers * blocks;
  lines.push_back(CostLine{"all-reduce", fmt::format("{} tokens x {} x {} GPUs",
                                                     p.shape.tokens(), s.model.hidden_size,
                                                     p.options.tensor_parallel),
                           calls, 0, bytes * static_cast<double>(calls),
                           to_seconds(p.all_reduce) * static_cast<double>(calls),
                           "closed form (serving's TP all-reduce), alone on the network"});
}

// What IterationCost charges beyond the listed kernels (an engine model's launches, fusion,
// attention scaling); nothing today. Shown rather than hidden, so the lines add up.
void add_remainder(std::vector<CostLine>& lines, double total, double kernels,
                   std::int64_t calls) {
  if (std::abs(total - kernels) <= 1e-9) return;  // within a nanosecond: rounding only
  lines.push_back(CostLine{"not-in-kernels", "IterationCost minus the kernel lines", calls, 0, 0,
                           total - kernels, "engine model"});
}

std::string describe(const Scenario& s, const PassQuery& q) {
  const std::string work =
      q.decode ? fmt::format("decode step of {} sequence(s) at {} KV tokens each ({} cached + 1)",
                             q.batch, q.context + 1, q.context)
               : fmt::format("prefill of {} sequence(s) of {} tokens after {} cached", q.batch,
                             q.tokens, q.context);
  return fmt::format("{}, {}, one GPU of TP {} (GPUs {})", s.model.name, work, q.gpus.size(),
                     fmt::join(q.gpus, ","));
}

std::string block_note(const Priced& p) {
  std::string out = "per layer, as a TP replica runs it: ";
  const char* names[] = {"attention block (to the output projection)", "MLP block"};
  for (std::size_t b = 0; b < p.compute.layer_blocks.size(); ++b) {
    out += fmt::format("{}{} {:.3f} us", b > 0 ? " + " : "",
                       p.compute.layer_blocks.size() == 1 ? "parallel attention+MLP block"
                                                          : names[b],
                       p.compute.layer_blocks[b] * 1e6);
    if (p.all_reduce > Duration{0}) out += fmt::format(" + all-reduce {:.3f} us", to_us(p.all_reduce));
  }
  return out;
}

}  // namespace

CostReport price_layer(const Scenario& s, const PassQuery& q) {
  const Priced p = price(s, q);
  CostReport r;
  r.command = "layer";
  r.what = "one layer: " + describe(s, q);
  r.priced_by = s.compute->describe();
  r.lines = kernel_lines(s, q, p, 1);
  add_remainder(r.lines, p.compute.layer(), lines_seconds(r.lines), 1);
  add_communication(r.lines, s, p, 1);
  const auto blocks = static_cast<double>(p.compute.layer_blocks.size());
  r.seconds = p.compute.layer() + blocks * to_seconds(p.all_reduce);
  r.notes.push_back(block_note(p));
  return r;
}

CostReport price_pass(const Scenario& s, const PassQuery& q) {
  const Priced p = price(s, q);
  const std::int64_t layers = s.model.layers;
  CostReport r;
  r.command = "pass";
  r.what = "forward pass: " + describe(s, q);
  r.priced_by = s.compute->describe();
  const auto first = model_ends(s.model, p.shape.tokens(), 1, p.options);
  const auto last = model_ends(s.model, 1, p.shape.emitting, p.options);
  r.lines.push_back(op_line(*s.compute, first.front(), 1));
  for (CostLine& l : kernel_lines(s, q, p, layers)) r.lines.push_back(std::move(l));
  for (std::size_t i = 1; i < last.size(); ++i) r.lines.push_back(op_line(*s.compute, last[i], 1));
  const double compute = p.compute.embedding +
                         p.compute.layer() * static_cast<double>(layers) + p.compute.head;
  add_remainder(r.lines, compute, lines_seconds(r.lines), 1);
  add_communication(r.lines, s, p, layers);
  // As a TP replica's stage: compute rounded once to the nanosecond, plus every all-reduce.
  const auto all_reduces = layers * static_cast<std::int64_t>(p.compute.layer_blocks.size());
  r.seconds = to_seconds(from_seconds(compute) + all_reduces * p.all_reduce);
  r.notes.push_back(block_note(p));
  r.notes.push_back(fmt::format("{} layers; the serving section's host_overhead is not included",
                                layers));
  return r;
}

}  // namespace kvsim::report
