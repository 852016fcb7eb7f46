#!/usr/bin/env bash
# check_cost.sh KVSIM ROOT DIR: every `kvsim cost` subcommand answers in a table and in valid
# JSON with its fields, and `run --explain-costs` writes each strategy's per-GPU shards into
# results.json.
set -u
kvsim=$1
scenario=$2/scenarios/default.json
dir=$3
fail() { echo "$1"; exit 1; }
rm -rf "$dir" && mkdir -p "$dir"
run() {  # NAME ARGS...: the table, then the JSON into $dir/NAME.json
  local name=$1
  shift
  "$kvsim" cost "$@" --scenario "$scenario" > "$dir/$name.txt" || fail "cost $* failed"
  grep -q "^  total" "$dir/$name.txt" || fail "cost $* prints no total"
  "$kvsim" cost "$@" --scenario "$scenario" --json > "$dir/$name.json" || fail "cost $* --json"
}
run gemm gemm --m 4096 --n 4096 --k 4096 --dtype bf16
run attention attention --chunk 512 --cached 1024 --heads 32 --kv-heads 8 --head-dim 128
run decode_attention attention --decode --cached 4095 --heads 4 --head-dim 128 --batch 16
run collective collective --kind all-gather --bytes 16MiB --gpu-list 0,2,4
run layer layer --tokens 1024 --tp 2
run pass pass --decode --batch 8 --context 4095 --tp 4
# The shortcuts are overrides of the scenario: --gpu prices on that GPU, --model that model.
"$kvsim" cost gemm --m 64 --n 64 --k 64 --gpu h100-sxm --scenario "$scenario" |
  grep -q "^priced by: roofline on h100-sxm" || fail "--gpu is not the scenario's GPU"
"$kvsim" cost layer --tokens 8 --model llama-3-8b --scenario "$scenario" |
  grep -q "^kvsim cost layer: one layer: llama-3-8b," || fail "--model is not the scenario's model"
"$kvsim" run "$scenario" --explain-costs --out "$dir/run" -q || fail "run --explain-costs failed"
python3 - "$dir" <<'PY' || fail "a JSON answer is wrong"
import json, sys
d = sys.argv[1]
for name, command in [("gemm", "gemm"), ("attention", "attention"),
                      ("decode_attention", "attention"), ("collective", "collective"),
                      ("layer", "layer"), ("pass", "pass")]:
    j = json.load(open(f"{d}/{name}.json"))
    assert j["command"] == command, name
    assert j["seconds"] > 0, name
    for key in ("what", "priced_by", "lines", "notes", "warnings", "scenario"):
        assert key in j, (name, key)
    for line in j["lines"]:
        for key in ("op", "shape", "calls", "flops", "bytes", "seconds", "flop_per_second",
                    "bytes_per_second", "source"):
            assert key in line, (name, key)
assert [l["op"] for l in json.load(open(f"{d}/layer.json"))["lines"]][-1] == "all-reduce"
r = json.load(open(f"{d}/run/results.json"))
labels = [e["strategy"] for e in r["cost_explanation"]]
assert labels == ["single", "tsp", "tp", "kvr/even", "decode step"], labels
for e in r["cost_explanation"]:
    assert e["per_layer"], e["strategy"]
    for p in e["per_layer"]:
        for key in ("gpu", "queries", "keys", "heads", "qkv_seconds", "attention_seconds",
                    "rest_seconds", "communication_seconds"):
            assert key in p, (e["strategy"], key)
# KV-Runahead's even split: process i computes 512 queries against 512 (i + 1) keys.
kvr = r["cost_explanation"][3]["per_layer"]
assert [p["keys"] for p in kvr] == [512 * (i + 1) for i in range(8)], kvr
assert r["cost_explanation"][2]["per_layer"][0]["heads"] == 4  # tp: 32 heads over 8 GPUs
PY
