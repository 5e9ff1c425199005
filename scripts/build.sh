#!/usr/bin/env bash
# Configures and builds tempo (Release), using ccache when it is installed, against the LibTorch
# TEMPO_TORCH picks (wheel, the default; debian; or a libtorch folder: cmake/TempoTorch.cmake).
# The build folder is TEMPO_BUILD_DIR, by default build/ for the wheel and build-<choice>/ for the
# others, since one folder holds one LibTorch. Arguments go to the configure step
# (-DTEMPO_SANITIZED_TESTS=ON); TEMPO_TARGETS names the targets to build (space-separated, e.g.
# "tempo_cli"), all of them when unset.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/build_dir.sh
jobs=${TEMPO_JOBS:-$(nproc)}
targets=()
for target in ${TEMPO_TARGETS:-}; do targets+=(--target "$target"); done
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTEMPO_TORCH="$torch" "$@" >/dev/null
cmake --build "$build" -j "$jobs" "${targets[@]}"
