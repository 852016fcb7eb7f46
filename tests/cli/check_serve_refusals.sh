#!/usr/bin/env bash
# check_serve_refusals.sh KVSIM SCENARIO DIR: a request longer than the model's context is
# rejected and counted, never truncated; the warnings (the scenario's and the serving run's)
# go to stderr and into summary.json's "warnings"; undefined metrics print n/a (table), null
# (JSON) and an empty cell (requests.csv), never 0.
set -eu
kvsim=$1 scenario=$2 dir=$3
rm -rf "$dir"
"$kvsim" serve "$scenario" --out "$dir" --requests > "$dir.out" 2> "$dir.err"
fail() { echo "$1"; echo "--- stdout"; cat "$dir.out"; echo "--- stderr"; cat "$dir.err"; exit 1; }
grep -q "kvsim: warning: 1 of 3 requests were rejected, not served" "$dir.err" ||
  fail "no rejection warning on stderr"
grep -q "kvsim: warning: .*prefill context of 8192 tokens exceeds" "$dir.err" ||
  fail "no scenario warning on stderr"
grep -q "TPOT  *mean  *n/a  p50  *n/a" "$dir.out" || fail "TPOT is not n/a"
grep -q "1 requests rejected" "$dir.out" || fail "the table does not count the rejection"
python3 - "$dir/summary.json" <<'PY' || fail "summary.json is wrong"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["requests"] == 2 and j["rejected"] == 1 and j["vllm_bench"]["failed"] == 1, j
assert j["tpot"]["mean_s"] is None and j["vllm_bench"]["mean_tpot_ms"] is None, j["tpot"]
assert any("1 of 3 requests were rejected" in w for w in j["warnings"]), j["warnings"]
assert any("prefill context of 8192" in w for w in j["warnings"]), j["warnings"]
PY
# Two served requests of one output token each: no TPOT, so the column is empty.
[ "$(cut -d, -f10 "$dir/requests.csv" | tail -n +2 | tr -d '\n')" = "" ] ||
  fail "requests.csv has a TPOT for one-token outputs"
