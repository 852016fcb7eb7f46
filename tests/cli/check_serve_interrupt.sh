#!/usr/bin/env bash
# check_serve_interrupt.sh KVSIM SCENARIO DIR: a serve streaming CSVs and stopped by SIGTERM or
# SIGINT leaves its output directory as it was before: the previous run's files, no temporaries.
set -u
kvsim=$1 scenario=$2 dir=$3
fail() { echo "$*"; exit 1; }
rm -rf "$dir"
"$kvsim" serve "$scenario" --set /serving/workload/requests=10 -q --out "$dir" || fail "serve failed"
before=$(ls -A "$dir" | tr '\n' ' ')
for signal in TERM INT; do
  # Ten million requests: far more than can finish before the signal arrives.
  "$kvsim" serve "$scenario" --set /serving/workload/requests=10000000 -q --out "$dir" \
    --requests --tokens --timeline &
  pid=$!
  # The temporaries exist from before the simulation starts; wait for them (at most 120 s).
  for _ in $(seq 1200); do
    [ -e "$dir/.tokens.csv.tmp" ] && break
    sleep 0.1
  done
  [ -e "$dir/.tokens.csv.tmp" ] || { kill -KILL $pid; fail "serve never opened its CSVs"; }
  kill -$signal $pid
  wait $pid
  rc=$?
  [ $rc -gt 128 ] || fail "SIG$signal: expected death by the signal, exit $rc"
  after=$(ls -A "$dir" | tr '\n' ' ')
  [ "$after" = "$before" ] || fail "SIG$signal changed the directory: '$before' -> '$after'"
done
exit 0
