#!/usr/bin/env bash
# check_silent_failure.sh EXPECT COMMAND...: the command must exit 2, print EXPECT on stderr and
# nothing at all on stdout (no half report before the error).
set -u
expect=$1
shift
out=$(mktemp)
err=$("$@" 2>&1 >"$out")
rc=$?
stdout=$(cat "$out")
rm -f "$out"
[ $rc -eq 2 ] || { echo "expected exit 2, got $rc: $err"; exit 1; }
[ -z "$stdout" ] || { echo "printed before failing: $stdout"; exit 1; }
case $err in *"$expect"*) exit 0 ;; esac
echo "stderr lacks '$expect': $err"
exit 1
