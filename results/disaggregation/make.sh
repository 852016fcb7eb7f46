#!/usr/bin/env bash
# Regenerates the tables and figures in results/disaggregation/ (about a minute on 2 cores):
#   bash results/disaggregation/make.sh
# Every point is kvsim serve on scenarios/serving/disaggregated-*.json, varied with --set.
# README.md quotes the CSVs written here. The published claims it discusses (Splitwise,
# DistServe) are for checking only: nothing here is fitted to them.
set -euo pipefail
cd "$(dirname "$0")/../.."
kvsim=build/tools/kvsim
out=results/disaggregation
fig="$out/figures"
mkdir -p "$fig"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: > "$tmp/stderr"

# One serve run; prints goodput per GPU, SLO attainment, request throughput, TTFT p50/p90,
# TPOT p50/p90 (ms).
serve() {
  local scenario=$1
  shift
  rm -rf "$tmp/run"
  "$kvsim" serve "$scenario" -q --out "$tmp/run" "$@" 2>> "$tmp/stderr"
  jq -r --argjson gpus "$GPUS" '[(.goodput / $gpus), (.requests_meeting_slo / .requests),
    .request_throughput, .ttft.p50_s * 1e3, .ttft.p90_s * 1e3, .tpot.p50_s * 1e3,
    .tpot.p90_s * 1e3] | map(tostring) | join(",")' "$tmp/run/summary.json"
}
columns="goodput_per_gpu,slo_attainment,throughput,ttft_p50_ms,ttft_p90_ms,tpot_p50_ms,tpot_p90_ms"

# --- DistServe / Splitwise: Llama-2-7B on one DGX-A100 (8 GPUs on an NVSwitch), chat-like
# lengths, tight SLOs (TTFT 1 s, TPOT 25 ms). Colocated: 8 vLLM replicas of one GPU.
# Disaggregated: P prefill GPUs and D decode GPUs, one GPU an instance. goodput_per_gpu divides
# by the GPUs a layout uses.
base=scenarios/serving/disaggregated-splitwise-70b.json
common=(--set /model='"llama-2-7b"'
        --set /cluster/topology='{"type":"nvswitch","gpus":8}'
        --set /serving/workload/requests=600
        --set /serving/slo='{"ttft":"1s","tpot":"25ms"}')
GPUS=8
jq 'del(.serving.disaggregation) | .serving.replicas = 8' "$base" > "$tmp/colocated-7b.json"
jq '.serving.scheduler = {"type": "chunked_prefill"}' "$tmp/colocated-7b.json" \
  > "$tmp/colocated-7b-chunked.json"
{
  echo "layout,rate,$columns"
  for rate in 8 16 24 32 40 48; do
    GPUS=8
    row=$(serve "$tmp/colocated-7b.json" "${common[@]}" \
      --set "/serving/workload/arrivals/rate=\"$rate/s\"")
    echo "colocated 8x1,$rate,$row"
    row=$(serve "$tmp/colocated-7b-chunked.json" "${common[@]}" \
      --set "/serving/workload/arrivals/rate=\"$rate/s\"")
    echo "colocated 8x1 chunked,$rate,$row"
    # P:D of the 8 GPUs, then two on 7 and 6 GPUs (Splitwise's "same throughput, lower cost").
    for pd in 1:7 2:6 3:5 4:4 3:4 2:4; do
      p=${pd%:*}
      d=${pd#*:}
      GPUS=$((p + d))
      row=$(serve "$base" "${common[@]}" \
        --set "/serving/workload/arrivals/rate=\"$rate/s\"" \
        --set "/serving/disaggregation/prefill={\"instances\":$p,\"gpus\":1,\"strategy\":{\"type\":\"tp\"}}" \
        --set "/serving/disaggregation/decode={\"instances\":$d,\"tensor_parallel\":1}")
      echo "disaggregated ${p}P:${d}D,$rate,$row"
    done
  done
} > "$out/ratio.csv"

# --- Long context: Llama-3.1-8B, 32k-128k-token prompts on two DGX-H100 servers (16 GPUs).
# Disaggregated: one prefill instance of the 8 GPUs of the first server (KVR-E, TSP or TP),
# two decode instances of tensor parallel 4 on the second. Colocated: 4 replicas of TP 4.
# Uneven: GPU 3's NVLink (both directions) at a quarter of its bandwidth.
base=scenarios/serving/disaggregated-long-context-kvr.json
uneven='[{"type":"scale-links","links":[[3,"n0.nvswitch"]],"scale":0.25}]'
GPUS=16
jq 'del(.serving.disaggregation) | .serving.replicas = 4 | .serving.tensor_parallel = 4' \
  "$base" > "$tmp/colocated-long.json"
{
  echo "layout,links,$columns"
  for links in uniform uneven; do
    het=()
    [ "$links" = uneven ] && het=(--set "/cluster/heterogeneity=$uneven")
    for strategy in '{"type":"kvr","partitioner":{"type":"search"}}' \
                    '{"type":"kvr","partitioner":{"type":"even"}}' '{"type":"tsp"}' '{"type":"tp"}'; do
      name=$(jq -r '.type + (if .partitioner then "-" + .partitioner.type else "" end)' <<< "$strategy")
      row=$(serve "$base" ${het[@]+"${het[@]}"} \
        --set "/serving/disaggregation/prefill/strategy=$strategy")
      echo "prefill $name,$links,$row"
    done
    row=$(serve "$tmp/colocated-long.json" ${het[@]+"${het[@]}"})
    echo "colocated 4xTP4,$links,$row"
  done
} > "$out/long-context.csv"

sort -u "$tmp/stderr" > "$out/warnings.txt"

plot() { "$kvsim" plot "$@" > /dev/null; }
plot "$out/ratio.csv" --out "$fig/goodput-per-gpu" --x rate --y goodput_per_gpu --group layout \
  --xlabel "arrival rate (requests/s)" --ylabel "goodput per GPU (requests/s meeting both SLOs)" \
  --title "Llama-2-7B, 8 x A100, TTFT 1 s, TPOT 25 ms"
plot "$out/ratio.csv" --out "$fig/tpot-p90" --x rate --y tpot_p90_ms --group layout \
  --xlabel "arrival rate (requests/s)" --ylabel "TPOT p90 (ms)" --logy \
  --title "Llama-2-7B, 8 x A100"
plot "$out/ratio.csv" --out "$fig/ttft-p90" --x rate --y ttft_p90_ms --group layout \
  --xlabel "arrival rate (requests/s)" --ylabel "TTFT p90 (ms)" --logy \
  --title "Llama-2-7B, 8 x A100"
for links in uniform uneven; do
  plot "$out/long-context.csv" --out "$fig/long-context-$links" --kind bars --x layout \
    --y ttft_p50_ms,ttft_p90_ms --where "links=$links" --xlabel "layout" --ylabel "TTFT (ms)" \
    --title "Llama-3.1-8B, 32k-128k prompts, 16 x H100, $links links"
done
