#include "sim/serving/speculative/spec_step.hpp"

#include <numeric>

#include <fmt/format.h>

#include "sim/core/event_queue.hpp"
#include "sim/serving/decode_step.hpp"
#include "sim/serving/speculative/pass_cost.hpp"

namespace kvsim::serving::speculative {

const Json* decode_drafter_json(const Scenario& s) {
  const auto decode = s.resolved.find("decode");
  if (!s.decode || decode == s.resolved.end()) return nullptr;
  const auto drafter = decode->find("drafter");
  return drafter == decode->end() ? nullptr : &*drafter;
}

std::unique_ptr<Drafter> decode_drafter(const Scenario& s) {
  const DecodeSpec& d = *s.decode;
  const ConfigNode node(decode_drafter_json(s), s.file, Json::json_pointer("/decode/drafter"));
  if (d.pipeline_parallel > 1) {
    node.fail("speculative decoding with pipeline_parallel above 1 is not modelled: give "
              "pipeline_parallel 1");
  }
  return drafters().create(node, s);
}

SpeculativeStep speculative_step(const Scenario& s, const Drafter& drafter) {
  const DecodeSpec& d = *s.decode;
  const auto batch = static_cast<std::size_t>(d.batch_size);
  SpeculativeStep out;
  const std::vector<std::int64_t> lengths(batch, d.context_tokens);
  out.plain = decode_step(s, d.tensor_parallel, 1, lengths).total;

  EventQueue queue;  // closed-form communication schedules nothing on it
  Communication comm(s, false, queue);
  std::vector<int> gpus(static_cast<std::size_t>(d.tensor_parallel));
  std::iota(gpus.begin(), gpus.end(), 0);
  DraftWork work;
  work.contexts.assign(batch, d.context_tokens);  // KV length at the first draft pass
  work.drafts.assign(batch, drafter.k());
  out.draft = drafter.draft_time(work, gpus, comm);

  // The verify pass: each sequence's last token and its drafts, after context - 1 cached.
  out.verify_tokens = drafter.verify_tokens(drafter.k());
  const std::vector<Chunk> verifies(
      batch, Chunk{out.verify_tokens, d.context_tokens - 1 + out.verify_tokens});
  IterationShape shape;
  shape.emitting = out.verify_tokens * d.batch_size;
  const IterationCompute compute =
      price_pass(s, s.model, d.tensor_parallel, shape, 0, verifies, d.expert_degree());
  out.verify = pass_time(compute, static_cast<int>(s.model.layers), true, gpus,
                         pass_rows(shape, verifies), comm);

  out.tokens_per_step = drafter.acceptance().expected_tokens(drafter.k());
  out.tpot_s = to_seconds(out.draft + out.verify) / out.tokens_per_step;
  out.speedup = to_seconds(out.plain) / out.tpot_s;
  const double c = to_seconds(out.draft) / static_cast<double>(drafter.k()) /
                   to_seconds(out.plain);
  out.leviathan_speedup = out.tokens_per_step / (static_cast<double>(drafter.k()) * c + 1);
  return out;
}

std::optional<std::string> drafter_memory_warning(const Scenario& s, const Drafter& drafter) {
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  const DecodeSpec& d = *s.decode;
  const LlmSpec& m = s.model;
  const std::int64_t tp = d.tensor_parallel;
  const std::int64_t rank_kv_heads = m.kv_heads >= tp ? m.kv_heads / tp : 1;
  const double tokens = static_cast<double>(d.batch_size * d.context_tokens);
  const double target = m.weight_bytes(s.precision.weights) / static_cast<double>(tp) +
                        m.kv_bytes_per_token(s.precision.kv_cache) *
                            static_cast<double>(rank_kv_heads) /
                            static_cast<double>(m.kv_heads) * tokens;
  const DrafterMemory dm = drafter.memory(tp);
  const double with = target + dm.weight_bytes + dm.kv_bytes_per_token * tokens;
  const double usable = s.gpu.hbm_bytes * s.memory_utilization;
  if (target > usable || with <= usable) return std::nullopt;
  return fmt::format(
      "{}: at /decode/drafter: the {} drafter's weights {:.2f} GiB and KV cache {:.2f} GiB do "
      "not fit beside the target's {:.2f} GiB on the fullest GPU ({:.2f} GiB usable); the "
      "speculative step is priced as if they did: give a smaller batch_size or context_tokens",
      s.file, drafter.name(), dm.weight_bytes / kGiB, dm.kv_bytes_per_token * tokens / kGiB,
      target / kGiB, usable / kGiB);
}

Json to_json(const SpeculativeStep& step) {
  return {{"plain_step_ns", step.plain.count()},
          {"draft_ns", step.draft.count()},
          {"verify_ns", step.verify.count()},
          {"verify_tokens_per_sequence", step.verify_tokens},
          {"expected_tokens_per_step", step.tokens_per_step},
          {"tpot_s", step.tpot_s},
          {"speedup", step.speedup},
          {"leviathan_speedup", step.leviathan_speedup}};
}

}  // namespace kvsim::serving::speculative
