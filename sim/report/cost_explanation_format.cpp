// `kvsim run --explain-costs`'s per-strategy shard tables and their JSON (`cost_explanation`).
#include <fmt/format.h>

#include "sim/report/cost_explanation.hpp"

namespace kvsim::report {
namespace {

std::string process_row(const ProcessShard& p) {
  const std::string weights =
      p.tensor_parallel == 1 ? std::string("whole") : fmt::format("1/{}", p.tensor_parallel);
  return fmt::format("  {:>4} {:>9} {:>9} {:>9} {:<7} {:>9} {:>7} {:>11.3f} {:>11.3f} "
                     "{:>11.3f} {:>11.3f}  {}\n",
                     p.gpu, p.queries, p.first_token, p.keys, p.mask,
                     fmt::format("{}/{}", p.heads, p.kv_heads), weights, to_us(p.qkv),
                     to_us(p.attention), to_us(p.rest), to_us(p.communication),
                     p.communication_what);
}

}  // namespace

std::string CostExplanation::text() const {
  if (strategies.empty()) return {};
  std::string out = "\nPer-GPU shards and per-layer stage costs (communication in closed form, "
                    "alone on the network):\n";
  for (const StrategyCosts& s : strategies) {
    out += fmt::format("{}: {}\n", s.label, s.how);
    if (s.processes.empty()) continue;
    out += fmt::format("  embedding {:.3f} us, LM head and sampling {:.3f} us; per layer:\n",
                       to_us(s.embedding), to_us(s.head));
    out += fmt::format("  {:>4} {:>9} {:>9} {:>9} {:<7} {:>9} {:>7} {:>11} {:>11} {:>11} {:>11}  "
                       "{}\n",
                       "gpu", "queries", "from", "keys", "mask", "heads", "weights", "qkv us",
                       "attn us", "rest us", "comm us", "communication");
    for (const ProcessShard& p : s.processes) out += process_row(p);
    for (const std::string& n : s.notes) out += fmt::format("  {}\n", n);
  }
  return out;
}

Json CostExplanation::json() const {
  Json out = Json::array();
  for (const StrategyCosts& s : strategies) {
    Json processes = Json::array();
    for (const ProcessShard& p : s.processes) {
      processes.push_back(Json{{"gpu", p.gpu},
                               {"queries", p.queries},
                               {"first_token", p.first_token},
                               {"keys", p.keys},
                               {"mask", p.mask},
                               {"heads", p.heads},
                               {"kv_heads", p.kv_heads},
                               {"tensor_parallel", p.tensor_parallel},
                               {"qkv_seconds", to_seconds(p.qkv)},
                               {"attention_seconds", to_seconds(p.attention)},
                               {"rest_seconds", to_seconds(p.rest)},
                               {"communication_seconds", to_seconds(p.communication)},
                               {"communication", p.communication_what}});
    }
    out.push_back(Json{{"strategy", s.label},
                       {"how", s.how},
                       {"embedding_seconds", to_seconds(s.embedding)},
                       {"head_seconds", to_seconds(s.head)},
                       {"per_layer", processes},
                       {"notes", s.notes}});
  }
  return out;
}

}  // namespace kvsim::report
