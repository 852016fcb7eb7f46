#include "sim/prefill/partitioner.hpp"

#include "models/catalog/catalog.hpp"
#include "sim/prefill/predictor.hpp"
#include "sim/prefill/search.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kvsim::prefill {
namespace {

class EvenPartitioner final : public Partitioner {
 public:
  std::string name() const override { return "even"; }
  Partition partition(const PartitionQuery& q) const override {
    return even_partition(q.context_tokens, q.processes);
  }
  Json to_json() const override { return Json{{"type", "even"}}; }
};

// Explicit token counts or fractions. Checked against the query when used, with the file and
// pointer of the scenario entry so the error still points at the input.
class FixedPartitioner final : public Partitioner {
 public:
  FixedPartitioner(std::vector<double> values, bool fractions, std::string file,
                   std::string pointer)
      : values_(std::move(values)),
        fractions_(fractions),
        file_(std::move(file)),
        pointer_(std::move(pointer)) {}
  std::string name() const override { return "fixed"; }
  Partition partition(const PartitionQuery& q) const override {
    if (static_cast<int>(values_.size()) != q.processes) {
      fail(fmt::format("gives {} parts for {} processes", values_.size(), q.processes));
    }
    Partition out;
    if (!fractions_) {
      for (const double v : values_) out.push_back(static_cast<std::int64_t>(v));
      const std::int64_t sum = std::accumulate(out.begin(), out.end(), std::int64_t{0});
      if (sum != q.context_tokens) {
        fail(fmt::format("token counts {} sum to {}, not the context length {}",
                         fmt::join(out, ", "), sum, q.context_tokens));
      }
      return out;
    }
    // Fractions: round cumulative cut points so the parts sum exactly to C.
    const double total = std::accumulate(values_.begin(), values_.end(), 0.0);
    double cumulative = 0;
    std::int64_t previous = 0;
    for (std::size_t i = 0; i < values_.size(); ++i) {
      cumulative += values_[i];
      const std::int64_t cut =
          i + 1 == values_.size()
              ? q.context_tokens
              : std::llround(cumulative / total * static_cast<double>(q.context_tokens));
      out.push_back(cut - previous);
      previous = cut;
    }
    for (const std::int64_t c : out) {
      if (c < 1) fail(fmt::format("fractions leave a process with no tokens at C = {}",
                                  q.context_tokens));
    }
    return out;
  }
  Json to_json() const override {
    return Json{{"type", "fixed"}, {fractions_ ? "fractions" : "tokens", values_}};
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw InputError(file_, pointer_, "fixed partition " + message);
  }
  std::vector<double> values_;
  bool fractions_;
  std::string file_;
  std::string pointer_;
};

std::unique_ptr<Partitioner> make_fixed(const ConfigNode& n) {
  const bool has_tokens = n.has("tokens");
  if (has_tokens == n.has("fractions")) n.fail("give exactly one of 'tokens' or 'fractions'");
  const ConfigNode list = n.at(has_tokens ? "tokens" : "fractions");
  std::vector<double> values;
  for (const ConfigNode& v : list.elements()) {
    const double x = has_tokens ? static_cast<double>(v.as_integer()) : v.as_number();
    if (x <= 0) v.fail("every part must be positive");
    values.push_back(x);
  }
  if (values.empty()) list.fail("needs at least one part");
  return std::make_unique<FixedPartitioner>(std::move(values), !has_tokens, n.file(),
                                            n.pointer());
}

}  // namespace

std::vector<double> partition_fractions(const Partition& x) {
  const double total = static_cast<double>(std::accumulate(x.begin(), x.end(), std::int64_t{0}));
  std::vector<double> out;
  for (const std::int64_t c : x) out.push_back(static_cast<double>(c) / total);
  return out;
}

std::string PartitionQuery::overflow(const Partition& x) const {
  if (!capacity || !memory_plan) return {};
  return memory_overflow(memory_plan(x), *capacity);
}

double PartitionQuery::peak_bytes(const Partition& x) const {
  return memory_plan ? memory_plan(x).peak().total() : 0.0;
}

Partition even_partition(std::int64_t c, int p) {
  Partition out(static_cast<std::size_t>(p), c / p);
  for (std::int64_t i = 0; i < c % p; ++i) ++out[static_cast<std::size_t>(i)];
  return out;
}

const PartitionerRegistry& partitioners() {
  static const PartitionerRegistry registry = [] {
    PartitionerRegistry r("partitioner", "how KV-Runahead splits the context over its chain");
    r.add("even", "KVR-E: C/p tokens each", {},
          [](const ConfigNode&) -> std::unique_ptr<Partitioner> {
            return std::make_unique<EvenPartitioner>();
          });
    r.add("fixed", "explicit token counts or fractions, one per process",
          {{"tokens", "[count]", "", "tokens per process, summing to the context length"},
           {"fractions", "[ratio]", "", "relative shares, normalised and rounded to tokens"}},
          make_fixed);
    r.add("search",
          "KVR-S: coarse grid of cut points, then multi-start refinement down to the "
          "granularity, minimising simulated TTFT among the partitions that fit in memory (HBM x "
          "memory_utilization; refused when none does); the exact even split (KVR-E) is a "
          "candidate too, so KVR-S is never slower than KVR-E where it fits; chains of at most 53 "
          "processes (100000 candidates per refinement round)",
          {{"granularity", "tokens", "64",
            "cut points are multiples of this below the context length (the last process takes "
            "the remainder; only the even split, when it wins, is off this grid); refused when "
            "it leaves fewer than p-1 cut positions, i.e. above floor((C-1)/(p-1))"},
           {"coarse_candidates", "count", "4096",
            "most points evaluated on the coarse grid (at most 1000000)"},
           {"starts", "count", "4", "refinements started from the best coarse points (plus "
                                    "one from the even split; at most 256)"}},
          [](const ConfigNode& n) {
            return make_search_partitioner(SearchOptions::from_config(n), n.file(),
                                           n.pointer());
          });
    r.add("predicted",
          "KVR-P: fractions interpolated from a predictor trained on KVR-S results "
          "(kvsim train-predictor), a fitted model between trained GPU counts, the even split "
          "when faster, among the partitions that fit in memory; outside the trained model, GPU, "
          "GPU counts, contexts or chain bandwidths, or where no prediction fits, a warning and "
          "the search (KVR-S, default options) instead",
          {{"file", "name|path", "",
            "a shipped predictor (predictors/, kvsim list) or a predictor JSON file "
            "(kvsim train-predictor), relative to the scenario file"}},
          [](const ConfigNode& n) {
            const ConfigNode field = n.at("file");
            const auto shipped = catalog::predictor_names();
            const ConfigDocument doc = catalog::shipped_or_file(field, "predictor", shipped,
                                                                catalog::predictor_document);
            // Outputs name a shipped predictor as the scenario does, a file by its path.
            const std::string value = field.as_string();
            const bool by_name = std::find(shipped.begin(), shipped.end(), value) != shipped.end();
            return make_predicted_partitioner(
                std::make_shared<const PartitionPredictor>(
                    PartitionPredictor::from_json(doc.root())),
                by_name ? value : field.resolve_path(value), n.file(), n.pointer());
          });
    return r;
  }();
  return registry;
}

}  // namespace kvsim::prefill
