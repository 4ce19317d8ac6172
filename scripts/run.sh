#!/usr/bin/env bash
# Sets up, builds and runs the main job. Until the `ebm` tool lands (issue 5), that is the engine example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target example_score_and_hessian >/dev/null
build/examples/score_and_hessian
