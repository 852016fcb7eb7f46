#!/usr/bin/env bash
# Rewrites the golden predictions with the current ones (review the diff!):
#   a100-golden-predictions.csv  from `kvsim compare` on a100-llama-2-7b.json
#   kvr-golden-predictions.csv   from `kvsim sweep` on kvr-strategies.json, one row per
#                                point and strategy
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
build/tools/kvsim sweep scenarios/regression/kvr-strategies.json --out "$dir/kvr" -q
python3 - "$dir/kvr/sweep.csv" scenarios/regression/kvr-golden-predictions.csv <<'PY'
import csv, sys
table = list(csv.DictReader(open(sys.argv[1])))
columns = list(table[0].keys())
inputs = columns[1:columns.index(next(c for c in columns if "." in c))]
strategies = [c[: -len(".ttft_ms")] for c in columns if c.endswith(".ttft_ms")]
with open(sys.argv[2], "w", newline="") as f:
    out = csv.writer(f, lineterminator="\n")
    out.writerow(inputs + ["strategy", "ttft_ms"])
    for row in table:
        for s in strategies:
            out.writerow([row[c] for c in inputs] + [s, row[s + ".ttft_ms"]])
PY
git diff --stat scenarios/regression/
