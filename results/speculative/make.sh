#!/usr/bin/env bash
# Regenerates the tables and figures in results/speculative/ (a few minutes on 2 cores):
#   bash results/speculative/make.sh
# Every point is kvsim run (the decode step with and without the drafter) or kvsim serve (the
# run and the same run without the drafter) on scenarios/speculative/llama-3-8b-h100.json,
# varied with --set. README.md quotes the CSVs written here.
set -euo pipefail
cd "$(dirname "$0")/../.."
kvsim=build/tools/kvsim
scenario=scenarios/speculative/llama-3-8b-h100.json
out=results/speculative
fig="$out/figures"
mkdir -p "$fig"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

draft='{"type":"draft-model","model":"llama-3.2-1b"'
eagle='{"type":"eagle","layers":1'

# One decode step: drafter JSON (without its closing brace), k, acceptance, batch, context.
# Prints: plain ms, draft ms, verify ms, expected tokens per step, TPOT ms, speed-up,
# Leviathan's speed-up, and c (one draft pass over one plain step).
step() {
  "$kvsim" run "$scenario" -q --out "$tmp/run" \
    --set "/decode/drafter=$1,\"k\":$2,\"acceptance\":$3}" \
    --set "/decode/batch_size=$4" --set "/decode/context_tokens=$5" 2>> "$tmp/stderr"
  jq -r --argjson k "$2" '.decode.speculative |
    [.plain_step_ns / 1e6, .draft_ns / 1e6, .verify_ns / 1e6, .expected_tokens_per_step,
     .tpot_s * 1e3, .speedup, .leviathan_speedup, (.draft_ns / $k) / .plain_step_ns] |
    map(tostring) | join(",")' "$tmp/run/results.json"
}
columns="plain_ms,draft_ms,verify_ms,tokens_per_step,tpot_ms,speedup,leviathan_speedup,c"

# Speed-up against the acceptance rate (batch 1, k 4, context 1024).
{
  echo "drafter,acceptance,$columns"
  for a in 0.3 0.4 0.5 0.6 0.7 0.8 0.9 0.95; do
    echo "llama-3.2-1b,$a,$(step "$draft" 4 "$a" 1 1024)"
    echo "eagle,$a,$(step "$eagle" 4 "$a" 1 1024)"
  done
} > "$out/acceptance.csv"

# Against k (batch 1, acceptance 0.7 and 0.9).
{
  echo "drafter,k,$columns"
  for k in 1 2 3 4 5 6 8 10 12; do
    for a in 0.7 0.9; do
      echo "llama-3.2-1b a=$a,$k,$(step "$draft" "$k" "$a" 1 1024)"
      echo "eagle a=$a,$k,$(step "$eagle" "$k" "$a" 1 1024)"
    done
  done
} > "$out/k.csv"

# Against the drafter's cost: heads of 1 to 16 of the target's layers and the 1B draft model
# (batch 1, k 4, acceptance 0.7); c is one draft pass over one plain step.
{
  echo "drafter,$columns"
  for layers in 1 2 4 8 16; do
    echo "eagle ${layers} layers,$(step "{\"type\":\"eagle\",\"layers\":$layers" 4 0.7 1 1024)"
  done
  echo "llama-3.2-1b,$(step "$draft" 4 0.7 1 1024)"
} > "$out/cost.csv"

# Against the batch (k 4, acceptance 0.7, context 1024): where the speed-up crosses 1.
{
  echo "drafter,batch,$columns"
  for b in 1 2 4 8 16 32 48 64 96 128 192 256; do
    echo "llama-3.2-1b,$b,$(step "$draft" 4 0.7 "$b" 1024)"
    echo "eagle,$b,$(step "$eagle" 4 0.7 "$b" 1024)"
  done
} > "$out/batch.csv"

# Serving: TPOT p50/p99 against the request rate, each with the same run without the drafter.
{
  echo "drafter,rate,tpot_p50_ms,tpot_p99_ms,base_tpot_p50_ms,base_tpot_p99_ms,tokens_per_step,speedup_tpot_p50,speedup_tpot_p99,throughput_speedup"
  for rate in 1 2 4 8 12 16 20 24; do
    for pair in "llama-3.2-1b:$draft" "eagle:$eagle"; do
      name=${pair%%:*} drafter=${pair#*:}
      "$kvsim" serve "$scenario" -q --out "$tmp/serve" --set "/serving/workload/requests=500" \
        --set "/serving/workload/arrivals/rate=\"$rate/s\"" \
        --set "/serving/drafter=$drafter,\"k\":4,\"acceptance\":0.7}" 2>> "$tmp/stderr"
      jq -r --arg n "$name" --arg r "$rate" '[$n, $r, .tpot.p50_s * 1e3, .tpot.p99_s * 1e3,
        .speculative.baseline.tpot.p50_s * 1e3, .speculative.baseline.tpot.p99_s * 1e3,
        .speculative.mean_tokens_per_step, .speculative.speedup.tpot_p50,
        .speculative.speedup.tpot_p99, .speculative.speedup.output_throughput] |
        map(tostring) | join(",")' "$tmp/serve/summary.json"
    done
  done
} > "$out/serving.csv"

# kvsim's warnings (the same for every point: the H100 profile's attention derived from the
# A100's), kept beside the results.
sort -u "$tmp/stderr" > "$out/warnings.txt"

title="Llama-3-8B on one H100"
plot() { "$kvsim" plot "$@" > /dev/null; }
plot "$out/acceptance.csv" --out "$fig/speedup-acceptance" --x acceptance --y speedup \
  --group drafter --xlabel "acceptance rate a" --ylabel "speed-up (TPOT without / with)" \
  --title "$title, batch 1, k 4"
plot "$out/k.csv" --out "$fig/speedup-k" --x k --y speedup --group drafter \
  --xlabel "draft tokens per step k" --ylabel "speed-up" --title "$title, batch 1"
plot "$out/cost.csv" --out "$fig/speedup-cost" --kind bars --x drafter --y speedup,leviathan_speedup \
  --xlabel "drafter" --ylabel "speed-up (simulated; Leviathan's with verify = one step)" \
  --title "$title, batch 1, k 4, a 0.7"
plot "$out/batch.csv" --out "$fig/speedup-batch" --x batch --y speedup --group drafter --logx \
  --xlabel "batch (sequences)" --ylabel "speed-up" --title "$title, k 4, a 0.7, 1024 tokens"
for stat in p50 p99; do
  awk -F, -v s="$stat" 'NR == 1 { print "series,rate,tpot_ms"; next }
    { col = (s == "p50") ? 3 : 4; base = (s == "p50") ? 5 : 6;
      print $1 "," $2 "," $col; if ($1 == "eagle") print "no speculation," $2 "," $base }' \
    "$out/serving.csv" > "$tmp/tpot-$stat.csv"
  plot "$tmp/tpot-$stat.csv" --out "$fig/serving-tpot-$stat" --x rate --y tpot_ms --group series \
    --xlabel "arrival rate (requests/s)" --ylabel "TPOT $stat (ms)" \
    --title "$title serving 512+256 tokens, k 4, a 0.7"
done
