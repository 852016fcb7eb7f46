#!/usr/bin/env bash
# Regenerates results/context-parallel/: the runs (grid.py: one `kvsim run` per point and
# strategy, two at a time) and the figures (`kvsim plot`, gnuplot). About a few minutes on 2
# cores; timing.txt records the last run's wall time.
#   bash results/context-parallel/make.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
kvsim=build/tools/kvsim
out=results/context-parallel
fig="$out/figures"
q() { "$kvsim" "$@" 2> >(grep -v 'warning: .*trained maximum' >&2); }

start=$(date +%s)
python3 "$out/grid.py"
echo "grid.py: $(( $(date +%s) - start )) s wall on $(nproc) cores ($(date -u +%F))" > "$out/timing.txt"
python3 "$out/summarize.py"

mkdir -p "$fig"
for model in llama-3-70b llama-3.1-405b; do
  for fabric in rail-400g-rdma frontend-100g-tcp; do
    for nodes in 4 16; do
      q plot "$out/grid.csv" --out "$fig/ttft-$model-$fabric-${nodes}n" --x context --y ttft_ms \
        --group strategy --logx --logy --where model=$model --where fabric=$fabric \
        --where nodes=$nodes --where status=ok --xlabel "prompt tokens" --ylabel "TTFT (ms)" \
        --title "$model, $nodes nodes x 8 H100, $fabric" >/dev/null
    done
    for context in 131072 1048576; do
      q plot "$out/grid.csv" --out "$fig/nodes-$model-$fabric-$context" --x nodes --y ttft_ms \
        --group strategy --logx --logy --where model=$model --where fabric=$fabric \
        --where context=$context --where status=ok --xlabel "nodes of 8 H100" \
        --ylabel "TTFT (ms)" --title "$model, $context tokens, $fabric" >/dev/null
    done
  done
  for context in 131072 524288; do
    q plot "$out/uneven.csv" --out "$fig/uneven-$model-$context" --kind bars --x strategy \
      --y ttft_ms --group condition --where model=$model --where context=$context \
      --where status=ok --xlabel "layout (TP8 per node)" --ylabel "TTFT (ms)" \
      --title "$model, 4 nodes, $context tokens, 400 Gb/s: node 1's NICs at 1/4" >/dev/null
  done
done
for fabric in rail-400g-rdma frontend-100g-tcp; do
  q plot "$out/cached.csv" --out "$fig/cached-llama-3-70b-$fabric" --x cached_share --y ttft_ms \
    --group strategy --where fabric=$fabric --where status=ok --xlabel "cached share of the prompt" \
    --ylabel "TTFT (ms)" --title "llama-3-70b, 4 nodes x 8 H100, 128k tokens, $fabric" >/dev/null
done
echo "results/context-parallel regenerated"
