#!/usr/bin/env bash
# check_derived_attention.sh KVSIM SCENARIO DIR: `kvsim run` on a calibrated H100 (a profile
# without attention measurements) prices fused attention from the A100's measurements, and says
# so: a warning on stderr and in results.json naming a100-sxm4-80gb, provenance "derived" in the
# breakdown, and "attention derived from a100-sxm4-80gb" in the report's compute line.
set -u
kvsim=$1
scenario=$2
dir=$3
rm -rf "$dir" "$dir.stdout"
err=$("$kvsim" run "$scenario" --out "$dir" 2>&1 >"$dir.stdout") || { echo "run failed: $err"; exit 1; }
case $err in
  *"kvsim: warning: "*"at /compute: calibrated profile h100-sxm has no attention measurements"*"derived from a100-sxm4-80gb"*) ;;
  *) echo "stderr lacks the derived-attention warning: $err"; exit 1 ;;
esac
grep -q "has no attention measurements" "$dir/results.json" || { echo "results.json lacks the warning"; exit 1; }
grep -q "compute calibrated profile h100-sxm .*; attention derived from a100-sxm4-80gb" "$dir.stdout" ||
  { echo "the report's compute line lacks the derivation"; exit 1; }
grep -q '^prefill of 4096 tokens,attention,.*,derived,' "$dir/breakdown.csv" ||
  { echo "breakdown.csv does not mark attention derived"; exit 1; }
if grep -q ',roofline,' "$dir/breakdown.csv"; then echo "an operation fell back to the roofline"; exit 1; fi
