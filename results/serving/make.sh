#!/usr/bin/env bash
# Regenerates the tables, figures and timings in results/serving/ (about a minute on 2 cores):
#   bash results/serving/make.sh
# README.md quotes the CSVs written here.
set -euo pipefail
cd "$(dirname "$0")/../.."
kvsim=build/tools/kvsim
out=results/serving
fig="$out/figures"

# Latency against load for the four schedulers (Vidur's workload, 3,000 requests per point).
"$kvsim" sweep sweeps/serving/load.json --out "$out/load" -q
for metric in ttft_p50 ttft_p99 tpot_p99 itl_p99; do
  "$kvsim" plot "$out/load/sweep.csv" --out "$fig/load-$metric" --x rate --group scheduler \
    --y "serve.${metric}_ms" --logy --xlabel "arrival rate (requests/s)" \
    --ylabel "${metric/_/ } (ms)" --title "Llama-2-7B on one A100, Splitwise conversations" \
    > /dev/null
done
"$kvsim" plot "$out/load/sweep.csv" --out "$fig/load-throughput" --x rate --group scheduler \
  --y serve.request_throughput --xlabel "arrival rate (requests/s)" \
  --ylabel "completed requests/s" --title "Llama-2-7B on one A100, Splitwise conversations" \
  > /dev/null

# Per-request CDFs at 4 requests/s: one requests.csv per scheduler, joined with its name.
joined="$out/cdf/requests.csv"
mkdir -p "$out/cdf"
first=1
for pair in static:contiguous continuous:contiguous vllm:paged chunked_prefill:paged; do
  scheduler=${pair%%:*} memory=${pair##*:}
  budget=4096
  [ "$scheduler" = chunked_prefill ] && budget=512
  "$kvsim" serve scenarios/serving/vidur-splitwise-conv.json -q --out "$out/cdf/$scheduler" \
    --requests --set /serving/workload/requests=3000 \
    --set "/serving/scheduler={\"type\":\"$scheduler\",\"max_batch_size\":128,\"max_batched_tokens\":$budget}" \
    --set "/serving/memory={\"type\":\"$memory\"}"
  if [ $first = 1 ]; then
    sed -n '1s/^/scheduler,/p' "$out/cdf/$scheduler/requests.csv" > "$joined"
    first=0
  fi
  sed -n "2,\$s/^/$scheduler,/p" "$out/cdf/$scheduler/requests.csv" >> "$joined"
  rm -r "$out/cdf/$scheduler"
done
"$kvsim" plot "$joined" --kind cdf --x tpot_s --group scheduler --logx --out "$fig/cdf-tpot" \
  --xlabel "TPOT (s)" --title "TPOT at 4 requests/s" > /dev/null
"$kvsim" plot "$joined" --kind cdf --x ttft_s --group scheduler --logx --out "$fig/cdf-ttft" \
  --xlabel "TTFT (s)" --title "TTFT at 4 requests/s" > /dev/null

# Anyscale's continuous-batching setup (OPT-13B, one A100-40GB, 1,000 requests at once).
"$kvsim" sweep sweeps/serving/anyscale.json --out "$out/anyscale" -q

# Cutting a DGX-A100 into replicas for Llama-2-70B.
"$kvsim" sweep sweeps/serving/parallelism.json --out "$out/parallelism" -q
"$kvsim" plot "$out/parallelism/sweep.csv" --out "$fig/parallelism-goodput" --x rate \
  --group layout --y serve.goodput --xlabel "arrival rate (requests/s)" \
  --ylabel "goodput (requests/s within TTFT 2 s, TPOT 100 ms)" \
  --title "Llama-2-70B on 8 x A100 (NVSwitch)" > /dev/null
"$kvsim" plot "$out/parallelism/sweep.csv" --out "$fig/parallelism-ttft_p99" --x rate \
  --group layout --y serve.ttft_p99_ms --logy --xlabel "arrival rate (requests/s)" \
  --ylabel "TTFT p99 (ms)" --title "Llama-2-70B on 8 x A100 (NVSwitch)" > /dev/null

# Closed-form communication against flows for one layout (no contention on an NVSwitch).
for mode in closed-form flows; do
  "$kvsim" serve scenarios/serving/llama-2-70b-dgx-a100.json -q --out "$out/communication/$mode" \
    --set /serving/replicas=2 --set /serving/tensor_parallel=2 --set /serving/pipeline_parallel=2 \
    --set "/serving/communication=\"$mode\""
  rm "$out/communication/$mode/scenario.resolved.json"
done

# Timings: the whole process, one core for the million requests. kvsim's own stderr (the
# truncation warnings, also in the summaries) stays out of the timings.
times=$(mktemp)
timed() { /usr/bin/time -f "%e %M" -o "$times" "$@" 2>/dev/null; cat "$times"; }
{
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "# Vidur's workload, 10,000 requests (5 runs: wall seconds, max RSS KB)"
  for _ in 1 2 3 4 5; do
    timed "$kvsim" serve scenarios/serving/vidur-splitwise-conv.json -q
  done
  echo "# 1,000,000 requests on 64 replicas, one core (wall seconds, max RSS KB)"
  timed taskset -c 0 "$kvsim" serve scenarios/serving/chat-1m-64-replicas.json -q \
    --out "$out/chat-1m"
} > "$out/timing.txt"
rm "$times"
rm "$out/chat-1m/scenario.resolved.json"
