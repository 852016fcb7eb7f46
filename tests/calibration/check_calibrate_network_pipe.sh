#!/usr/bin/env bash
# check_calibrate_network_pipe.sh KVSIM DIR: `kvsim calibrate-network --measurements` reads its
# file once, so a named pipe (or bash's <(...)) works. It used to open the file twice, once per
# collective kind, and hang on a pipe's second open.
set -u
kvsim=$1
dir=$2
rm -rf "$dir"
mkdir -p "$dir"
cat > "$dir/m.json" <<'JSON'
{"kind": "kvsim-measurements", "points": [
  {"op": "collective", "kind": "all_reduce", "gpus": 2, "bytes": 1048576, "median_ms": 0.02},
  {"op": "collective", "kind": "all_reduce", "gpus": 2, "bytes": 67108864, "median_ms": 0.6},
  {"op": "collective", "kind": "all_reduce", "gpus": 4, "bytes": 1048576, "median_ms": 0.03},
  {"op": "collective", "kind": "all_reduce", "gpus": 4, "bytes": 67108864, "median_ms": 0.8},
  {"op": "collective", "kind": "all_reduce", "gpus": 8, "bytes": 1048576, "median_ms": 0.05},
  {"op": "collective", "kind": "all_reduce", "gpus": 8, "bytes": 67108864, "median_ms": 0.9}]}
JSON
mkfifo "$dir/pipe"
cat "$dir/m.json" > "$dir/pipe" &
writer=$!
timeout 120 "$kvsim" calibrate-network --gpu a100-sxm4-80gb --measurements "$dir/pipe" \
  --out "$dir/out.json" >/dev/null
rc=$?
kill "$writer" 2>/dev/null
wait "$writer" 2>/dev/null
[ $rc -eq 0 ] || { echo "calibrate-network on a named pipe: exit $rc (124: it hung)"; exit 1; }
grep -q '"collectives"' "$dir/out.json" || { echo "no collective profile written"; exit 1; }
