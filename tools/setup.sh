#!/usr/bin/env bash
# Installs kvsim's build and runtime dependencies from Debian packages. Idempotent: does nothing
# (and needs no network) when everything is already installed. Run as root (no sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  nlohmann-json3-dev libcli11-dev libfmt-dev libeigen3-dev libboost-graph-dev libtbb-dev
  libgtest-dev libbenchmark-dev
  gnuplot-nox
  libopenmpi-dev openmpi-bin  # mpirun -n N kvsim sweep (optional at build time: KVSIM_MPI)
  jq python3  # the results/*/make.sh scripts that regenerate the shipped results
  python3-dev pybind11-dev python3-pybind11  # the Python module (tools/python)
)
# clang (libFuzzer, sanitizers) only for tools/fuzz.sh and tools/sanitize.sh: KVSIM_CLANG=1.
if [ "${KVSIM_CLANG:-0}" = 1 ]; then packages+=(clang); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "kvsim setup: all dependencies present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "kvsim setup: missing ${missing[*]}; run this script as root to install them" >&2
  exit 1
fi

echo "kvsim setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
