#!/usr/bin/env bash
# check_determinism.sh KVSIM SCENARIO DIR: two runs give byte-identical results and traces.
set -eu
rm -rf "$3"
"$1" run "$2" --quiet --trace --out "$3/a"
"$1" run "$2" --quiet --trace --out "$3/b"
for f in results.json scenario.resolved.json prefill.csv breakdown.csv trace.json; do
  cmp "$3/a/$f" "$3/b/$f"
done
