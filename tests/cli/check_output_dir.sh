#!/usr/bin/env bash
# check_output_dir.sh KVSIM SCENARIO SERVE_SCENARIO DIR: an output directory holds exactly one
# run's files (the manifest .kvsim-output lists them; a re-run removes the listed files it does
# not write again), a directory holding someone else's files is refused untouched, and an --out
# that cannot be a directory is an input error (exit 2) naming it.
set -u
kvsim=$1 scenario=$2 serving=$3 dir=$4
rm -rf "$dir"
mkdir -p "$dir"
fail() { echo "$*"; exit 1; }
expect_2() {  # expect_2 TEXT COMMAND...: exit 2 with TEXT on stderr
  local text=$1; shift
  err=$("$@" 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] || fail "expected exit 2, got $rc: $err"
  case $err in *"$text"*) ;; *) fail "stderr lacks '$text': $err" ;; esac
}

# A re-run without --trace removes the earlier run's trace.json; a user's file added later stays.
out=$dir/run
"$kvsim" run "$scenario" -q --trace --out "$out" || fail "first run failed"
[ -f "$out/trace.json" ] || fail "no trace.json"
echo "mine" > "$out/notes.txt"
"$kvsim" run "$scenario" -q --out "$out" || fail "second run failed"
[ -e "$out/trace.json" ] && fail "stale trace.json kept from the earlier run"
[ -f "$out/notes.txt" ] || fail "a file kvsim did not write was removed"
sort "$out/.kvsim-output" | tr '\n' ' ' | grep -qx \
  'breakdown.csv prefill.csv results.json scenario.resolved.json ' || fail "manifest: $(cat "$out/.kvsim-output")"

# serve: the streamed CSVs of a 30-request run do not survive a run that does not ask for them.
out=$dir/serve
"$kvsim" serve "$serving" --set /serving/workload/requests=30 -q --requests --out "$out" ||
  fail "serve failed"
[ "$(wc -l < "$out/requests.csv")" -eq 31 ] || fail "requests.csv is not 30 rows and a header"
"$kvsim" serve "$serving" --set /serving/workload/requests=10 -q --out "$out" || fail "serve failed"
[ -e "$out/requests.csv" ] && fail "stale requests.csv kept beside a 10-request summary"
ls -A "$out" | grep -q '\.tmp$' && fail "temporary files left: $(ls -A "$out")"

# A directory with someone else's files and no manifest is refused and left as it was.
mkdir -p "$dir/theirs" && echo "keep" > "$dir/theirs/thesis.tex"
expect_2 "holds files kvsim did not write (thesis.tex)" "$kvsim" run "$scenario" -q --out "$dir/theirs"
[ "$(ls -A "$dir/theirs")" = thesis.tex ] || fail "refused directory was changed: $(ls -A "$dir/theirs")"

# A file where the directory should be, or above it: exit 2 naming the path, not an internal error.
echo "x" > "$dir/file"
expect_2 "$dir/file: the output directory is a file" "$kvsim" run "$scenario" -q --out "$dir/file"
expect_2 "$dir/file/sub: cannot create the output directory" \
  "$kvsim" run "$scenario" -q --out "$dir/file/sub"
expect_2 "$dir/file/sub: cannot create the output directory" \
  "$kvsim" serve "$serving" --set /serving/workload/requests=10 -q --out "$dir/file/sub"
exit 0
