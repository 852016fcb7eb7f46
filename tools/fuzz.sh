#!/usr/bin/env bash
# tools/fuzz.sh [SECONDS]: builds the libFuzzer targets with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer in build-fuzz, then runs each target (scenario, sweep, measurements,
# hf_config, trace, predictor, profile) for SECONDS (default 60) one after another, on one core.
# A crash, an exception other than InputError, a sanitizer report, an input taking over 10 s or
# over 2 GiB fails the run; the input is saved in build-fuzz/fuzz/artifacts/<target>/. Commit it,
# minimised (fuzz_<target> -minimize_crash=1 FILE), to tests/fuzz/crashers/<target>/ once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v clang++ >/dev/null || { echo "tools/fuzz.sh needs clang++ (apt-get install clang)" >&2; exit 1; }
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DKVSIM_FUZZ=ON -DKVSIM_BUILD_BENCHMARKS=OFF -DKVSIM_FUZZ_SECONDS="$seconds" >/dev/null
cmake --build build-fuzz --parallel "${KVSIM_JOBS:-$(nproc)}"
cd build-fuzz
ctest -L fuzz --output-on-failure
