#pragma once
// Streaming latency statistics: a histogram whose memory does not grow with the number of
// requests, and whose add() is a few integer operations (no logarithm, no allocation).
//
// Buckets are log-linear, as HdrHistogram's: a positive double's IEEE-754 bits are its binary
// exponent then its mantissa, so the bits shifted right by 52 - 7 are exponent x 128 + the top
// 7 mantissa bits, increasing with the value. Each octave [2^e, 2^(e+1)) is split into 128 equal
// buckets; bucket [L, H) has H - L = 2^e / 128 <= L / 128. A quantile is reported as the middle
// of its bucket (at most the largest sample), so it is within (H - L) / 2 <= L / 256 of the
// sample at that rank: a relative error of at most 2^-8 = 0.39% (the 1%-wide logarithmic bins
// before issue 20 gave 0.5%). Below 2^-24 s (about 60 ns) every value shares one bucket,
// reported as 0 (an absolute error under 60 ns); at and above 2^34 s (544 years, beyond any
// integer-nanosecond time) one bucket, reported as the largest sample.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim/core/config.hpp"

namespace kvsim::serving {

class LatencyHistogram {
 public:
  LatencyHistogram();
  /// Inline: serving adds one inter-token latency per generated token.
  void add(double seconds) {
    // Latencies come from integer-nanosecond times, so they are finite and at most ~292 years.
    if (!std::isfinite(seconds) || seconds < 0) [[unlikely]] not_a_latency(seconds);
    ++bins_[bin_of(seconds)];
    ++count_;
    sum_ += seconds;
    sum_squares_ += seconds * seconds;
    max_ = std::max(max_, seconds);
  }
  /// `n` samples of the same latency: what n add(seconds) calls do, to the bit (the sums still
  /// take it n times, in order), with the bucket found once. Serving adds a batch's equal
  /// inter-token gaps this way.
  void add_repeated(double seconds, std::uint64_t n) {
    if (!std::isfinite(seconds) || seconds < 0) [[unlikely]] not_a_latency(seconds);
    bins_[bin_of(seconds)] += n;
    count_ += n;
    const double square = seconds * seconds;
    for (std::uint64_t i = 0; i < n; ++i) {
      sum_ += seconds;
      sum_squares_ += square;
    }
    if (n > 0) max_ = std::max(max_, seconds);
  }
  std::uint64_t count() const { return count_; }
  double mean() const { return count_ == 0 ? 0 : sum_ / static_cast<double>(count_); }
  /// The population standard deviation (numpy's np.std, as vllm bench serve reports it), exact
  /// from the sums, not the buckets; 0 when count is 0.
  double stddev() const;
  /// The q-quantile (0 < q <= 1): the sample of rank ceil(q x count), as the middle of its
  /// bucket, within 0.39% of it (see above).
  double quantile(double q) const;
  /// mean, p50, p90, p99, max in seconds, and count; the statistics are null when count is 0
  /// (undefined, not zero).
  Json to_json() const;

 private:
  // Log-linear buckets: 2^kSubBits per octave, from 2^-24 s (about 60 ns) up to 2^34 s (about
  // 544 years); bucket 0 below, the last at and above.
  static constexpr int kSubBits = 7;
  static constexpr int kShift = 52 - kSubBits;  // IEEE-754 doubles: 52 mantissa bits
  // The top bits of 2^-24 and 2^34: exponent x 2^kSubBits.
  static constexpr std::uint64_t kLowKey = std::bit_cast<std::uint64_t>(0x1p-24) >> kShift;
  static constexpr std::uint64_t kHighKey = std::bit_cast<std::uint64_t>(0x1p34) >> kShift;
  static constexpr std::size_t kBins = kHighKey - kLowKey + 2;
  static_assert(kLowKey == std::uint64_t{1023 - 24} << kSubBits);
  static_assert(kHighKey == std::uint64_t{1023 + 34} << kSubBits);
  static std::size_t bin_of(double seconds) {
    const std::uint64_t key = std::bit_cast<std::uint64_t>(seconds) >> kShift;
    if (key < kLowKey) return 0;
    if (key >= kHighKey) return kBins - 1;
    return static_cast<std::size_t>(key - kLowKey) + 1;
  }
  static double middle_of(std::size_t bin);
  [[noreturn]] static void not_a_latency(double seconds);

  std::vector<std::uint64_t> bins_;  // sized once, at construction
  std::uint64_t count_ = 0;
  double sum_ = 0;
  double sum_squares_ = 0;
  double max_ = 0;
};

/// What a run's summary is made of, besides the totals.
struct RunShape {
  double span = 0;  // seconds from the first arrival to the last completion
  int replicas = 1;
  int pipeline_parallel = 1;
  std::int64_t kv_capacity_per_replica = 0;  // tokens
  std::uint64_t preemptions = 0, swaps = 0, events = 0;
};

/// Everything a serving run accumulates, streamed: memory does not grow with requests.
struct Totals {
  LatencyHistogram ttft, tpot, itl, e2e, queueing;
  std::uint64_t completed = 0, input_tokens = 0, output_tokens = 0, good = 0;
  std::uint64_t rejected = 0;   // longer than the model's context: never served
  std::uint64_t truncated = 0;  // cut to lengths.max_tokens, then served
  double busy_seconds = 0;                    // summed over pipeline stages
  double kv_used_area = 0, kv_held_area = 0;  // token-seconds
  // Output tokens per whole second of simulated time, as they come (in time order), and the
  // most in any one second (vllm bench serve's max_output_tokens_per_s).
  std::int64_t token_second = -1, tokens_this_second = 0, peak_tokens_per_second = 0;

  /// An output token at `now_ns` (nanoseconds from the start of simulated time).
  void count_token(std::int64_t now_ns) { count_tokens(now_ns, 1); }
  /// `n` output tokens at `now_ns`: the counts of n count_token calls (none when n is 0).
  void count_tokens(std::int64_t now_ns, std::int64_t n) {
    if (n == 0) return;
    const std::int64_t second = now_ns / 1'000'000'000;
    if (second != token_second) {
      token_second = second;
      tokens_this_second = 0;
    }
    tokens_this_second += n;
    peak_tokens_per_second = std::max(peak_tokens_per_second, tokens_this_second);
  }

  // Requests in flight per whole second (vllm bench serve's max_concurrent_requests: the most
  // that arrived by the end of a second and had not completed before it began), counted as
  // served requests arrive and complete, in time order: memory does not grow with the run.
  std::int64_t arrivals = 0, completions = 0, completions_before_second = 0;
  std::int64_t concurrency_second = -1, peak_concurrent = 0;

  /// A request to be served arrives, or one completes, at `now_ns`.
  void request_arrived(std::int64_t now_ns) {
    enter_second(now_ns);
    ++arrivals;
  }
  void request_completed(std::int64_t now_ns) {
    enter_second(now_ns);
    ++completions;
  }
  /// The most requests in flight in any one second so far.
  std::int64_t max_concurrent_requests() const {
    return std::max(peak_concurrent, arrivals - completions_before_second);
  }

  /// summary.json: aggregates, and under "vllm_bench" the same quantities with the names
  /// `vllm bench serve` writes.
  Json summary(const RunShape& run) const;

 private:
  // The second of `now_ns` begins: the one before it is final (later events are later).
  void enter_second(std::int64_t now_ns) {
    const std::int64_t second = now_ns / 1'000'000'000;
    if (second == concurrency_second) return;
    peak_concurrent = max_concurrent_requests();
    completions_before_second = completions;
    concurrency_second = second;
  }
};

}  // namespace kvsim::serving
