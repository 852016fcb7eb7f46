#!/usr/bin/env bash
# Regenerates the tables of results/accuracy/engines-baseline.md: kvsim compare of every row of
# ../shared/data/engines on the scenarios/engines/ scenario of its GPU (no engine key: kernels
# and collectives only). Prints the markdown tables; paste them into engines-baseline.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=../shared/data/engines
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
run() {  # name scenario file gpu
  build/tools/kvsim compare "scenarios/engines/$2.json" "$data/$3.csv" --where "gpu=$4" \
    --out "$dir/$1" -q 2>/dev/null || true
  echo "    kvsim compare scenarios/engines/$2.json $data/$3.csv --where gpu=$4 --out OUT" >&2
}
run splitwise-a100 dgx-a100 splitwise_bloom-176b a100-sxm4-80gb
run splitwise-h100 dgx-h100 splitwise_bloom-176b h100-sxm
run ttft-a100 dgx-a100 trtllm_ttft a100-sxm4-80gb
run ttft-h100 dgx-h100 trtllm_ttft h100-sxm
run ttft-h200 dgx-h200 trtllm_ttft h200
run decode-a100 dgx-a100 trtllm_decode a100-sxm4-80gb
run decode-h100 dgx-h100 trtllm_decode h100-sxm
python3 - "$dir" <<'PY'
import json, statistics, sys
root = sys.argv[1]
files = {"splitwise_bloom-176b.csv": ["splitwise-a100", "splitwise-h100"],
         "trtllm_ttft.csv": ["ttft-a100", "ttft-h100", "ttft-h200"],
         "trtllm_decode.csv": ["decode-a100", "decode-h100"]}
def summary(errors):
    if not errors:
        return "- | - | - | - | -"
    a = [abs(e) for e in errors]
    return (f"{len(errors)} | {100 * statistics.median(a):.1f}% | {100 * sum(a) / len(a):.1f}% | "
            f"{100 * max(a):.1f}% | {100 * sum(errors) / len(errors):+.1f}%")
print("| file | GPU | TTFT points | median | mean | worst | bias | TPOT points | median | mean | "
      "worst | bias |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for f, runs in files.items():
    all_t, all_p = [], []
    for r in runs:
        points = json.load(open(f"{root}/{r}/compare.json"))["points"]
        t = [p["error"] for p in points if p["error"] is not None]
        p = [q["tpot_error"] for q in points if "tpot_error" in q]
        all_t += t
        all_p += p
        print(f"| {f} | {points[0]['gpu']} | {summary(t)} | {summary(p)} |")
    print(f"| {f} | **all** | {summary(all_t)} | {summary(all_p)} |")
PY
