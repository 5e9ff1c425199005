#!/usr/bin/env bash
# The first command of the README: install what is missing, build, and train the Fashion-MNIST
# example (one epoch, reporting test accuracy), saving a checkpoint every epoch under
# runs/fashion-mnist-mlp/. Run it again with --epochs 3 and it resumes from the newest
# checkpoint. Extra arguments go to the example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
exec "${TEMPO_BUILD_DIR:-build}/examples/train_fashion_mnist" --save-folder runs/fashion-mnist-mlp --autoresume "$@"
