#!/usr/bin/env bash
# Installs the built tempo into a private prefix, checks what was installed (public headers under
# include/tempo/, none of the private ones), then configures, builds and runs the outside consumer
# project against it with find_package(tempo).
set -euo pipefail
build=$1
work=$build/consumer-test
rm -rf "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
include=$work/prefix/include
[ -f "$include/tempo/trainer/trainer.h" ] || { echo "no include/tempo/trainer/trainer.h installed" >&2; exit 1; }
for private in serialization/zip_reader.h serialization/pickle_reader.h optim/fused_kernels_impl.h cli/train.h; do
  [ ! -e "$include/tempo/$private" ] || { echo "private header installed: $private" >&2; exit 1; }
done
stray=$(find "$include" -mindepth 1 -maxdepth 1 ! -name tempo)
[ -z "$stray" ] || { echo "installed outside include/tempo: $stray" >&2; exit 1; }
cmake -S "$(dirname "$0")" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" \
  ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
cmake --build "$work/build" -j "$(nproc)" >/dev/null
"$work/build/consumer"
