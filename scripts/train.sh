#!/usr/bin/env bash
# The first command of the README: install what is missing, build, and train the Fashion-MNIST
# MLP from configs/fashion_mnist_mlp.yaml (one epoch, test accuracy, a checkpoint per epoch
# under runs/fashion-mnist-mlp/checkpoints). Extra arguments are overrides: run it again with
# max_duration=3ep and it resumes from the newest checkpoint (autoresume).
# LibTorch: the torch 2.13 wheel's, in .venv/ (TEMPO_TORCH=debian or a libtorch folder picks
# another; see README).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
source scripts/build_dir.sh
# Only the library and the `tempo` program (target tempo_cli): not the tests, benchmarks and
# examples, which scripts/test.sh builds.
TEMPO_TARGETS=tempo_cli scripts/build.sh
exec "$build/tempo" train configs/fashion_mnist_mlp.yaml "$@"
