#!/usr/bin/env bash
# check_compare_replays_serve.sh KVSIM SCENARIO DIR: what `kvsim serve` simulates, written as a
# vllm bench serve result, is what `kvsim compare --queueing` predicts for every request (to
# 0.01%: the CSV rounds to the microsecond), for an open-loop client (replayed at its
# start_times; compare used to re-draw the gaps) and a closed-loop one (max_concurrency 2,
# replayed closed-loop; compare used to refuse it).
set -eu
kvsim=$1 scenario=$2 dir=$3
rm -rf "$dir"
mkdir -p "$dir"
lengths='{"type": "uniform", "prompt_min": 200, "prompt_max": 900, "output_min": 2,
          "output_max": 40}'

# kvsim serve with this workload writes $dir/requests.csv (one row per request).
serve() {
  rm -rf "$dir/run"
  "$kvsim" serve "$scenario" --set "/serving/workload=$1" --out "$dir/run" --requests -q
}

# requests.csv (in completion order) -> bench.json, by request id. $1: "open" or "closed" (a
# closed-loop client's requests were all due at 0: queue_times = start_times). The benchmark's
# clock starts at 500 s.
to_bench() {
  sort -t, -k1,1n "$dir/run/requests.csv" | grep -v '^id' | awk -F, -v mode="$1" '
    { lens = lens sep $7; outs = outs sep $8; ttfts = ttfts sep $9; lat = lat sep $11;
      starts = starts sep sprintf("%.6f", $3 + 500); queues = queues sep $3; sep = ", " }
    END { printf "{\"model_id\": \"facebook/opt-13b\", \"request_rate\": \"inf\",\n";
          printf " \"input_lens\": [%s], \"output_lens\": [%s],\n", lens, outs;
          printf " \"ttfts\": [%s], \"latencies\": [%s], \"start_times\": [%s]", ttfts, lat, starts;
          if (mode == "closed") printf ",\n \"max_concurrency\": 2, \"queue_times\": [%s]", queues;
          printf "}\n" }' > "$dir/bench.json"
}

gates=(--queueing --max-point-error 0.01 --max-p99-error 0.01 --gate-metrics ttft,e2e -q)
serve '{"requests": 12, "arrivals": {"type": "poisson", "rate": "40/s"}, "lengths": '"$lengths"'}'
to_bench open
"$kvsim" compare "$scenario" "$dir/bench.json" "${gates[@]}"

serve '{"requests": 12, "max_concurrency": 2, "arrivals": {"type": "burst"},
        "lengths": '"$lengths"'}'
to_bench closed
"$kvsim" compare "$scenario" "$dir/bench.json" "${gates[@]}"
