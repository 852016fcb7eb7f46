#include "sim/network/heterogeneity.hpp"

#include <algorithm>
#include <random>
#include <set>

#include <fmt/format.h>

#include "sim/network/topologies.hpp"

namespace kvsim::net {
namespace {

// Links named by endpoint pairs: the direct link when there is one, else every link on the
// route; both directions unless "directed" is set.
std::set<int> named_links(const ConfigNode& list, const Topology& t, bool both_directions) {
  std::set<int> out;
  for (const ConfigNode& pair : list.elements()) {
    const auto ends = pair.elements();
    if (ends.size() != 2) pair.fail("a link is named by two endpoints, e.g. [3, 4]");
    const int a = resolve_node(ends[0], t);
    const int b = resolve_node(ends[1], t);
    if (a == b) pair.fail("a link needs two different endpoints");
    const auto add = [&](int from, int to) {
      if (const int direct = t.find_link(from, to); direct >= 0) {
        out.insert(direct);
      } else {
        const auto& links = t.route(from, to).links;
        out.insert(links.begin(), links.end());
      }
    };
    add(a, b);
    if (both_directions) add(b, a);
  }
  return out;
}

double read_scale(const ConfigNode& n) {
  const double s = n.number("scale", 1e-6, 1e6);
  return s;
}

class ScaleLinks final : public Heterogeneity {
 public:
  ScaleLinks(std::set<int> links, double scale) : links_(std::move(links)), scale_(scale) {}
  void apply(Topology& t, RandomEngine&) const override {
    for (const int l : links_) t.scale_link(l, scale_);
  }

 private:
  std::set<int> links_;
  double scale_;
};

class RandomSlowLinks final : public Heterogeneity {
 public:
  RandomSlowLinks(std::int64_t count, double scale) : count_(count), scale_(scale) {}
  void apply(Topology& t, RandomEngine& random) const override {
    std::vector<int> ids(t.links().size());
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>(i);
    std::shuffle(ids.begin(), ids.end(), random);
    for (std::int64_t i = 0; i < count_; ++i) t.scale_link(ids[static_cast<std::size_t>(i)], scale_);
  }

 private:
  std::int64_t count_;
  double scale_;
};

class RandomBandwidth final : public Heterogeneity {
 public:
  RandomBandwidth(bool lognormal, double a, double b) : lognormal_(lognormal), a_(a), b_(b) {}
  void apply(Topology& t, RandomEngine& random) const override {
    for (std::size_t l = 0; l < t.links().size(); ++l) {
      double factor;
      if (lognormal_) {
        // Median 1: log of the factor ~ N(0, sigma).
        factor = std::lognormal_distribution<double>(0.0, a_)(random);
      } else {
        factor = std::uniform_real_distribution<double>(a_, b_)(random);
      }
      t.scale_link(static_cast<int>(l), std::max(factor, 1e-6));
    }
  }

 private:
  bool lognormal_;
  double a_;
  double b_;
};

}  // namespace

const HeterogeneityRegistry& heterogeneities() {
  static const HeterogeneityRegistry registry = [] {
    HeterogeneityRegistry r("heterogeneity", "static changes to link bandwidths");
    r.add("scale-links", "multiply the bandwidth of named links by a factor",
          {{"links", "[[a, b], ...]", "",
            "endpoint pairs (GPU indices or node names); the direct link, else the route"},
           {"scale", "ratio", "", "bandwidth factor, e.g. 0.1 for a tenth"},
           {"directed", "bool", "false", "only the a -> b direction"}},
          [](const ConfigNode& n, const Topology& t) -> std::unique_ptr<Heterogeneity> {
            const bool directed = n.boolean_or("directed", false);
            return std::make_unique<ScaleLinks>(named_links(n.at("links"), t, !directed),
                                                read_scale(n));
          });
    r.add("random-slow-links", "pick links at random (from the seed) and scale them",
          {{"count", "count", "", "how many directed links"},
           {"scale", "ratio", "", "bandwidth factor of the chosen links"}},
          [](const ConfigNode& n, const Topology& t) -> std::unique_ptr<Heterogeneity> {
            const std::int64_t count = n.count("count");
            if (count > static_cast<std::int64_t>(t.links().size())) {
              n.at("count").fail(fmt::format("the topology has only {} links", t.links().size()));
            }
            return std::make_unique<RandomSlowLinks>(count, read_scale(n));
          });
    r.add("random-bandwidth", "draw every link's bandwidth factor from a distribution",
          {{"distribution", "uniform|lognormal", "", "the factor's distribution"},
           {"low", "ratio", "", "uniform: smallest factor"},
           {"high", "ratio", "", "uniform: largest factor"},
           {"sigma", "number", "", "lognormal: standard deviation of the log (median 1)"}},
          [](const ConfigNode& n, const Topology&) -> std::unique_ptr<Heterogeneity> {
            if (n.one_of("distribution", {"uniform", "lognormal"}) == "lognormal") {
              return std::make_unique<RandomBandwidth>(true, n.number("sigma", 0, 5), 0);
            }
            const double low = n.number("low", 1e-6, 1e6);
            const double high = n.number("high", low, 1e6);
            return std::make_unique<RandomBandwidth>(false, low, high);
          });
    return r;
  }();
  return registry;
}

BackgroundFlowSpec parse_background_flow(const ConfigNode& n, const Topology& t) {
  BackgroundFlowSpec s;
  s.from = resolve_node(n.at("from"), t);
  s.to = resolve_node(n.at("to"), t);
  if (s.from == s.to) n.fail("background traffic needs two different endpoints");
  t.route(s.from, s.to);  // reachable?
  if (const auto cap = n.find("rate")) s.rate_cap = cap->as_bandwidth();
  if (const auto windows = n.find("windows")) {
    SimTime last{0};
    for (const ConfigNode& w : windows->elements()) {
      const auto ends = w.elements();
      if (ends.size() != 2) w.fail("a window is [start, end], e.g. [\"0ms\", \"5ms\"]");
      const SimTime a = ends[0].as_duration();
      const SimTime b = ends[1].as_duration();
      if (b <= a) w.fail("a window must end after it starts");
      if (a < last) w.fail("windows must be in order and must not overlap");
      last = b;
      s.windows.emplace_back(a, b);
    }
  }
  if (const auto on = n.find("mean_on")) {
    if (!s.windows.empty()) on->fail("give either windows or mean_on/mean_off, not both");
    s.mean_on = on->as_duration();
    s.mean_off = n.at("mean_off").as_duration();
    if (s.mean_on.count() <= 0 || s.mean_off.count() <= 0) n.fail("mean_on/mean_off must be > 0");
    if (const auto delay = n.find("start")) s.start_delay = delay->as_duration();
  }
  if (s.windows.empty() && s.mean_on.count() == 0) {
    s.windows.emplace_back(SimTime{0}, SimTime::max());  // always on
  }
  n.finish();
  return s;
}

Json to_json(const BackgroundFlowSpec& s, const Topology& t) {
  Json j{{"from", t.node(s.from).name}, {"to", t.node(s.to).name}};
  if (std::isfinite(s.rate_cap)) j["rate_bytes_per_s"] = s.rate_cap;
  if (s.mean_on.count() > 0) {
    j["mean_on_ns"] = s.mean_on.count();
    j["mean_off_ns"] = s.mean_off.count();
  } else {
    Json w = Json::array();
    for (const auto& [a, b] : s.windows) {
      w.push_back({a.count(), b == SimTime::max() ? Json("forever") : Json(b.count())});
    }
    j["windows_ns"] = w;
  }
  return j;
}

BackgroundTraffic::BackgroundTraffic(FlowNetwork& network, std::vector<BackgroundFlowSpec> specs,
                                     const RandomStreams& random)
    : network_(network) {
  for (std::size_t i = 0; i < specs.size(); ++i) {
    states_.push_back(State{std::move(specs[i]),
                            random.stream(fmt::format("network/background/{}", i)), 0, 0, false});
  }
}

Duration BackgroundTraffic::draw(std::uint32_t i, Duration mean) {
  std::exponential_distribution<double> exp(1.0 / to_seconds(mean));
  return from_seconds(exp(states_[i].random));
}

void BackgroundTraffic::start() {
  for (std::uint32_t i = 0; i < states_.size(); ++i) {
    const State& s = states_[i];
    const SimTime first = s.spec.mean_on.count() > 0 ? s.spec.start_delay
                                                     : s.spec.windows.front().first;
    network_.queue().schedule_at(network_.queue().now() + first, Phase::kArrival,
                                 [this, i] { switch_on(i); });
  }
}

void BackgroundTraffic::switch_on(std::uint32_t i) {
  State& s = states_[i];
  s.on = true;
  s.flow = network_.start(s.spec.from, s.spec.to, FlowNetwork::kUnlimited, InlineCallback{},
                          s.spec.rate_cap);
  SimTime off;
  if (s.spec.mean_on.count() > 0) {
    off = checked_add(network_.queue().now(), draw(i, s.spec.mean_on),
                      "a background on-period");
  } else {
    off = s.spec.windows[s.window].second;
    if (off == SimTime::max()) return;  // always on
  }
  network_.queue().schedule_at(off, Phase::kArrival, [this, i] { switch_off(i); });
}

void BackgroundTraffic::switch_off(std::uint32_t i) {
  State& s = states_[i];
  s.on = false;
  network_.stop(s.flow);
  SimTime next;
  if (s.spec.mean_on.count() > 0) {
    next = checked_add(network_.queue().now(), draw(i, s.spec.mean_off),
                       "a background off-period");
  } else {
    if (++s.window >= s.spec.windows.size()) return;
    next = s.spec.windows[s.window].first;
  }
  network_.queue().schedule_at(next, Phase::kArrival, [this, i] { switch_on(i); });
}

}  // namespace kvsim::net
