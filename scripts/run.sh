#!/usr/bin/env bash
# Sets up, builds and runs the main job: the default experiment (two moons, sliced score matching,
# Langevin samples). Pictures and results land in runs/two_moons_ssm/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target ebm_tool >/dev/null
build/ebm run examples/two_moons_ssm.json --out runs/two_moons_ssm "$@"
echo "pictures: runs/two_moons_ssm/energy.png (energy landscape, data and samples), runs/two_moons_ssm/training.png"
