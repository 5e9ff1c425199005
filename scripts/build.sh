#!/usr/bin/env bash
# Configures and builds tempo (Release) in build/, using ccache when it is installed. Arguments
# go to the configure step (-DTEMPO_SANITIZED_TESTS=ON); TEMPO_TARGETS names the targets to build
# (space-separated, e.g. "tempo_cli"), all of them when unset.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TEMPO_BUILD_DIR:-build}
jobs=${TEMPO_JOBS:-$(nproc)}
targets=()
for target in ${TEMPO_TARGETS:-}; do targets+=(--target "$target"); done
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j "$jobs" "${targets[@]}"
