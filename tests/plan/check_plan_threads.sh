#!/usr/bin/env bash
# check_plan_threads.sh KVSIM PLAN DIR: kvsim plan on one thread and on two writes
# byte-identical outputs.
set -eu
kvsim=$1 plan=$2 dir=$3
rm -rf "$dir"
"$kvsim" --threads 1 plan "$plan" --quiet --out "$dir/one"
"$kvsim" --threads 2 plan "$plan" --quiet --out "$dir/two"
for f in plan.json plan.csv plan.md pareto.csv plan.scenario.json; do
  cmp "$dir/one/$f" "$dir/two/$f"
done
