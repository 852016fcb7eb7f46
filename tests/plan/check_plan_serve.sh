#!/usr/bin/env bash
# check_plan_serve.sh KVSIM PLAN DIR: kvsim plan writes the best layout as plan.scenario.json;
# kvsim serve runs it at the target rate, and at the highest rate the plan found, and every SLO
# of the plan holds in serve's summary.json.
set -eu
kvsim=$1 plan=$2 dir=$3
rm -rf "$dir"
"$kvsim" plan "$plan" --quiet --out "$dir/plan"
max_rate=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(repr(p["candidates"][p["best"]]["max_rate"]))' "$dir/plan/plan.json")
"$kvsim" serve "$dir/plan/plan.scenario.json" --quiet --out "$dir/target"
"$kvsim" serve "$dir/plan/plan.scenario.json" --quiet --out "$dir/max" \
  --set "/serving/workload/arrivals/rate=\"${max_rate}/s\""
for run in target max; do
  python3 - "$dir/plan/plan.json" "$dir/$run/summary.json" "$run" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
summary = json.load(open(sys.argv[2]))
failed = []
for key, limit in plan["plan"]["slo"].items():
    metric, stat = key.split("_")
    section = "e2e_latency" if metric == "e2e" else metric
    number = limit.rstrip("ms") if limit.endswith("ms") else limit.rstrip("s")
    seconds = float(number) * (1e-3 if limit.endswith("ms") else 1.0)
    value = summary[section][stat + "_s"]
    if value is None or value > seconds:
        failed.append(f"{key} {value} > {seconds}")
if failed:
    sys.exit(f"{sys.argv[3]}: the planned layout misses its SLOs under kvsim serve: {failed}")
PY
done
