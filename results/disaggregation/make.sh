#!/usr/bin/env bash
# Regenerates the tables and figures in results/disaggregation/ (about ten minutes on 2 busy cores):
#   bash results/disaggregation/make.sh
# Every point is kvsim serve on scenarios/serving/disaggregated-*.json, varied with --set.
# README.md quotes the CSVs written here. The published claims it discusses (Splitwise,
# DistServe) are for checking only: nothing here is fitted to them.
set -euo pipefail
cd "$(dirname "$0")/../.."
SPLITWISE_RATES=${SPLITWISE_RATES:-"8 12 16 24 32 40 48 56"}
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

# --- Splitwise: Llama-2-70B, one instance per 8-GPU server (tensor parallel 8), servers joined
# by 400 Gb/s RDMA NICs; conversation-like lengths; SLOs TTFT 1 s, TPOT 50 ms. Phase-split
# P:D servers: HA (H100 prefill, A100 decode: Splitwise's cost-optimised design), HH and AA;
# colocated: 4 vLLM replicas of TP 8 on all-H100 and all-A100 clusters. Cost per hour: GPUs x
# price per GPU-hour, the catalog's prices as the HA run's summary states them (cost_per_hour).
base=scenarios/serving/disaggregated-splitwise-ha.json
rm -rf "$tmp/run"
"$kvsim" serve "$base" -q --out "$tmp/run" --set /serving/workload/requests=20 2>> "$tmp/stderr"
h100=$(jq '.disaggregation.cost_per_hour.prefill.usd_per_gpu_hour' "$tmp/run/summary.json")
a100=$(jq '.disaggregation.cost_per_hour.decode.usd_per_gpu_hour' "$tmp/run/summary.json")
jq 'del(.serving.disaggregation) | .serving.replicas = 4 | .serving.tensor_parallel = 8' \
  "$base" > "$tmp/colocated-70b.json"
# One serve run at a cost of $1 per hour: SLO attainment, request throughput, goodput, TTFT and
# TPOT p90 (ms), the cost and good requests per dollar.
serve_cost() {
  local scenario=$1 usd=$2
  shift 2
  rm -rf "$tmp/run"
  "$kvsim" serve "$scenario" -q --out "$tmp/run" "$@" 2>> "$tmp/stderr"
  jq -r --argjson usd "$usd" '[(.requests_meeting_slo / .requests), .request_throughput,
    .goodput, .ttft.p90_s * 1e3, .tpot.p90_s * 1e3, $usd, (.goodput * 3600 / $usd)]
    | map(tostring) | join(",")' "$tmp/run/summary.json"
}
split_layout() {  # prefill GPU, decode GPU, P, D servers
  local nodes=$(($3 + $4))
  echo --set "/cluster/gpu=\"$1\"" --set "/cluster/topology/nodes=$nodes" \
    --set "/serving/disaggregation/prefill/gpu=\"$1\"" \
    --set "/serving/disaggregation/prefill/instances=$3" \
    --set "/serving/disaggregation/decode/gpu=\"$2\"" \
    --set "/serving/disaggregation/decode/instances=$4"
}
{
  echo "layout,rate,slo_attainment,throughput,goodput,ttft_p90_ms,tpot_p90_ms,usd_per_hour,good_requests_per_usd"
  for rate in $SPLITWISE_RATES; do
    arrivals=(--set "/serving/workload/arrivals/rate=\"$rate/s\"")
    for gpu in a100-sxm4-80gb h100-sxm; do
      [ "$gpu" = h100-sxm ] && price=$h100 || price=$a100
      row=$(serve_cost "$tmp/colocated-70b.json" "$(jq -n "32 * $price")" "${arrivals[@]}" \
        --set "/cluster/gpu=\"$gpu\"")
      echo "colocated 4x${gpu%%-*},$rate,$row"
    done
    for layout in "AA a100-sxm4-80gb a100-sxm4-80gb 2 2" "HH h100-sxm h100-sxm 2 2" \
                  "HH h100-sxm h100-sxm 3 1" "HA h100-sxm a100-sxm4-80gb 1 3" \
                  "HA h100-sxm a100-sxm4-80gb 2 2" "HA h100-sxm a100-sxm4-80gb 3 1"; do
      read -r name pg dg p d <<< "$layout"
      [ "$pg" = h100-sxm ] && pp=$h100 || pp=$a100
      [ "$dg" = h100-sxm ] && dp=$h100 || dp=$a100
      # shellcheck disable=SC2046
      row=$(serve_cost "$base" "$(jq -n "8 * ($p * $pp + $d * $dp)")" "${arrivals[@]}" \
        $(split_layout "$pg" "$dg" "$p" "$d"))
      echo "splitwise-$name ${p}P:${d}D,$rate,$row"
    done
  done
} > "$out/splitwise.csv"
# --- KV transfers as flows: the Splitwise-style Llama-2-70B layout (2 prefill instances of TP 4
# on server 0, 2 decode instances of TP 4 on server 1, 400 Gb/s NICs), whole and layerwise,
# closed form against flows, and flows with an uncapped background flow from GPU 0 to GPU 8
# (prefill GPU 0's NIC out, decode GPU 8's NIC in). Prints the transfers' mean time (flows:
# first byte sent to last landed) and the closed form's for the same transfers (ms).
transfers() {
  jq -r '[.disaggregation.kv_transfer.mean_s * 1e3,
    ((.disaggregation.kv_transfer.closed_form_seconds // .disaggregation.kv_transfer.seconds)
      / .disaggregation.kv_transfer.count * 1e3),
    .ttft.p50_s * 1e3, .ttft.p99_s * 1e3, .tpot.p50_s * 1e3, .tpot.p99_s * 1e3]
    | map(tostring) | join(",")' "$tmp/run/summary.json"
}
base=scenarios/serving/disaggregated-splitwise-70b.json
background='[{"from":0,"to":8}]'
{
  echo "transfer,communication,rate,kv_mean_ms,kv_closed_form_mean_ms,ttft_p50_ms,ttft_p99_ms,tpot_p50_ms,tpot_p99_ms"
  for transfer in whole layerwise; do
    for rate in 2 4 6; do
      for communication in closed-form flows flows+background; do
        set_background=()
        [ "$communication" = flows+background ] && set_background=(--set "/cluster/background=$background")
        mode=${communication%+background}
        rm -rf "$tmp/run"
        "$kvsim" serve "$base" -q --out "$tmp/run" --set "/serving/communication=\"$mode\"" \
          --set "/serving/disaggregation/transfer=\"$transfer\"" \
          --set "/serving/workload/arrivals/rate=\"$rate/s\"" \
          ${set_background[@]+"${set_background[@]}"} 2>> "$tmp/stderr"
        echo "$transfer,$communication,$rate,$(transfers)"
      done
    done
  done
} > "$out/flows.csv"

# --- Splitwise's mixed pool on the DistServe setup above: 3P:4D plus one mixed instance (8
# GPUs), lent to the prefill pool when every prefill instance has 2 requests queued or running,
# or to the decode pool when no decode instance has room, against 3P:5D, 4P:4D and 3P:4D.
base=scenarios/serving/disaggregated-splitwise-70b.json
{
  echo "layout,rate,$columns,lent_to_prefill,lent_to_decode"
  for rate in 24 32 40; do
    for layout in 3:5:0 4:4:0 3:4:0 3:4:1; do
      IFS=: read -r p d m <<< "$layout"
      GPUS=$((p + d + m))
      mixed=()
      [ "$m" -gt 0 ] && mixed=(--set "/serving/disaggregation/mixed={\"instances\":$m,\"threshold\":2}")
      row=$(serve "$base" "${common[@]}" \
        --set "/serving/workload/arrivals/rate=\"$rate/s\"" \
        --set "/serving/disaggregation/prefill={\"instances\":$p,\"gpus\":1,\"strategy\":{\"type\":\"tp\"}}" \
        --set "/serving/disaggregation/decode={\"instances\":$d,\"tensor_parallel\":1}" \
        ${mixed[@]+"${mixed[@]}"})
      lent=$(jq -r '[.disaggregation.mixed.lent_to_prefill // 0, .disaggregation.mixed.lent_to_decode // 0]
        | map(tostring) | join(",")' "$tmp/run/summary.json")
      name="${p}P:${d}D"
      [ "$m" -gt 0 ] && name="$name+${m}M"
      echo "$name,$rate,$row,$lent"
    done
  done
} > "$out/mixed.csv"

# --- Batched prefill on the same setup: 3P:5D and 4P:4D with prefill batches of up to 1 (one
# prompt at a time) or 8 prompts (at most 4096 tokens), priced as one pass over the summed tokens
# (attention as one causal sequence: an upper bound).
{
  echo "layout,rate,max_batch_size,$columns"
  for rate in 24 32 40; do
    for pd in 3:5 4:4; do
      p=${pd%:*}
      d=${pd#*:}
      GPUS=$((p + d))
      for batch in 1 8; do
        row=$(serve "$base" "${common[@]}" \
          --set "/serving/workload/arrivals/rate=\"$rate/s\"" \
          --set "/serving/disaggregation/transfer=\"whole\"" \
          --set "/serving/disaggregation/prefill={\"instances\":$p,\"gpus\":1,\"strategy\":{\"type\":\"tp\"},\"max_batch_size\":$batch}" \
          --set "/serving/disaggregation/decode={\"instances\":$d,\"tensor_parallel\":1}")
        echo "${p}P:${d}D,$rate,$batch,$row"
      done
    done
  done
} > "$out/batched.csv"

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
plot "$out/splitwise.csv" --out "$fig/splitwise-requests-per-usd" --x rate \
  --y good_requests_per_usd --group layout --xlabel "arrival rate (requests/s)" \
  --ylabel "requests meeting both SLOs per dollar" \
  --title "Llama-2-70B, 8-GPU servers, TTFT 1 s, TPOT 50 ms"
plot "$out/splitwise.csv" --out "$fig/splitwise-slo-attainment" --x rate --y slo_attainment \
  --group layout --xlabel "arrival rate (requests/s)" --ylabel "share of requests meeting both SLOs" \
  --title "Llama-2-70B, 8-GPU servers, TTFT 1 s, TPOT 50 ms"
for links in uniform uneven; do
  plot "$out/long-context.csv" --out "$fig/long-context-$links" --kind bars --x layout \
    --y ttft_p50_ms,ttft_p90_ms --where "links=$links" --xlabel "layout" --ylabel "TTFT (ms)" \
    --title "Llama-3.1-8B, 32k-128k prompts, 16 x H100, $links links"
done
plot "$out/flows.csv" --out "$fig/kv-transfer-flows" --kind bars --x communication \
  --y kv_mean_ms,kv_closed_form_mean_ms --where "transfer=whole" --where "rate=6" \
  --xlabel "KV transfers" --ylabel "KV transfer time, mean (ms)" \
  --title "Llama-2-70B, 2 x 8 A100, whole-cache transfers at 6 requests/s"
plot "$out/mixed.csv" --out "$fig/mixed-pool-goodput" --x rate --y goodput_per_gpu --group layout \
  --xlabel "arrival rate (requests/s)" --ylabel "goodput per GPU (requests/s meeting both SLOs)" \
  --title "Llama-2-7B, A100s, Splitwise's mixed pool (M)"
