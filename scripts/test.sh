#!/usr/bin/env bash
# The second command of the README: install what is missing, build, and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh python3-torch  # python3-torch: the Python interop tests
scripts/build.sh
cd "${TEMPO_BUILD_DIR:-build}"
ctest --output-on-failure -j "${TEMPO_JOBS:-$(nproc)}"
