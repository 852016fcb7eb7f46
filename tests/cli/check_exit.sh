#!/usr/bin/env bash
# check_exit.sh CODE EXPECT COMMAND...: the command must exit with CODE and print EXPECT on stderr.
set -u
code=$1
expect=$2
shift 2
err=$("$@" 2>&1 >/dev/null)
rc=$?
[ $rc -eq "$code" ] || { echo "expected exit $code, got $rc: $err"; exit 1; }
case $err in *"$expect"*) exit 0 ;; esac
echo "stderr lacks '$expect': $err"
exit 1
