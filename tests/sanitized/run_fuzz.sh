#!/usr/bin/env bash
# Fuzzes tempo's readers of untrusted files for a bounded time and fails on any finding.
#   run_fuzz.sh SANITIZED_BUILD_DIR TEMPO_CLI [SECONDS_PER_TARGET [PYTHON]]
# Seeds are real files: checkpoints written by `tempo train` (a tiny run on synthetic data), a
# safetensors export of one, Python torch.save files when PYTHON (default /usr/bin/python3) has torch, and
# make_fuzz_seeds' synthetic checkpoint with every dtype and view. Each target then runs with
# libFuzzer's limits: -malloc_limit_mb makes any single allocation over the bound a finding
# (a lying header must not make a reader allocate what the input does not hold), -timeout a hang.
# Crash inputs are kept in SANITIZED_BUILD_DIR/fuzz-findings/ for reproduction
# (`fuzz_checkpoint FILE`).
set -euo pipefail
build=$(cd "$1" && pwd)
tempo=$2
seconds=${3:-20}
python=${4:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Real files first.
"$tempo" train "$here/../kill/kill_test.yaml" run_name=fuzz-seed max_duration=3ba save_interval=1ba \
  autoresume=false save_folder="$work/run" eval_loader=null >"$work/train.log" 2>&1 ||
  { cat "$work/train.log"; exit 1; }
checkpoints=("$work"/run/ep*-ba*-rank0.pt)
"$tempo" export "${checkpoints[0]}" --format safetensors "$work/weights.safetensors" >/dev/null
real=("${checkpoints[@]}" "$work/weights.safetensors")
if "$python" -c 'import torch' >/dev/null 2>&1; then
  mkdir "$work/python"
  "$python" "$here/../python/save_state_dicts.py" "$work/python" >/dev/null
  real+=("$work"/python/*.pt)
fi
"$build/make_fuzz_seeds" "$work/seeds" "${real[@]}"

mkdir -p "$build/fuzz-findings"
status=0
for target in checkpoint safetensors unpickle; do
  mkdir "$work/corpus-$target"
  log="$work/fuzz-$target.log"
  if ! "$build/fuzz_$target" "$work/corpus-$target" "$work/seeds/$target" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 -max_len=262144 \
      -print_final_stats=1 -artifact_prefix="$build/fuzz-findings/$target-" >"$log" 2>&1; then
    echo "fuzz_$target: FINDING (inputs in $build/fuzz-findings/)"
    grep -v '^#[0-9]' "$log" | tail -40
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  corpus=$(ls "$work/corpus-$target" | wc -l)
  seeds=$(ls "$work/seeds/$target" | wc -l)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  echo "fuzz_$target: ${runs:-?} executions in ${seconds}s, ${seeds} seeds, ${corpus} new inputs, ${cov:-cov: ?}"
done
exit $status
