#!/usr/bin/env bash
# Regenerates every table and figure in results/paper/ (about 35 s on 2 cores):
#   bash results/paper/make.sh
# Each figure below is one `kvsim plot` command over a sweep CSV; README.md lists them.
set -euo pipefail
cd "$(dirname "$0")/../.."
kvsim=build/tools/kvsim
out=results/paper
q() { "$kvsim" "$@" 2> >(grep -v 'warning: .*trained maximum' >&2); }

# KVR-P: trained on one grid, validated at held-out context lengths and bandwidths.
q train-predictor sweeps/predictor/train.json --validate sweeps/predictor/validate.json \
  --granularity 16 --out predictors/a100-kvr.json --report "$out/predictor" -q
# The sweeps.
for s in strategies scaling robustness calibrated; do q sweep "sweeps/paper/$s.json" --out "$out/$s" -q; done
# TTFT landscapes: 2 GPUs (a curve over the cut) and 3 GPUs (a map over two cuts).
q search scenarios/paper/llama-2-7b-2xa100-300GBps.json --landscape --out "$out/landscape-2gpu" -q
q search scenarios/paper/llama-2-7b-4xa100-300GBps.json --set /cluster/topology/gpus=3 \
  --granularity 128 --landscape --out "$out/landscape-3gpu" -q

fig="$out/figures"
csv="$out/strategies/sweep.csv"
for attention in eager fused; do
  for model in llama-2-7b falcon-7b; do
    for net in 300GB/s 10GB/s; do
      tag="$model-${net%/s}-$attention"
      q plot "$csv" --out "$fig/ttft-$tag" --x context --logx --logy \
        --y tsp.ttft_ms,kvr/even.ttft_ms,kvr/search.ttft_ms,kvr/predicted.ttft_ms \
        --where attention=$attention --where model=$model --where network=$net --where gpus=8 \
        --title "$model, 8 x A100, $net, $attention attention" --ylabel "TTFT (ms)" >/dev/null
      q plot "$csv" --out "$fig/speedup-$tag" --kind bars --x gpus \
        --y kvr/even.speedup,kvr/search.speedup,kvr/predicted.speedup \
        --where attention=$attention --where model=$model --where network=$net \
        --where context=16384 --xlabel "GPUs" --ylabel "speed-up over TSP" \
        --title "$model, 16k tokens, $net, $attention attention" >/dev/null
    done
  done
done
for model in llama-2-7b falcon-7b; do
  for net in 300GB/s 10GB/s; do
    q plot "$out/scaling/sweep.csv" --out "$fig/scaling-$model-${net%/s}" --x gpus \
      --y ideal.ttft_ms,tsp.ttft_ms,kvr/even.ttft_ms,kvr/search.ttft_ms --logy \
      --where model=$model --where network=$net --ylabel "TTFT (ms)" \
      --title "$model, 12k tokens, $net, eager attention: scaling against the ideal" >/dev/null
  done
  q plot "$out/robustness/sweep.csv" --out "$fig/robustness-$model" --kind bars --x condition \
    --y tsp.ttft_ms,kvr/even.ttft_ms,kvr/search.ttft_ms,kvr/predicted.ttft_ms \
    --where model=$model --where context=16384 --ylabel "TTFT (ms)" \
    --title "$model, 16k tokens, 8 x A100 at 300 GB/s: uneven and noisy links" >/dev/null
done
# KVR-E's and KVR-S's partitions, marked on the landscapes (cut k = tokens on processes 1..k).
cuts() { jq -r "[$1 | .[0:-1] | foreach .[] as \$p (0; . + \$p)] | join(\",\")" "$2"; }
q plot "$out/landscape-2gpu/landscape.csv" --out "$fig/landscape-2gpu" --x cut_1 --y ttft_ms \
  --mark "$(cuts .kvr_even.partition "$out/landscape-2gpu/search.json")=KVR-E" \
  --mark "$(cuts .partition "$out/landscape-2gpu/search.json")=KVR-S" \
  --xlabel "tokens on process 1" --ylabel "TTFT (ms)" \
  --title "llama-2-7b, 2 x A100, 16k tokens, 300 GB/s: TTFT over the cut" >/dev/null
q plot "$out/landscape-3gpu/landscape.csv" --out "$fig/landscape-3gpu" --kind heatmap \
  --x cut_1 --y cut_2 --z ttft_ms --xlabel "first cut (tokens)" --ylabel "second cut (tokens)" \
  --mark "$(cuts .kvr_even.partition "$out/landscape-3gpu/search.json")=KVR-E" \
  --mark "$(cuts .partition "$out/landscape-3gpu/search.json")=KVR-S" \
  --title "llama-2-7b, 3 x A100, 16k tokens, 300 GB/s: TTFT over two cuts" >/dev/null
for net in 300GB/s 10GB/s; do
  q plot "$out/calibrated/sweep.csv" --out "$fig/ttft-llama-2-7b-${net%/s}-fused-calibrated" \
    --x context --logx --logy --y tsp.ttft_ms,kvr/even.ttft_ms,kvr/search.ttft_ms \
    --where network=$net --where gpus=8 --ylabel "TTFT (ms)" \
    --title "llama-2-7b, 8 x A100, $net, fused attention, calibrated A100 profile" >/dev/null
done
echo "results/paper regenerated"
