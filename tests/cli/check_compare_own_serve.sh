#!/usr/bin/env bash
# The vLLM round trip: kvsim compare reads kvsim serve's own summary.json (--save-detailed) as a
# measured vLLM result, and replaying it (--queueing) through the scenario it came from predicts
# every request exactly: zero TTFT error per request, and measured and predicted TTFT, TPOT, ITL
# and end-to-end distributions equal. A summary without the arrays is refused, naming the flag.
#   check_compare_own_serve.sh KVSIM SCENARIO OUT
set -euo pipefail
kvsim=$1 scenario=$2 out=$3
rm -rf "$out"
"$kvsim" serve "$scenario" -q --out "$out/detailed" --save-detailed
"$kvsim" compare "$scenario" "$out/detailed/summary.json" --queueing -q --out "$out/compare" \
  --max-mape 0 --max-point-error 0
python3 - "$out/detailed/summary.json" "$out/compare/compare.json" <<'PY'
import json, sys
summary, compare = (json.load(open(p)) for p in sys.argv[1:3])
bench = summary["vllm_bench"]
a = compare["aggregates"]
assert a["points"] == bench["completed"] == len(bench["ttfts"]) > 0, (a["points"], bench["completed"])
assert a["mape"] == 0 and a["worst"] == 0, a

for p in compare["points"]:
    assert p["error"] == 0 and p["measured_ms"] == p["predicted_ms"], p
# The distributions: equal up to the last bit of arithmetic (TPOT is recomputed from the
# latencies, (e2e - ttft) / (n - 1), in another order).
for metric in ("ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"):
    if metric in a:
        for stat, value in a[metric]["measured"].items():
            other = a[metric]["predicted"][stat]
            assert abs(value - other) <= 1e-12 * abs(value), (metric, stat, value, other)
print(f"{a['points']} requests, TTFT MAPE {a['mape']}")
PY
"$kvsim" serve "$scenario" -q --out "$out/plain"
if "$kvsim" compare "$scenario" "$out/plain/summary.json" -q 2> "$out/refused.txt"; then
  echo "a summary without per-request arrays was accepted"; exit 1
fi
grep -q -- "--save-detailed" "$out/refused.txt" || { cat "$out/refused.txt"; exit 1; }
