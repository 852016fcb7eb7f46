#!/usr/bin/env bash
# check_mpi_sweep.sh KVSIM KVSIM_MPI DIR SWEEP [--set ...]: `mpirun --oversubscribe -n 2 kvsim
# sweep` writes the same files, byte for byte, as one process; rank 1 prints nothing (the CSV on
# stdout appears once); a command that does not spread is refused under 2 ranks. Skips (exit 77)
# when mpirun is absent or kvsim was built without MPI.
set -u
kvsim=$1
built_with_mpi=$2
dir=$3
shift 3
if [ "$built_with_mpi" != ON ]; then
  echo "skipped: kvsim was built without MPI (KVSIM_MPI=OFF)"
  exit 77
fi
if ! command -v mpirun >/dev/null; then
  echo "skipped: mpirun not found (install openmpi-bin: tools/setup.sh)"
  exit 77
fi
# Open MPI refuses to run as root (CI containers) unless told twice.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi() { timeout 300 mpirun --oversubscribe -n 2 "$@"; }
fail() { echo "$1"; exit 1; }
rm -rf "$dir"
mkdir -p "$dir"
"$kvsim" sweep "$@" --quiet --out "$dir/single" 2>"$dir/single.err" || fail "single: $(cat "$dir/single.err")"
mpi "$kvsim" sweep "$@" --quiet --threads 1 --out "$dir/mpi" 2>"$dir/mpi.err" ||
  fail "mpirun -n 2: $(cat "$dir/mpi.err")"
for f in sweep.csv summary.json; do
  cmp "$dir/single/$f" "$dir/mpi/$f" || fail "$f differs between 1 process and 2 MPI ranks"
done
[ "$(ls -A "$dir/mpi")" = "$(ls -A "$dir/single")" ] || fail "the MPI run wrote other files"
# Without --out the CSV goes to stdout: once, from rank 0.
mpi "$kvsim" sweep "$@" --quiet --threads 1 >"$dir/mpi.csv" 2>"$dir/mpi_stdout.err" ||
  fail "mpirun -n 2 to stdout: $(cat "$dir/mpi_stdout.err")"
cmp "$dir/single/sweep.csv" "$dir/mpi.csv" || fail "stdout under 2 ranks is not the CSV once"
# A failing point: the same error as one process, the lowest failing point's (point 1 runs on
# rank 1, point 3 on rank 1, point 2 on rank 0), from rank 0 alone.
broken=("$(dirname "$0")/../../sweeps/paper/scaling.json" --set '/axes/2/values=[2,0,-1,-1]'
        --set '/set/~1prefill~1strategies=[{"type":"tsp"}]' -q)
"$kvsim" sweep "${broken[@]}" >/dev/null 2>"$dir/broken1.err" && fail "the broken sweep ran"
mpi "$kvsim" sweep "${broken[@]}" --threads 1 >/dev/null 2>"$dir/broken2.err" &&
  fail "the broken sweep ran under 2 ranks"
grep "kvsim: error: .*sweep point 1: .*gpus=0" "$dir/broken1.err" >/dev/null ||
  fail "not the lowest failing point: $(cat "$dir/broken1.err")"
[ "$(grep -c "kvsim" "$dir/broken2.err")" = 1 ] || fail "not one message: $(cat "$dir/broken2.err")"
grep -F -x -f "$dir/broken1.err" "$dir/broken2.err" >/dev/null ||
  fail "the error under 2 ranks differs: $(cat "$dir/broken2.err")"
# A command that would run once per rank is refused, by rank 0 alone.
mpi "$kvsim" validate "$1" >"$dir/refused.out" 2>"$dir/refused.err" && fail "validate ran under 2 ranks"
grep -q "kvsim: error: kvsim validate does not spread over MPI ranks" "$dir/refused.err" ||
  fail "no refusal: $(cat "$dir/refused.err")"
exit 0
