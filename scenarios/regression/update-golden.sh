#!/usr/bin/env bash
# Rewrites a100-golden-predictions.csv with the current predictions (review the diff!).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
build/tools/kvsim compare scenarios/regression/a100-llama-2-7b.json \
  scenarios/regression/a100-golden-predictions.csv --out "$dir" -q || true
python3 - "$dir/compare.json" scenarios/regression/a100-golden-predictions.csv <<'PY'
import json, sys
points = json.load(open(sys.argv[1]))["points"]
rows = ["model,gpu,tp,batch,prompt_tokens,ttft_ms"]
rows += [f"{p['model']},{p['gpu']},{p['tp']},{p['batch']},{p['prompt_tokens']},{p['predicted_ms']:.6f}"
         for p in points]
open(sys.argv[2], "w").write("\n".join(rows) + "\n")
PY
git diff --stat scenarios/regression/a100-golden-predictions.csv
