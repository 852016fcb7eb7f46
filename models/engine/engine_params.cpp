// Reading a parametric engine from JSON, and writing any engine back (see engine_params.hpp).
#include "models/engine/engine_params.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace kvsim {
namespace {

// An engine's durations are microseconds in practice; an hour bounds them, so that sums over
// layers, stages and collectives stay far inside the simulable range.
constexpr Duration kLongest = std::chrono::hours(1);

Duration duration_or(const ConfigNode& n, const std::string& key, Duration fallback) {
  const auto v = n.find(key);
  if (!v) return fallback;
  const Duration d = v->as_duration();  // refuses negative values
  if (d > kLongest) {
    v->fail(fmt::format("{} is longer than an engine's time can be; give at most 60min",
                        format_duration(d)));
  }
  return d;
}

void read_host(const ConfigNode& n, EngineParams& p) {
  p.host_per_pass = duration_or(n, "per_pass", p.host_per_pass);
  p.host_per_sequence = duration_or(n, "per_sequence", p.host_per_sequence);
  p.host_per_token = duration_or(n, "per_token", p.host_per_token);
  n.finish();
}

void read_launch(const ConfigNode& n, EngineParams& p) {
  p.launch_per_kernel = duration_or(n, "per_kernel", p.launch_per_kernel);
  p.decode_cuda_graphs = n.boolean_or("decode_cuda_graphs", p.decode_cuda_graphs);
  n.finish();
}

void read_attention(const ConfigNode& n, EngineParams& p) {
  p.attention_kernel = n.string_or("kernel", p.attention_kernel);
  if (p.attention_kernel.empty()) n.at("kernel").fail("the attention kernel's label is empty");
  if (const auto s = n.find("time_scale")) {
    const double scale = s->as_number();
    if (!(scale > 0) || !std::isfinite(scale)) {
      s->fail(fmt::format("time_scale is {}; give a finite factor above 0 (1: the compute "
                          "model's attention time)", scale));
    }
    p.attention_time_scale = scale;
  }
  n.finish();
}

// {"2": "6us", "4": "8us"}: GPU counts (at least 2) to latencies.
std::map<std::int64_t, Duration> read_latency_table(const ConfigNode& n) {
  if (!n.json().is_object() || n.json().empty()) {
    n.fail("give the latency by GPU count as an object, e.g. {\"2\": \"6us\", \"8\": \"12us\"}");
  }
  std::map<std::int64_t, Duration> table;
  for (const auto& item : n.json().items()) {
    const std::string& key = item.key();
    const ConfigNode v = n.at(key);
    std::int64_t gpus = 0;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), gpus);
    if (ec != std::errc{} || end != key.data() + key.size() || gpus < 2 || gpus > 4096) {
      v.fail(fmt::format("'{}' is not a GPU count; keys are whole numbers of GPUs from 2 to "
                         "4096, e.g. \"8\"", key));
    }
    table[gpus] = v.as_duration();
    if (table[gpus] > kLongest) v.fail("a custom all-reduce's latency is at most 60min");
  }
  return table;
}

void read_all_reduce(const ConfigNode& n, EngineParams& p) {
  const std::string type = n.one_of_or("type", "nccl", {"nccl", "custom"});
  if (type == "custom") {
    CustomAllReduce c;
    if (const auto m = n.find("max_bytes")) c.max_bytes = m->as_bytes();
    const ConfigNode latency = n.at("latency");
    c.latency = read_latency_table(latency);
    p.latency_pointer = latency.pointer();
    if (const auto b = n.find("bandwidth")) {
      c.bandwidth = b->as_bandwidth();
      if (!(c.bandwidth > 0)) b->fail("the custom all-reduce's bandwidth must be above 0");
    }
    p.all_reduce = std::move(c);
  }
  n.finish();
}

void read_layer_sync(const ConfigNode& n, EngineParams& p) {
  p.tp_layer_sync = duration_or(n, "tensor_parallel", p.tp_layer_sync);
  p.pp_stage_sync = duration_or(n, "pipeline_parallel", p.pp_stage_sync);
  n.finish();
}

}  // namespace

EngineParams read_parametric(const ConfigNode& node) {
  EngineParams p;
  p.type = "parametric";
  p.source_file = node.file();
  p.pointer = node.pointer();
  p.name = node.string_or("name", "");
  if (const auto n = node.find("host")) read_host(*n, p);
  if (const auto n = node.find("launch")) read_launch(*n, p);
  if (const auto f = node.find("fusion")) {
    p.fusion = f->as_one_of({"none", "elementwise"}) == "none" ? Fusion::kNone
                                                               : Fusion::kElementwise;
  }
  if (const auto n = node.find("attention")) read_attention(*n, p);
  if (const auto n = node.find("all_reduce")) read_all_reduce(*n, p);
  if (const auto n = node.find("layer_sync")) read_layer_sync(*n, p);
  return p;
}

// Written in the input format (durations as whole nanoseconds), so a resolved engine reads
// back as the same engine.
Json EngineModel::to_json() const {
  if (p_.type == "kernels-only") return Json{{"type", "kernels-only"}};
  const auto ns = [](Duration d) { return fmt::format("{}ns", d.count()); };
  Json all_reduce{{"type", "nccl"}};
  if (p_.all_reduce) {
    Json latency = Json::object();
    for (const auto& [gpus, d] : p_.all_reduce->latency) latency[std::to_string(gpus)] = ns(d);
    all_reduce = Json{{"type", "custom"},
                      {"max_bytes", fmt::format("{}B", p_.all_reduce->max_bytes)},
                      {"latency", latency},
                      {"bandwidth", fmt::format("{}GB/s", p_.all_reduce->bandwidth / 1e9)}};
  }
  Json out{{"type", "parametric"},
           {"name", p_.name},
           {"host", {{"per_pass", ns(p_.host_per_pass)},
                     {"per_sequence", ns(p_.host_per_sequence)},
                     {"per_token", ns(p_.host_per_token)}}},
           {"launch", {{"per_kernel", ns(p_.launch_per_kernel)},
                       {"decode_cuda_graphs", p_.decode_cuda_graphs}}},
           {"fusion", p_.fusion == Fusion::kNone ? "none" : "elementwise"},
           {"attention", {{"kernel", p_.attention_kernel},
                          {"time_scale", p_.attention_time_scale}}},
           {"all_reduce", all_reduce},
           {"layer_sync", {{"tensor_parallel", ns(p_.tp_layer_sync)},
                           {"pipeline_parallel", ns(p_.pp_stage_sync)}}}};
  return out;
}

}  // namespace kvsim
