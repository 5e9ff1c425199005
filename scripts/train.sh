#!/usr/bin/env bash
# The first command of the README: install what is missing, build, and train the Fashion-MNIST
# MLP from configs/fashion_mnist_mlp.yaml (one epoch, test accuracy, a checkpoint per epoch
# under runs/fashion-mnist-mlp/checkpoints). Extra arguments are overrides: run it again with
# max_duration=3ep and it resumes from the newest checkpoint (autoresume).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
# Only the library and the `tempo` program (target tempo_cli): not the tests, benchmarks and
# examples, which scripts/test.sh builds.
TEMPO_TARGETS=tempo_cli scripts/build.sh
exec "${TEMPO_BUILD_DIR:-build}/tempo" train configs/fashion_mnist_mlp.yaml "$@"
