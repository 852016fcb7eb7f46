#include "sim/serving/router.hpp"

namespace kvsim::serving {
namespace {

class RoundRobin final : public Router {
 public:
  std::size_t route(std::span<const ReplicaLoad> replicas) override {
    return next_++ % replicas.size();
  }
  bool reads_kv() const override { return false; }
  const char* name() const override { return "round-robin"; }

 private:
  std::size_t next_ = 0;
};

// The first replica with the smallest `key`.
template <class Key>
std::size_t argmin(std::span<const ReplicaLoad> replicas, Key key) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < replicas.size(); ++i) {
    if (key(replicas[i]) < key(replicas[best])) best = i;
  }
  return best;
}

class LeastOutstanding final : public Router {
 public:
  std::size_t route(std::span<const ReplicaLoad> replicas) override {
    return argmin(replicas, [](const ReplicaLoad& r) { return r.outstanding; });
  }
  bool reads_kv() const override { return false; }
  const char* name() const override { return "least-outstanding"; }
};

class LeastKv final : public Router {
 public:
  std::size_t route(std::span<const ReplicaLoad> replicas) override {
    return argmin(replicas, [](const ReplicaLoad& r) { return r.kv_held(); });
  }
  bool reads_kv() const override { return true; }
  const char* name() const override { return "least-kv"; }
};

template <class R>
RouterRegistry::Factory make() {
  return [](const ConfigNode&) -> std::unique_ptr<Router> { return std::make_unique<R>(); };
}

}  // namespace

const RouterRegistry& routers() {
  static const RouterRegistry registry = [] {
    RouterRegistry r("router", "which replica a new request goes to");
    r.add("round-robin", "replicas in turn", {}, make<RoundRobin>());
    r.add("least-outstanding", "the replica with the fewest requests waiting or running", {},
          make<LeastOutstanding>());
    r.add("least-kv", "the replica with the smallest share of its KV memory held", {},
          make<LeastKv>());
    return r;
  }();
  return registry;
}

}  // namespace kvsim::serving
