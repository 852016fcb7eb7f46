#!/usr/bin/env bash
# Golden serving outputs: small scenarios run end to end through every path of the serving
# engine (pipeline and tensor parallelism in closed form and as flows, a rejected request,
# preemption by recompute and by swap, each scheduler, a closed-loop client), so that any change
# in behaviour shows as a byte difference.
#
#   cases.sh KVSIM OUT            run every case into OUT (regenerate: OUT = tests/serving/golden/expected)
#   cases.sh KVSIM OUT EXPECTED   ... then fail unless OUT is byte-identical to EXPECTED
#
# Regenerate only for a change of behaviour made on purpose, and say so in the commit:
#   bash tests/serving/golden/cases.sh build/tools/kvsim tests/serving/golden/expected
set -euo pipefail
kvsim=$1 out=$2 expected=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out"
mkdir -p "$out"

serve() {  # serve NAME SCENARIO ARGS...: summary.json and requests.csv, plus what ARGS ask
  local name=$1 scenario=$2
  shift 2
  "$kvsim" serve "$here/$scenario" -q --out "$out/$name" --requests "$@" 2>/dev/null
  rm "$out/$name/scenario.resolved.json"  # holds this checkout's absolute paths
}

serve pipeline-closed-form pipeline.json --timeline --timeline-interval 1
serve pipeline-flows pipeline.json --set '/serving/communication="flows"'
serve pipeline-tokens pipeline.json --set /serving/workload/requests=12 --tokens
serve burst-vllm-recompute burst.json
serve burst-vllm-swap burst.json --set /serving/scheduler/preemption=swap
serve burst-static burst.json --set /serving/scheduler/type=static \
  --set /serving/memory/type=contiguous
serve burst-continuous burst.json --set /serving/scheduler/type=continuous \
  --set /serving/memory/type=contiguous
serve burst-chunked-prefill burst.json --set /serving/scheduler/type=chunked_prefill \
  --set /serving/scheduler/max_batched_tokens=512
serve burst-closed-loop burst.json --set /serving/workload/max_concurrency=16 \
  --set /serving/workload/arrivals/rate=20/s

if [ -n "$expected" ]; then
  diff -r --exclude=.kvsim-output "$expected" "$out" > "$out.diff" || {
    echo "serving outputs differ from $expected (see $out.diff):"
    head -40 "$out.diff"
    exit 1
  }
fi
