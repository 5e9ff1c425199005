#!/usr/bin/env bash
# The second command of the README: install what is missing, build, and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
# python3-torch: the Python interop tests; clang, libclang-rt-14-dev: the sanitizer and fuzz tests
scripts/install_deps.sh python3-torch clang libclang-rt-14-dev
scripts/build.sh -DTEMPO_SANITIZED_TESTS=ON
cd "${TEMPO_BUILD_DIR:-build}"
ctest --output-on-failure -j "${TEMPO_JOBS:-$(nproc)}"
