#!/usr/bin/env bash
# Runs the README's runnable examples as written: every fenced block opened with
# "```bash readme-test" (examples that need a GPU, or take over 20 s, are left unmarked).
# Each block runs in a fresh directory holding links to the project's inputs (scenarios/,
# sweeps/, calibration/, models/, predictors/), with `kvsim` on PATH, under `bash -e` and a 20 s
# timeout; any block exiting non-zero fails the test, printing the block and its output.
# Usage: check_readme_examples.sh KVSIM README PROJECT_ROOT WORK_DIR
set -u
kvsim=$1 readme=$2 root=$3 work=$4
rm -rf "$work" && mkdir -p "$work/bin" || exit 1
ln -s "$(realpath "$kvsim")" "$work/bin/kvsim"

# Block i into $work/block-i.sh, lines as written (backslash continuations kept).
awk -v dir="$work" '
  /^```bash readme-test[[:space:]]*$/ { n++; file = sprintf("%s/block-%d.sh", dir, n); inside = 1; next }
  inside && /^```/ { inside = 0; close(file); next }
  inside { print > file }
  END { print n + 0 > (dir "/count") }' "$readme"
count=$(cat "$work/count")
if [ "$count" -lt 1 ]; then echo "no \`\`\`bash readme-test blocks in $readme"; exit 1; fi

failed=0
for ((i = 1; i <= count; i++)); do
  run="$work/run-$i"
  mkdir -p "$run"
  for d in scenarios sweeps calibration models predictors; do ln -s "$root/$d" "$run/$d"; done
  if ! (cd "$run" && PATH="$work/bin:$PATH" timeout 20 bash -e "$work/block-$i.sh") \
      >"$work/out-$i.txt" 2>&1; then
    echo "README example $i of $count failed:"; cat "$work/block-$i.sh"
    echo "--- its output:"; tail -n 30 "$work/out-$i.txt"
    failed=1
  fi
done
[ "$failed" -eq 0 ] && echo "$count README examples ran"
exit "$failed"
