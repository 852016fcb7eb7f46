#!/usr/bin/env bash
# check_serve.sh KVSIM SCENARIO DIR: kvsim serve writes summary.json and the three streamed CSVs
# (one row per request, per token, per replica and interval), and kvsim plot draws a CDF of the
# requests' TTFT from them.
set -eu
kvsim=$1 scenario=$2 dir=$3
rm -rf "$dir"
"$kvsim" serve "$scenario" --set /serving/workload/requests=200 --out "$dir" \
  --requests --tokens --timeline --timeline-interval 10 -q
for f in summary.json requests.csv tokens.csv timeline.csv; do
  [ -s "$dir/$f" ] || { echo "missing $dir/$f"; exit 1; }
done
ls "$dir" | grep -q '\.tmp$' && { echo "temporary files left behind"; exit 1; }
rows=$(($(wc -l < "$dir/requests.csv") - 1))
[ "$rows" -eq 200 ] || { echo "requests.csv has $rows rows, expected 200"; exit 1; }
tokens=$(($(wc -l < "$dir/tokens.csv") - 1))
output=$(grep -o '"total_output_tokens": [0-9]*' "$dir/summary.json" | grep -o '[0-9]*$')
[ "$tokens" -eq "$output" ] || { echo "tokens.csv has $tokens rows, summary says $output"; exit 1; }
"$kvsim" plot "$dir/requests.csv" --kind cdf --x ttft_s --out "$dir/ttft_cdf" > /dev/null
[ -s "$dir/ttft_cdf.svg" ] || { echo "no CDF figure"; exit 1; }
