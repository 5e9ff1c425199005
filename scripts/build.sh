#!/usr/bin/env bash
# Configures and builds tempo (Release) in build/, using ccache when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TEMPO_BUILD_DIR:-build}
jobs=${TEMPO_JOBS:-$(nproc)}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j "$jobs"
