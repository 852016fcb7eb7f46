// `vllm bench serve` detailed results: per request, seconds (converted to ms here).
#include "sim/compare/vllm_result.hpp"

#include <fmt/format.h>

namespace kvsim::compare {
namespace {

// A per-request array with one entry per input length, or none when the file lacks it (or
// has it null).
std::vector<ConfigNode> per_request(const ConfigNode& root, const std::string& key,
                                    std::size_t n) {
  if (!root.has(key) || root.at(key).json().is_null()) return {};
  std::vector<ConfigNode> v = root.at(key).elements();
  if (v.size() != n) {
    root.at(key).fail(fmt::format("has {} entries but input_lens has {}", v.size(), n));
  }
  return v;
}

// A time in seconds: a finite number, at least 0.
double seconds(const ConfigNode& v) {
  const double s = v.as_number();  // rejects inf and NaN, naming the entry
  if (s < 0) v.fail(fmt::format("a time cannot be negative, got {}", s));
  return s;
}

BenchmarkRun read_run(const ConfigNode& root) {
  BenchmarkRun run;
  if (root.has("model_id") && !root.at("model_id").json().is_null()) {
    run.model_id = root.string("model_id");
  }
  // null: no rate (kvsim serve writes it for replayed arrival times).
  if (root.has("request_rate") && !root.at("request_rate").json().is_null()) {
    const ConfigNode rate = root.at("request_rate");
    if (rate.json().is_string()) {
      if (rate.as_string() != "inf") rate.fail("a request rate is a number or \"inf\"");
      run.request_rate = 0.0;
    } else {
      run.request_rate = rate.as_number();
      if (!(*run.request_rate > 0)) rate.fail("a request rate must be positive");
    }
  }
  if (root.has("burstiness") && !root.at("burstiness").json().is_null()) {
    run.burstiness = root.number("burstiness", 1e-3, 1e3);
  }
  if (root.has("max_concurrency") && !root.at("max_concurrency").json().is_null()) {
    run.max_concurrency = root.count("max_concurrency");
  }
  return run;
}

// Whether request i failed: vLLM records a TTFT of 0 (or none) and an error message.
bool failed(const ConfigNode& ttft, const std::vector<ConfigNode>& errors, std::size_t i) {
  if (!errors.empty() && errors[i].json().is_string() && !errors[i].as_string().empty()) {
    return true;
  }
  return ttft.json().is_null() || (ttft.json().is_number() && ttft.as_number() == 0);
}

// The per-request arrays of a result, by field (empty where the file lacks one).
struct Columns {
  std::vector<ConfigNode> lens, ttfts, outputs, itls, latencies, starts, queues, errors;
};

// Request i (which did not fail) as a measured point.
MeasuredPoint read_request(const Columns& c, std::size_t i, const std::string& path) {
  MeasuredPoint p;
  p.entry = fmt::format("{} {}", path, c.ttfts[i].pointer());
  p.request = static_cast<std::int64_t>(i);
  p.prompt_tokens = c.lens[i].as_integer();
  if (p.prompt_tokens < 1) c.lens[i].fail("an input length must be at least 1");
  p.ttft_ms = 1e3 * seconds(c.ttfts[i]);
  if (!(p.ttft_ms > 0)) c.ttfts[i].fail("a TTFT must be positive");
  if (!c.outputs.empty()) {
    p.output_tokens = c.outputs[i].as_integer();
    if (p.output_tokens < 0) c.outputs[i].fail("an output length cannot be negative");
  }
  if (!c.itls.empty()) {
    for (const ConfigNode& gap : c.itls[i].elements()) p.itls_ms.push_back(1e3 * seconds(gap));
  }
  if (!c.latencies.empty()) {
    p.e2e_ms = 1e3 * seconds(c.latencies[i]);
    // vLLM's TPOT: the time after the first token over the tokens after the first.
    if (p.output_tokens > 1) {
      p.tpot_ms = (*p.e2e_ms - p.ttft_ms) / static_cast<double>(p.output_tokens - 1);
    }
  }
  if (!c.starts.empty()) p.start_s = seconds(c.starts[i]);
  if (!c.queues.empty()) p.client_queue_s = seconds(c.queues[i]);
  return p;
}

}  // namespace

bool is_vllm_result(const ConfigNode& root) {
  return root.has("ttfts") && root.has("input_lens");
}

Measurements read_vllm_result(const ConfigNode& root, const std::string& path) {
  Measurements m;
  m.file = path;
  m.ttft_from = "arrival";  // from sending the request to the first token received
  Columns c;
  c.lens = root.at("input_lens").elements();
  const std::size_t n = c.lens.size();
  c.ttfts = per_request(root, "ttfts", n);
  if (c.ttfts.size() != n) root.at("ttfts").fail("give one TTFT (seconds) per request");
  c.outputs = per_request(root, "output_lens", n);
  c.itls = per_request(root, "itls", n);
  c.latencies = per_request(root, "latencies", n);
  c.starts = per_request(root, "start_times", n);
  c.queues = per_request(root, "queue_times", n);
  c.errors = per_request(root, "errors", n);
  BenchmarkRun run = read_run(root);
  for (std::size_t i = 0; i < n; ++i) {
    if (failed(c.ttfts[i], c.errors, i)) {
      ++run.failed;
      continue;
    }
    m.points.push_back(read_request(c, i, path));
  }
  m.run = run;
  return m;  // the rest of vLLM's result (throughput, percentiles, ...) is not needed here
}

}  // namespace kvsim::compare
