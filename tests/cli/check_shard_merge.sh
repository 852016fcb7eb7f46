#!/usr/bin/env bash
# check_shard_merge.sh KVSIM DIR SWEEP [--set ...]: `kvsim sweep --shard K/N` for every K, then
# `kvsim merge`, writes the same files, byte for byte, as one unsplit run (2 and 3 shards, given
# in any order); merge refuses a missing shard, a duplicated shard and shards of another sweep,
# naming the file; --shard without --out is refused. No MPI needed.
set -u
kvsim=$1
dir=$2
shift 2
fail() { echo "$1"; exit 1; }
expect_error() {  # expect_error MESSAGE COMMAND...: exit 2 with MESSAGE on stderr
  local message=$1
  shift
  local err
  err=$("$@" 2>&1 >/dev/null)
  local rc=$?
  [ $rc -eq 2 ] || fail "expected exit 2, got $rc from $*: $err"
  case $err in *"$message"*) ;; *) fail "stderr lacks '$message': $err" ;; esac
}
rm -rf "$dir"
mkdir -p "$dir"
"$kvsim" sweep "$@" --quiet --out "$dir/single" || fail "the unsplit sweep failed"
for n in 2 3; do
  for k in $(seq 1 $n); do
    "$kvsim" sweep "$@" --quiet --shard "$k/$n" --out "$dir/parts$n/$k.json" ||
      fail "shard $k/$n failed"
  done
  # Any order.
  "$kvsim" merge $(ls "$dir/parts$n"/*.json | sort -r) --quiet --out "$dir/merged$n" ||
    fail "merging $n shards failed"
  for f in sweep.csv summary.json; do
    cmp "$dir/single/$f" "$dir/merged$n/$f" || fail "$f of $n merged shards differs"
  done
done
expect_error "shard 2/2 of the run in $dir/parts2/1.json is missing" \
  "$kvsim" merge "$dir/parts2/1.json" --out "$dir/never"
expect_error "$dir/parts2/1.json: at /shard: shard 1/2 is also in $dir/parts2/1.json" \
  "$kvsim" merge "$dir/parts2/1.json" "$dir/parts2/2.json" "$dir/parts2/1.json" --out "$dir/never"
expect_error "$dir/parts3/2.json: at /shard: is 2/3, but $dir/parts2/1.json has 1/2" \
  "$kvsim" merge "$dir/parts2/1.json" "$dir/parts3/2.json" --out "$dir/never"
# The same sweep with another setting is another run.
"$kvsim" sweep "$@" --set /name=another-run --quiet --shard 2/2 --out "$dir/other/2.json" ||
  fail "the other sweep's shard failed"
expect_error "$dir/other/2.json: at /input: is" \
  "$kvsim" merge "$dir/parts2/1.json" "$dir/other/2.json" --out "$dir/never"
expect_error "a shard writes a partial result file: name it with --out FILE" \
  "$kvsim" sweep "$@" --quiet --shard 1/2
expect_error "'0/2' is not a shard" "$kvsim" sweep "$@" --shard 0/2 --out "$dir/never.json"
[ ! -e "$dir/never" ] && [ ! -e "$dir/never.json" ] || fail "output was written on error"
exit 0
