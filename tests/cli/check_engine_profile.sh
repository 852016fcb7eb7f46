#!/usr/bin/env bash
# check_engine_profile.sh DATA KVSIM compare ARGS...: the regression gate of a shipped engine
# profile on its training data (results/accuracy/README.md). Skips (exit 77) when DATA, a file
# under ../shared/data, is absent (a fresh clone has none); otherwise the compare's gates decide.
set -u
data=$1
shift
if [ ! -e "$data" ]; then
  echo "skipped: $data is absent (../shared/data is not beside this checkout)"
  exit 77
fi
"$@" -q
