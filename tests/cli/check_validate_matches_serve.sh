#!/usr/bin/env bash
# check_validate_matches_serve.sh KVSIM BAD_INPUT_DIR CLI_DIR: every serving refusal that
# `kvsim serve` makes before it simulates (each tests/bad_input/serving_*.json, and the serve
# refusal scenarios of tests/cli) must make `kvsim validate` exit 2 with the same stderr.
set -u
kvsim=$1
bad=$2
cli=$3
failed=0
same() {
  local v s
  v=$("$kvsim" validate "$@" 2>&1 >/dev/null; echo "exit $?")
  s=$("$kvsim" serve -q "$@" 2>&1 >/dev/null; echo "exit $?")
  case $s in *"exit 2") ;; *) echo "serve did not refuse $*: $s"; failed=1; return ;; esac
  if [ "$v" != "$s" ]; then
    echo "validate and serve differ on $*:"
    echo "  validate: $v"
    echo "  serve:    $s"
    failed=1
  fi
}
cases=0
for f in "$bad"/serving_*.json; do
  same "$f"
  cases=$((cases + 1))
done
[ $cases -gt 0 ] || { echo "no serving_*.json in $bad"; exit 1; }
same "$cli/serve_unsorted_trace.json"
same "$cli/serve_never_fits.json" --set /serving/workload/lengths/max_tokens=0
exit $failed
