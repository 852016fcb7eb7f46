#!/usr/bin/env bash
# check_plan_split.sh KVSIM KVSIM_MPI DIR PLAN: kvsim plan split over 2 MPI ranks, and into
# --shard 1/2 and 2/2 merged by kvsim merge, writes the same files, byte for byte, as one process.
# The MPI half is skipped (said on stdout) when mpirun is absent or kvsim was built without MPI.
set -u
kvsim=$1 built_with_mpi=$2 dir=$3 plan=$4
files="plan.json plan.csv plan.md pareto.csv plan.scenario.json"
fail() { echo "$1"; exit 1; }
same() {  # same DIR: every output file of DIR equals the single process's
  for f in $files; do cmp "$dir/single/$f" "$1/$f" || fail "$f of $1 differs from one process's"; done
}
rm -rf "$dir"
mkdir -p "$dir"
"$kvsim" plan "$plan" --quiet --out "$dir/single" || fail "the unsplit plan failed"
for k in 1 2; do
  "$kvsim" plan "$plan" --quiet --shard "$k/2" --out "$dir/parts/$k.json" || fail "shard $k/2 failed"
done
"$kvsim" merge "$dir/parts/2.json" "$dir/parts/1.json" --quiet --out "$dir/merged" ||
  fail "merging the plan's shards failed"
same "$dir/merged"
if [ "$built_with_mpi" != ON ]; then
  echo "MPI half skipped: kvsim was built without MPI (KVSIM_MPI=OFF)"
  exit 0
fi
if ! command -v mpirun >/dev/null; then
  echo "MPI half skipped: mpirun not found (install openmpi-bin: tools/setup.sh)"
  exit 0
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
timeout 300 mpirun --oversubscribe -n 2 "$kvsim" --threads 1 plan "$plan" --quiet --out "$dir/mpi" ||
  fail "mpirun -n 2 kvsim plan failed"
same "$dir/mpi"
exit 0
