#!/usr/bin/env bash
# Installs the Debian packages this project needs; quiet and quick when they are all present.
# Usage: scripts/setup.sh [extra-package ...]
set -euo pipefail
need=(g++ cmake make libxsimd-dev libtbb-dev doctest-dev nlohmann-json3-dev zlib1g-dev libstb-dev dataset-fashion-mnist
      libopenmpi-dev openmpi-bin "$@")
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
