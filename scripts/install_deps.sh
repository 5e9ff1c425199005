#!/usr/bin/env bash
# Installs whatever tempo needs that this machine lacks, for the LibTorch TEMPO_TORCH picks
# (default wheel; see cmake/TempoTorch.cmake):
#   wheel   a Python venv, .venv/ (TEMPO_VENV), with the torch 2.13.0 wheel: its LibTorch is
#           what tempo links, and its Python reads tempo's checkpoints in the interop tests
#   debian  Debian's libtorch-dev (1.13 on Debian 12, 2.x on Debian 13) with OpenBLAS
#   a path  nothing for LibTorch: that folder is used as it is
# With --tests, also what the tests use: clang with its sanitizer and fuzzer runtime (14 on
# Debian 12, 19 on Debian 13), cereal, and the Python packages of the interop tests
# (scripts/requirements-tests.txt in the venv; python3-torch for debian).
# Idempotent: when everything is present it only asks dpkg and the venv, in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
torch=${TEMPO_TORCH:-wheel}
venv=${TEMPO_VENV:-.venv}
tests=false
[ "${1:-}" = "--tests" ] && tests=true

debian=$(cut -d. -f1 /etc/debian_version 2>/dev/null || echo 12)
case "$debian" in
  12) clang=14 ;;
  13) clang=19 ;;
  *) clang=19; echo "note: Debian '$debian' is untested; trying the Debian 13 package names" >&2 ;;
esac

packages=(g++ cmake make ccache pkg-config zlib1g-dev libyaml-cpp-dev libfmt-dev doctest-dev
          dataset-fashion-mnist protobuf-compiler libprotobuf-dev libcurl4-openssl-dev libssl-dev)
case "$torch" in
  # The wheel ships c10d's headers but not Gloo's, which ProcessGroupGloo.hpp includes: Debian's
  # libgloo-dev gives them (only pointers to Gloo's types reach tempo; it links none of Gloo).
  wheel) packages+=(python3-venv libgloo-dev) ;;
  # Without libopenblas0-pthread, Debian's LibTorch runs on the reference BLAS, about 12x slower.
  debian) packages+=(libtorch-dev libgloo-dev libopenblas0-pthread) ;;
esac
if $tests; then
  # python3-boto3: Debian's boto3, the independent client the S3 tests check tempo against.
  packages+=(clang-$clang libclang-rt-$clang-dev libcereal-dev python3-boto3)
  # npm installs s3rver, the S3 tests' server (scripts/test.sh); Debian's when the machine has none.
  command -v npm >/dev/null || packages+=(nodejs npm)
  [ "$torch" = debian ] && packages+=(python3-torch)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: run as root or install sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ "$torch" = wheel ] || exit 0

# The venv. torch==2.13.0 exactly: a CPU build of it lies on this project's machines, while an
# open range would let pip fetch a multi-GB CUDA build. The Python is the first python3 on PATH
# (the wheel is built for CPython 3.11; Debian 12's /usr/bin/python3 is 3.11 too).
want_torch=2.13.0
have=$("$venv/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)
if [ "$have" != "$want_torch" ]; then
  echo "making $venv with torch==$want_torch"
  python=${TEMPO_PYTHON_BASE:-$(command -v python3.11 || command -v python3)}
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "torch==$want_torch" 2>&1 | grep -v "is ignored" >&2 || true
  "$venv/bin/python" -c 'import torch' || { echo "error: $venv could not get torch==$want_torch" >&2; exit 1; }
fi
# The interop tests' packages: TensorBoard, then MosaicML Composer with --no-deps (it pins
# torch<2.7.1, which would replace the CPU torch 2.13 with a multi-GB CUDA build; the file lists
# what it imports instead). Checked by installed versions, as importing Composer beside the CPU
# torch needs tests/python/composer_interop.py's torchvision workaround.
installed_tests() {
  "$venv/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as m, sys
want = {}
for name in ("scripts/requirements-tests.txt", "scripts/requirements-composer.txt"):
    for line in open(name):
        line = line.split("#")[0].strip()
        if line:
            package, version = line.split("==")
            want[package.split("[")[0]] = version  # moto[server]: the extra is not the name
sys.exit(any(m.version(p) != v for p, v in want.items()))
PY
}
if $tests && ! installed_tests; then
  echo "installing the interop tests' Python packages into $venv (tensorboard, mosaicml)"
  "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-tests.txt 2>&1 | grep -v "is ignored" >&2 || true
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r scripts/requirements-composer.txt 2>&1 |
    grep -v "is ignored" >&2 || true
  installed_tests || { echo "error: $venv lacks the test packages of scripts/requirements-{tests,composer}.txt" >&2; exit 1; }
fi
