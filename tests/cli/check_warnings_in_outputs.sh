#!/usr/bin/env bash
# check_warnings_in_outputs.sh KVSIM SCENARIO DIR: a scenario that warns (a context past the
# model's trained maximum) carries the warning in results.json and search.json, and as a last
# `warnings` column in every row of run's prefill.csv and breakdown.csv, not only on stderr.
set -u
kvsim=$1
scenario=$2
dir=$3
rm -rf "$dir"
set_context=(--set /prefill/context_tokens=8192 -q)
"$kvsim" run "$scenario" "${set_context[@]}" --out "$dir/run" 2>/dev/null || exit 1
"$kvsim" search "$scenario" "${set_context[@]}" --granularity 1024 --out "$dir/search" \
  2>/dev/null || exit 1
for f in "$dir/run/results.json" "$dir/search/search.json"; do
  grep -A1 '"warnings": \[' "$f" | grep -q "exceeds llama-2-7b's trained maximum" ||
    { echo "$f lacks the warning"; exit 1; }
done
for f in "$dir/run/prefill.csv" "$dir/run/breakdown.csv"; do
  head -n 1 "$f" | grep -q ',warnings$' || { echo "$f lacks a warnings column"; exit 1; }
  if tail -n +2 "$f" | grep -v "exceeds llama-2-7b's trained maximum" | grep -q .; then
    echo "$f has a row without the warning"; exit 1
  fi
done
