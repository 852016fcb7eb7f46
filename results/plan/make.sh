#!/usr/bin/env bash
# Regenerates the worked plans and figures in results/plan/ (tens of minutes on a loaded 2-core
# machine): bash results/plan/make.sh
# Each plan is kvsim plan on a file of scenarios/plan/, at several target rates with --set; the
# figures are kvsim plot over the plans' pareto.csv and plan.csv. README.md quotes the tables.
set -euo pipefail
cd "$(dirname "$0")/../.."
kvsim=build/tools/kvsim
out=results/plan
fig="$out/figures"
mkdir -p "$fig"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# plan NAME PLAN RATE: runs the plan at RATE requests/s into $out/NAME-RATE/ (plan.md,
# plan.csv, pareto.csv; plan.json is left out: large and in plan.csv already).
plan() {
  local dir="$tmp/$1-$3"
  "$kvsim" plan "$2" -q --out "$dir" --set "/workload/arrivals/rate=\"$3/s\""
  mkdir -p "$out/$1-$3"
  cp "$dir/plan.md" "$dir/plan.csv" "$dir/pareto.csv" "$out/$1-$3/"
}

for rate in 5 20 80; do plan chat-llama-3-8b scenarios/plan/chat-llama-3-8b.json "$rate"; done
for rate in 1 4 16; do plan chat-llama-3-70b scenarios/plan/chat-llama-3-70b.json "$rate"; done
plan long-context-llama-3.1-8b scenarios/plan/long-context-llama-3.1-8b.json 0.25
# Colocated against disaggregated layouts (prefill pools of TP, TSP, KV-Runahead): ~2 min CPU.
plan long-context-pools-llama-3.1-8b scenarios/plan/long-context-pools-llama-3.1-8b.json 0.25

# Figures: the Pareto front (cost per hour against p99 TTFT at the target rate) and, per layout
# family (model, GPU, tp x pp), the highest rate meeting the SLOs against cost per hour.
for csv in "$out"/*/plan.csv; do
  d=$(dirname "$csv")
  name=$(basename "$d")
  "$kvsim" plot "$d/pareto.csv" --out "$fig/$name-pareto" --x cost_per_hour --y ttft_p99_ms \
    --kind lines
  if grep -q ',feasible,' "$d/plan.csv"; then
    "$kvsim" plot "$d/plan.csv" --out "$fig/$name-rate-vs-cost" --x cost_per_hour --y max_rate \
      --group family --where status=feasible --kind lines --logy
  fi
done
