#include "sim/sweep/training.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/units.hpp"

namespace kvsim::sweep {
namespace {

struct PointRun {
  Scenario scenario;
  prefill::PrefillSetup setup;
  std::unique_ptr<prefill::KvrStrategy> kvr;
  prefill::PartitionQuery query;
};

std::unique_ptr<PointRun> prepare(const SweepSpec& spec, std::size_t i) {
  const ConfigDocument doc = spec.document(i);
  auto run = std::make_unique<PointRun>(PointRun{load_scenario(doc), {}, nullptr, {}});
  if (!run->scenario.prefill) {
    throw InputError(doc.name(), "/prefill", "a training point needs a \"prefill\" section");
  }
  run->setup = run->scenario.prefill_setup();
  static const Json empty = Json::object();
  run->kvr = std::make_unique<prefill::KvrStrategy>(
      prefill::partitioners().find("even")->make(ConfigNode(&empty, "", Json::json_pointer())),
      kvr_options_of(run->scenario));
  run->query = run->kvr->query(run->setup);
  return run;
}

std::string topology_type(const SweepSpec& spec, std::size_t i) {
  const Json doc = spec.document(i).json();
  const Json::json_pointer ptr("/cluster/topology/type");
  return doc.contains(ptr) && doc[ptr].is_string() ? doc[ptr].get<std::string>() : "";
}

std::string inputs_text(const std::vector<Setting>& settings) {
  std::string out;
  for (const Setting& s : settings) {
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", s.name, s.text());
  }
  return out;
}

// Refuses search options that cannot split a point's chain, naming the sweep point's scenario.
void check_search(const SweepSpec& spec, std::size_t i, const prefill::PartitionQuery& q,
                  const prefill::SearchOptions& options) {
  const std::string why = prefill::search_obstacle(options, q.context_tokens, q.processes);
  if (!why.empty()) throw InputError(spec.document(i).name(), "", "KVR-S: " + why);
}

// KVR-S at point i; throws InputError where no partition fits in memory (its result would
// carry no TTFT).
prefill::SearchResult search_fitting(const SweepSpec& spec, std::size_t i,
                                     const prefill::PartitionQuery& q,
                                     const prefill::SearchOptions& options,
                                     const std::vector<prefill::Partition>& also = {}) {
  prefill::SearchResult r = prefill::search_partition(q, options, also);
  if (!r.fits) {
    throw InputError(spec.document(i).name(), "", "KVR-S " + prefill::no_fit_message(r, q));
  }
  return r;
}

}  // namespace

prefill::KvrOptions kvr_options_of(const Scenario& s) {
  if (s.prefill) {
    for (const auto& st : s.prefill->strategies) {
      if (const auto* kvr = dynamic_cast<const prefill::KvrStrategy*>(st.get())) {
        return kvr->options();
      }
    }
  }
  return prefill::KvrOptions{};
}

std::vector<SearchedPoint> search_points(const SweepSpec& spec,
                                         const prefill::SearchOptions& options,
                                         const std::function<void(std::size_t)>& progress) {
  std::vector<SearchedPoint> out(spec.point_count());
  for_each_point(
      out.size(),
      [&](std::size_t i) {
        const auto run = prepare(spec, i);
        check_search(spec, i, run->query, options);
        const prefill::SearchResult r = search_fitting(spec, i, run->query, options);
        SearchedPoint& sp = out[i];
        sp.key = prefill::predictor_key(run->setup);
        sp.point.processes = run->query.processes;
        sp.point.bandwidth = prefill::chain_bandwidth(run->setup);
        sp.point.context_tokens = run->setup.context_tokens;
        sp.point.fractions = prefill::partition_fractions(r.best);
        sp.point.ttft = r.ttft;
        sp.point.topology = topology_type(spec, i);
        sp.settings = spec.settings(i);
      },
      progress);
  return out;
}

prefill::PartitionPredictor fit_predictor(const std::vector<SearchedPoint>& points) {
  std::vector<prefill::PredictorKey> keys;
  std::vector<std::vector<prefill::TrainingPoint>> groups;
  for (const auto& sp : points) {
    auto it = std::find(keys.begin(), keys.end(), sp.key);
    if (it == keys.end()) {
      keys.push_back(sp.key);
      groups.emplace_back();
      it = keys.end() - 1;
    }
    groups[static_cast<std::size_t>(it - keys.begin())].push_back(sp.point);
  }
  std::vector<prefill::PredictorTable> tables;
  for (std::size_t k = 0; k < keys.size(); ++k) tables.emplace_back(keys[k], std::move(groups[k]));
  return prefill::PartitionPredictor(std::move(tables));
}

double ValidationRow::first_candidate_error() const {
  return static_cast<double>(ttft_first_candidate.count()) /
             static_cast<double>(ttft_searched.count()) -
         1;
}

double ValidationRow::error() const {
  return static_cast<double>(ttft_predicted.count()) / static_cast<double>(ttft_searched.count()) -
         1;
}

std::vector<ValidationRow> validate_predictor(const prefill::PartitionPredictor& predictor,
                                              const SweepSpec& spec,
                                              const prefill::SearchOptions& options,
                                              const std::function<void(std::size_t)>& progress) {
  std::vector<ValidationRow> rows(spec.point_count());
  for_each_point(
      rows.size(),
      [&](std::size_t i) {
        const auto run = prepare(spec, i);
        const prefill::PredictorTable* table = nullptr;
        try {
          table = &predictor.table(prefill::predictor_key(run->setup));
        } catch (const std::invalid_argument& e) {
          throw InputError(spec.document(i).name(), "", e.what());
        }
        ValidationRow& row = rows[i];
        row.settings = spec.settings(i);
        row.processes = run->query.processes;
        row.bandwidth = prefill::chain_bandwidth(run->setup);
        row.context_tokens = run->setup.context_tokens;
        const auto candidates = table->candidates(row.processes, row.bandwidth,
                                                  row.context_tokens);
        std::tie(row.predicted, row.method) =
            prefill::choose_candidate(candidates, row.context_tokens, run->query.evaluate);
        row.ttft_predicted = run->query.evaluate(row.predicted);
        row.ttft_first_candidate = run->query.evaluate(
            prefill::partition_from_fractions(candidates.front().fractions, row.context_tokens));
        row.first_method = candidates.front().method;
        // The search also evaluates KVR-P's partition: it is the comparison, so KVR-S is never
        // reported slower than it.
        check_search(spec, i, run->query, options);
        const prefill::SearchResult r =
            search_fitting(spec, i, run->query, options, {row.predicted});
        row.searched = r.best;
        row.ttft_searched = r.ttft;
        row.ttft_even = run->query.evaluate(
            prefill::even_partition(row.context_tokens, row.processes));
      },
      progress);
  return rows;
}

Json validation_summary(const std::vector<ValidationRow>& rows) {
  struct Stats {
    double sum = 0;
    double worst = 0;
    int count = 0;
    void add(double e) {
      sum += e;
      worst = std::max(worst, e);
      ++count;
    }
    Json json() const {
      return Json{{"points", count},
                  {"mean_ttft_excess", count == 0 ? 0.0 : sum / count},
                  {"worst_ttft_excess", worst}};
    }
  };
  Stats chosen;
  std::map<std::string, Stats> first;  // by where the query fell: interpolated or fitted
  for (const auto& r : rows) {
    chosen.add(r.error());
    first[r.first_method].add(r.first_candidate_error());
  }
  Json alone = Json::object();
  for (const auto& [name, s] : first) alone[name] = s.json();
  Json out = chosen.json();
  out["definition"] = "TTFT with the KVR-P partition over TTFT with a fresh KVR-S search at the "
                      "same point, minus 1";
  out["single_candidate"] = alone;
  return out;
}

std::string validation_csv(const std::vector<ValidationRow>& rows) {
  std::string out = "inputs,processes,bandwidth_GBps,context_tokens,ttft_search_ms,"
                    "ttft_kvr_p_ms,kvr_p_excess,kvr_p_choice,ttft_first_candidate_ms,"
                    "first_candidate_excess,first_candidate,ttft_even_ms,searched,predicted\n";
  for (const auto& r : rows) {
    out += fmt::format("{},{},{:.6g},{},{:.6f},{:.6f},{:.6f},{},{:.6f},{:.6f},{},{:.6f},{},{}\n",
                       inputs_text(r.settings), r.processes, r.bandwidth * 1e-9,
                       r.context_tokens, to_ms(r.ttft_searched), to_ms(r.ttft_predicted),
                       r.error(), r.method, to_ms(r.ttft_first_candidate),
                       r.first_candidate_error(), r.first_method, to_ms(r.ttft_even),
                       fmt::join(r.searched, " "), fmt::join(r.predicted, " "));
  }
  return out;
}

std::string validation_markdown(const std::vector<ValidationRow>& rows, const Json& summary) {
  std::string out = fmt::format(
      "KVR-P against a fresh KVR-S search at {} held-out points: TTFT excess mean {:.3f}%, "
      "worst {:.3f}%.\n\nThe interpolation (or fit) alone, without choosing among candidates:\n\n",
      rows.size(), 100 * summary["mean_ttft_excess"].get<double>(),
      100 * summary["worst_ttft_excess"].get<double>());
  for (const auto& [name, s] : summary["single_candidate"].items()) {
    out += fmt::format("- {} ({} points): mean {:.3f}%, worst {:.3f}%\n", name,
                       s["points"].get<int>(), 100 * s["mean_ttft_excess"].get<double>(),
                       100 * s["worst_ttft_excess"].get<double>());
  }
  out += "\n| inputs | KVR-S ms | KVR-P ms | KVR-P excess | chosen | first candidate excess | "
         "KVR-E ms |\n|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    out += fmt::format("| {} | {:.2f} | {:.2f} | {:.3f}% | {} | {:.3f}% ({}) | {:.2f} |\n",
                       inputs_text(r.settings), to_ms(r.ttft_searched), to_ms(r.ttft_predicted),
                       100 * r.error(), r.method, 100 * r.first_candidate_error(),
                       r.first_method, to_ms(r.ttft_even));
  }
  return out;
}

}  // namespace kvsim::sweep
