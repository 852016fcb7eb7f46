#!/usr/bin/env bash
# check_search_skips.sh KVSIM SCENARIO DIR: at memory utilisation 0.34 (27.2 GiB of an A100)
# KVR-S over searched_partition_too_big.json's 2 GPUs evaluates the whole grid of 255 cuts
# (multiples of 64 below 16384; the even split 8192/8192 is on it) and only the 24 cuts from
# 10112 to 11584 fit: search.json says 231 were skipped, search_trace.csv marks each with fits
# 0 and no TTFT, and the partition chosen is the fastest that fits, 10112/6272.
set -eu
rm -rf "$3"
"$1" search "$2" --set /cluster/memory_utilization=0.34 --quiet --out "$3" 2>/dev/null
grep -q '"skipped_not_fitting": 231,' "$3/search.json" || { echo "skipped count"; exit 1; }
head -1 "$3/search_trace.csv" | grep -q '^index,step,fits,ttft_ms,' || { echo "header"; exit 1; }
skipped=$(grep -c '^[0-9]*,[0-9]*,0,,' "$3/search_trace.csv")
[ "$skipped" -eq 231 ] || { echo "trace marks $skipped rows as not fitting, not 231"; exit 1; }
fitting=$(grep -c '^[0-9]*,[0-9]*,1,[0-9]' "$3/search_trace.csv")
[ "$fitting" -eq 24 ] || { echo "trace has $fitting fitting rows with a TTFT, not 24"; exit 1; }
tr -d ' \n' < "$3/search.json" | grep -q '"partition":\[10112,6272\]' ||
  { echo "partition"; exit 1; }
