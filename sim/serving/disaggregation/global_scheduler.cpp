#include "sim/serving/disaggregation/global_scheduler.hpp"

namespace kvsim::serving::disaggregation {
namespace {

bool has_room(const InstanceLoad& d, std::int64_t kv_tokens) {
  return d.capacity - d.tokens >= kv_tokens;
}

// The first instance with room and the smallest `key`, or none.
template <class Key>
std::optional<std::size_t> best_with_room(std::span<const InstanceLoad> instances,
                                          std::int64_t kv_tokens, Key key) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < instances.size(); ++i) {
    if (!has_room(instances[i], kv_tokens)) continue;
    if (!best || key(instances[i]) < key(instances[*best])) best = i;
  }
  return best;
}

template <class Key>
std::size_t argmin(std::span<const InstanceLoad> instances, Key key) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < instances.size(); ++i) {
    if (key(instances[i]) < key(instances[best])) best = i;
  }
  return best;
}

class RoundRobin final : public GlobalScheduler {
 public:
  std::size_t prefill(std::span<const InstanceLoad> instances) override {
    return next_prefill_++ % instances.size();
  }
  std::optional<std::size_t> decode(std::span<const InstanceLoad> instances,
                                    std::int64_t kv_tokens) override {
    for (std::size_t k = 0; k < instances.size(); ++k) {
      const std::size_t i = (next_decode_ + k) % instances.size();
      if (!has_room(instances[i], kv_tokens)) continue;
      next_decode_ = i + 1;
      return i;
    }
    return std::nullopt;
  }
  const char* name() const override { return "round-robin"; }

 private:
  std::size_t next_prefill_ = 0, next_decode_ = 0;
};

class JoinShortestQueue final : public GlobalScheduler {
 public:
  std::size_t prefill(std::span<const InstanceLoad> instances) override {
    return argmin(instances, [](const InstanceLoad& l) { return l.requests; });
  }
  std::optional<std::size_t> decode(std::span<const InstanceLoad> instances,
                                    std::int64_t kv_tokens) override {
    return best_with_room(instances, kv_tokens, [](const InstanceLoad& l) { return l.requests; });
  }
  const char* name() const override { return "join-shortest-queue"; }
};

class LeastKv final : public GlobalScheduler {
 public:
  std::size_t prefill(std::span<const InstanceLoad> instances) override {
    return argmin(instances, [](const InstanceLoad& l) { return l.tokens; });
  }
  std::optional<std::size_t> decode(std::span<const InstanceLoad> instances,
                                    std::int64_t kv_tokens) override {
    return best_with_room(instances, kv_tokens, [](const InstanceLoad& l) {
      return static_cast<double>(l.tokens) / static_cast<double>(l.capacity);
    });
  }
  const char* name() const override { return "least-kv"; }
};

template <class G>
GlobalSchedulerRegistry::Factory make() {
  return [](const ConfigNode&) -> std::unique_ptr<GlobalScheduler> {
    return std::make_unique<G>();
  };
}

}  // namespace

const GlobalSchedulerRegistry& global_schedulers() {
  static const GlobalSchedulerRegistry registry = [] {
    GlobalSchedulerRegistry r("global scheduler",
                              "which prefill and which decode instance a request uses "
                              "(serving.disaggregation.policy)");
    r.add("round-robin", "prefill instances in turn; decode instances with room in turn", {},
          make<RoundRobin>());
    r.add("join-shortest-queue",
          "the prefill instance with the fewest requests queued or running; the decode "
          "instance with room and the fewest requests held",
          {}, make<JoinShortestQueue>());
    r.add("least-kv",
          "the prefill instance with the fewest prompt tokens queued or running; the decode "
          "instance with room and the smallest share of its KV memory reserved",
          {}, make<LeastKv>());
    return r;
  }();
  return registry;
}

}  // namespace kvsim::serving::disaggregation
