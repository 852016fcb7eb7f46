#!/usr/bin/env bash
# check_plan_serve_pools.sh KVSIM PLAN DIR: the plan's best layout is a disaggregated one (its
# plan.scenario.json has serving.disaggregation, and its row names the pools), and kvsim serve
# run on it at the target and at the plan's highest rate meets every SLO (check_plan_serve.sh).
set -eu
kvsim=$1 plan=$2 dir=$3
"$(dirname "$0")/check_plan_serve.sh" "$kvsim" "$plan" "$dir"
python3 - "$dir/plan/plan.json" "$dir/plan/plan.scenario.json" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
scenario = json.load(open(sys.argv[2]))
best = plan["candidates"][plan["best"]]
if "disaggregation" not in scenario["serving"]:
    sys.exit(f"the best layout is not disaggregated: {best['label']}")
if "P(" not in best["layout"] or "D(tp" not in best["layout"]:
    sys.exit(f"the best layout's row does not name its pools: {best['layout']}")
print(f"best: {best['label']} ({best['layout']}), max rate {best['max_rate']:.4g}/s")
PY
