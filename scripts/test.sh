#!/usr/bin/env bash
# The second command of the README: install what is missing, build, and run every test, against
# the LibTorch TEMPO_TORCH picks (default: the torch 2.13 wheel's). The interop tests must run
# (TEMPO_REQUIRE_PYTHON=1): a missing Python fails them instead of skipping them; so do the S3
# tests without their servers and boto3 (TEMPO_REQUIRE_S3=1).
#
# TEMPO_ALSO_DEBIAN=1 then builds against Debian's LibTorch too (1.13 on Debian 12),
# in build-debian/, and runs there the suites of the main test binary (every C++ suite, the
# interop tests included, with the venv's torch 2.13 reading what LibTorch 1.13 wrote) and the
# SIGKILL test; not the sanitizer/fuzz build, the examples, the benchmarks or the consumer test,
# which would double a cold CI run (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh --tests
source scripts/build_dir.sh
# s3rver, the S3 server of the storage tests (tests/support/s3_server.h), pinned, in the build folder.
install_s3rver() {
  [ -x "$1/s3rver/node_modules/.bin/s3rver" ] && return
  command -v npm >/dev/null || { echo "error: npm is needed to install s3rver for the S3 tests" >&2; exit 1; }
  mkdir -p "$1/s3rver"
  npm install --silent --no-audit --no-fund --prefix "$1/s3rver" s3rver@3.7.1
}
install_s3rver "$build"
scripts/build.sh -DTEMPO_SANITIZED_TESTS=ON
(cd "$build" && TEMPO_REQUIRE_PYTHON=1 TEMPO_REQUIRE_S3=1 ctest --output-on-failure -j "${TEMPO_JOBS:-$(nproc)}")

if [ "${TEMPO_ALSO_DEBIAN:-0}" = 1 ] && [ "$torch" != debian ]; then
  echo "== again against Debian's LibTorch (build-debian/)"
  TEMPO_TORCH=debian scripts/install_deps.sh
  install_s3rver build-debian
  TEMPO_TORCH=debian TEMPO_TARGETS="tempo_tests tempo_cli" scripts/build.sh -DTEMPO_BUILD_EXAMPLES=OFF \
    -DTEMPO_BUILD_BENCHMARKS=OFF -DTEMPO_PYTHON="$PWD/${TEMPO_VENV:-.venv}/bin/python"
  (cd build-debian && TEMPO_REQUIRE_PYTHON=1 TEMPO_REQUIRE_S3=1 ctest --output-on-failure -j "${TEMPO_JOBS:-$(nproc)}" \
    -E 'consumer|example|sanitized|fuzz|^time$|^util$|^distributed$')
fi
