#!/usr/bin/env bash
# check_run_decode_matches_serve.sh KVSIM SCENARIO DIR: at tensor_parallel 1, 2, 4 and 8, the
# time per output token `kvsim run` writes for the scenario's decode step equals the one
# `kvsim serve` reports for its lone request on the same layout, within 1 ns (serve's figure is
# a difference of two times in seconds, so it carries a double's rounding; run's is whole ns).
set -eu
kvsim=$1
scenario=$2
dir=$3
mkdir -p "$dir"
for tp in 1 2 4 8; do
  rm -rf "$dir/run$tp" "$dir/serve$tp"
  timeout 120 "$kvsim" run "$scenario" --set "/decode/tensor_parallel=$tp" --out "$dir/run$tp" -q
  timeout 120 "$kvsim" serve "$scenario" --set "/serving/tensor_parallel=$tp" \
    --out "$dir/serve$tp" >/dev/null
  python3 - "$dir/run$tp/results.json" "$dir/serve$tp/summary.json" "$tp" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["decode"]
serve = json.load(open(sys.argv[2]))["vllm_bench"]["mean_tpot_ms"]
assert run["tensor_parallel"] == int(sys.argv[3]), run
gap_ns = abs(run["time_per_output_token_ms"] - serve) * 1e6
print(f"tp {sys.argv[3]}: run {run['time_per_output_token_ms']:.6f} ms, serve {serve:.6f} ms")
if gap_ns >= 1:
    sys.exit(f"tp {sys.argv[3]}: run and serve differ by {gap_ns:.3f} ns")
PY
done
