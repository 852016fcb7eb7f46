#!/usr/bin/env bash
# Builds kvsim and runs the default test suite (everything except the `heavy` label).
# Tests labelled `external-data` read ../shared/data and skip themselves when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
cd build
ctest --output-on-failure --parallel "$(nproc)" --label-exclude heavy
