#!/usr/bin/env bash
# Sets up, builds and runs every test: the README's test command and what CI runs.
#   scripts/test.sh            Release build in build/ (with MPI: the `mpi` suite runs 1 to 4 processes), then ctest
#   EBM_SANITIZE=1 scripts/test.sh   also an ASan+UBSan build in build-asan/ and its tests
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DEBM_MPI=ON >/dev/null
cmake --build build -j"$jobs"

# The documents: docs/config.md as `build/ebm schema` renders it, no history citations, no machine paths.
scripts/check_docs.sh build/ebm

# The library installs and a separate CMake project links it (examples/embed).
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install build --prefix "$prefix" >/dev/null
cmake -S examples/embed -B "$prefix/embed-build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/embed-build" -j"$jobs" >/dev/null
"$prefix/embed-build/embed"

if [ "${EBM_SANITIZE:-0}" = 1 ]; then
  # The library suites under ASan+UBSan, without the doctest suite "long" (statistical recoveries of many thousand
  # steps, ~20x slower here; tests/CMakeLists.txt). Those and the CLI end-to-end suite run in the Release pass below.
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEBM_SANITIZE=ON -DEBM_BUILD_BENCH=OFF >/dev/null
  cmake --build build-asan -j"$jobs" --target test_autodiff test_samplers test_ebm \
    fuzz_replay_config fuzz_replay_checkpoint fuzz_replay_npy fuzz_replay_idx fuzz_replay_csv
  (cd build-asan && ctest --output-on-failure -j"$jobs" -E '^cli$')
fi
cd build && ctest --output-on-failure -j"$jobs"
