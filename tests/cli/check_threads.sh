#!/usr/bin/env bash
# check_threads.sh KVSIM SWEEP SCENARIO DIR: a sweep and a search give byte-identical output
# files on 1 thread and on all cores.
set -eu
rm -rf "$4"
for t in 1 0; do
  "$1" sweep "$2" --threads $t --quiet --out "$4/sweep$t" 2>/dev/null
  "$1" search "$3" --threads $t --quiet --out "$4/search$t" 2>/dev/null
done
for f in sweep.csv summary.json; do cmp "$4/sweep1/$f" "$4/sweep0/$f"; done
for f in search.json search_trace.csv; do cmp "$4/search1/$f" "$4/search0/$f"; done
