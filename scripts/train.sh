#!/usr/bin/env bash
# The first command of the README: install what is missing, build, and train the Fashion-MNIST
# example (one epoch, reporting test accuracy). Extra arguments go to the example
# (e.g. --epochs 3).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
exec "${TEMPO_BUILD_DIR:-build}/examples/train_fashion_mnist" "$@"
