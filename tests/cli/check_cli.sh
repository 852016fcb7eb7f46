#!/usr/bin/env bash
# check_cli.sh EXPECT COMMAND...: with EXPECT "ok", the command must exit 0; otherwise it must
# exit 2 and print EXPECT on stderr. An --out directory named "never" must not be created.
set -u
expect=$1
shift
err=$("$@" 2>&1 >/dev/null)
rc=$?
for arg in "$@"; do
  case $arg in */never) if [ -e "$arg" ]; then echo "output was written on error"; exit 1; fi ;; esac
done
if [ "$expect" = ok ]; then
  [ $rc -eq 0 ] || { echo "exit $rc: $err"; exit 1; }
  exit 0
fi
[ $rc -eq 2 ] || { echo "expected exit 2, got $rc: $err"; exit 1; }
case $err in *"$expect"*) exit 0 ;; esac
echo "stderr lacks '$expect': $err"
exit 1
