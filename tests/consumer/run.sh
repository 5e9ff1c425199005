#!/usr/bin/env bash
# Installs the built tempo into a private prefix, then configures, builds and runs the outside
# consumer project against it with find_package(tempo).
set -euo pipefail
build=$1
work=$build/consumer-test
rm -rf "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$(dirname "$0")" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" \
  ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer"
