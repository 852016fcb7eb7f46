#!/usr/bin/env bash
# `kvsim explain NAME` for every section and family a scenario or sweep has (issue 23: they
# used to fail with "nothing is registered"), and for a field by JSON pointer: exit 0 and text.
# Usage: check_explain_sections.sh KVSIM
set -u
kvsim=$1
failed=0
for name in scenario sweep model precision per_operation cluster gpu topology heterogeneity \
            background collectives protocols point_to_point measured_on compute engine \
            expert_load prefill strategies partitioner decode drafter serving slo scheduler \
            memory router workload arrivals lengths axes zip vary \
            /serving/scheduler/preemption /cluster/collectives/profile /axes/0/zip/0/pointer; do
  out=$("$kvsim" explain "$name" 2>&1)
  rc=$?
  if [ "$rc" -ne 0 ] || [ -z "$out" ]; then
    echo "kvsim explain $name: exit $rc"; echo "$out"; failed=1
  fi
done
exit "$failed"
