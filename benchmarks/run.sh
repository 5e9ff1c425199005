#!/usr/bin/env bash
# The benchmark suite: installs what is missing (the Python comparisons run on .venv's torch 2.13,
# the LibTorch tempo links, with skorch, Composer and Lightning: benchmarks/requirements-peers.txt
# and scripts/requirements-{tests,composer}.txt), builds the benchmarks (Release), runs each one and prints
# one table of the ratios they measured side by side, then writes it, with the machine, date and
# command, to benchmarks/RESULTS.md. Each benchmark's own output (per repetition, absolute
# times) goes to build/benchmarks/<name>.log.
#
#   benchmarks/run.sh [--quick]      --quick: fewer repetitions, for a smoke test
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
source scripts/build_dir.sh  # $build: build/ for the wheel, build-<choice>/ otherwise

scripts/install_deps.sh --tests
venv=${TEMPO_VENV:-.venv}
if ! "$venv/bin/python" -c 'import skorch, pytorch_lightning' 2>/dev/null; then
  # The constraint keeps torch and numpy as install_deps.sh put them (a peer's range could
  # otherwise pull a CUDA torch).
  constraints=$(mktemp)
  "$venv/bin/python" -c 'import torch, numpy; print(f"torch=={torch.__version__}\nnumpy=={numpy.__version__}")' >"$constraints"
  "$venv/bin/pip" install -q --disable-pip-version-check -c "$constraints" -r benchmarks/requirements-peers.txt 2>&1 |
    grep -v "is ignored\|mosaicml 0.32.1 requires\|dependency resolver\|dependency conflicts" >&2 || true
  rm -f "$constraints"
fi
scripts/build.sh >/dev/null
cmake --build "$build" -j "$(nproc)" --target tempo_cli bench_trainer_overhead bench_fashion_mnist_epoch \
  bench_peers_epoch bench_optimizer_step bench_checkpoint_io bench_resume bench_distributed bench_object_store bench_loader bench_gpt_step >/dev/null
# bench_object_store's S3 server, pinned, where scripts/test.sh installs it for the tests.
[ -x "$build/s3rver/node_modules/.bin/s3rver" ] ||
  npm install --silent --no-audit --no-fund --prefix "$build/s3rver" s3rver@3.7.1

if [ $quick = 1 ]; then
  reps=2; chunks=6; mb=100
else
  reps=5; chunks=30; mb=600
fi
dir=${TEMPO_BENCH_DIR:-/tmp}
logs="$build/benchmarks"
runs=(
  "bench_trainer_overhead --chunks $chunks --chunk-batches 100"
  "bench_fashion_mnist_epoch --reps $reps"
  "bench_peers_epoch --reps $reps --dir $dir"
  "bench_optimizer_step --reps $reps"
  "bench_checkpoint_io --mb $mb --reps $((reps > 3 ? 3 : reps)) --dir $dir"
  "bench_resume --reps $((reps * 3)) --dir $dir"
  "bench_distributed --reps $reps"
  "bench_object_store --mb $mb --reps $((reps > 3 ? 3 : reps)) --dir $dir"
  "bench_loader --reps $reps"
  "bench_gpt_step --reps $reps"
)
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for run in "${runs[@]}"; do
  name=${run%% *}
  echo "== $run" >&2
  if ! "$build/benchmarks/"$run >"$logs/$name.log" 2>&1; then
    echo "error: $name failed; see $logs/$name.log" >&2
    tail -5 "$logs/$name.log" >&2
    exit 1
  fi
  grep '^RESULT' "$logs/$name.log" >>"$results" || true
done

table=$(
  echo "| benchmark | ratio | median | min | max | goal | |"
  echo "|---|---|---|---|---|---|---|"
  awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7, $8}' "$results"
)
echo
echo "$table"

# The LibTorch the benchmarks linked: the wheel's torch version, or Debian's package.
case "$torch" in
  wheel) libtorch="$("$venv/bin/python" -c 'import torch; print(torch.__version__)') (the torch wheel's), Python peers on the same torch" ;;
  debian) libtorch="$(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null) (Debian's)" ;;
  *) libtorch="from $torch" ;;
esac
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "# Benchmark results"
  echo
  echo "Latest run of \`benchmarks/run.sh$([ $quick = 1 ] && echo ' --quick')\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "Machine: $(nproc) CPUs ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM," \
    "$(. /etc/os-release && echo "$PRETTY_NAME"), LibTorch $libtorch."
  echo "Each ratio is measured side by side in one run (alternating, repeated): median, min and max over the"
  echo "repetitions. The per-repetition figures are in $logs/<benchmark>.log."
  echo
  echo "$table"
} >benchmarks/RESULTS.md
echo
echo "written: benchmarks/RESULTS.md (logs in $logs/)"
