#!/usr/bin/env bash
# run_fuzzer.sh FUZZER TARGET SECONDS SOURCE_DIR WORK_DIR: runs one libFuzzer target for SECONDS
# over its seed corpus (shipped files, found by path here, never copied into the repository),
# with the limits every kvsim fuzz run uses. Exit 0: no crash, leak, timeout or memory blow-up.
set -euo pipefail
fuzzer=$1 target=$2 seconds=$3 src=$4 work=$5
corpus=$work/corpus/$target    # what libFuzzer learns, kept between runs
seeds=$work/seeds/$target      # small shipped files gathered for this target
artifacts=$work/artifacts/$target  # inputs that crashed, hung or blew memory in this run
rm -rf "$artifacts"
mkdir -p "$corpus" "$seeds" "$artifacts"
dirs=("$corpus" "$seeds")
add() { for d in "$@"; do [ -d "$d" ] && dirs+=("$d"); done; return 0; }
case $target in
  scenario) add "$src/scenarios" "$src/tests/bad_input" ;;
  sweep) add "$src/sweeps" "$src/tests/bad_sweeps" ;;
  measurements)
    cp "$src"/scenarios/regression/*.csv "$src"/tests/cli/*.csv "$src"/tests/cli/*.json "$seeds/"
    # The published engine tables (Splitwise, TensorRT-LLM), their first rows.
    for f in "$src"/../shared/data/engines/*.csv; do
      [ -f "$f" ] && head -n 40 "$f" > "$seeds/$(basename "$f")"
    done ;;
  hf_config) add "$src/tests/fuzz/seeds/hf_config" "$src/models/catalog/llms" ;;
  trace)
    add "$src/tests/fuzz/seeds/trace"
    for f in "$src"/../shared/data/traces/*.csv; do
      [ -f "$f" ] && head -n 40 "$f" > "$seeds/$(basename "$f")"
    done ;;
  predictor) add "$src/tests/fuzz/seeds/predictor" ;;
  profile) add "$src/tests/fuzz/seeds/profile" "$src/calibration/profiles" ;;
  *) echo "unknown fuzz target $target" >&2; exit 2 ;;
esac
# One fuzzing process at a time (-fork=1: what -jobs=1 asks for) that goes on after a finding,
# so one known bug does not end the run; every finding is saved under $artifacts. Inputs up to
# 64 KiB (larger seeds are cut); 2 GiB of memory and 10 s per input are limits a correct reader
# never approaches, so passing either is a finding. stdin is /dev/null so that an input naming
# /dev/stdin reads nothing rather than waiting on a terminal.
"$fuzzer" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
  -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "${dirs[@]}" < /dev/null || true
findings=$(ls "$artifacts")
if [ -n "$findings" ]; then
  echo "fuzz_$target: $(echo "$findings" | wc -l) finding(s) in $artifacts:" $findings
  exit 1
fi
echo "fuzz_$target: no findings in $seconds s"
