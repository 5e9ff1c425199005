#!/usr/bin/env bash
# The kill test: `tempo train` (tests/kill/kill_test.yaml, autoresume, a checkpoint after every
# batch) is SIGKILLed at 20 random instants and restarted each time until the run completes;
# its final weights must equal an uninterrupted run's bit for bit. After each kill every visible
# checkpoint must load (saves are rename-based, so a kill can leave only hidden .tmp.* files);
# a kill that leaves a new .tmp.* file, or a fourth checkpoint that rotation had yet to delete,
# landed inside a save. Then a SIGTERM run must exit 143
# with its one-line message and a checkpoint, and resume to the same weights.
#
# usage: kill_test.sh TEMPO_BINARY [CONFIG]      (registered in tests/CMakeLists.txt)
set -u
TEMPO=${1:?usage: kill_test.sh TEMPO_BINARY [CONFIG]}
CONFIG=${2:-$(dirname "$0")/kill_test.yaml}
KILLS=${KILLS:-20}
RANDOM=1234

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tempo-kill-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fail() { echo "kill test: FAIL: $*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# A safetensors file's tensor bytes and header, minus the metadata's "source" (the path exported).
# Layout: 8-byte little-endian header length N, N bytes of JSON, then the tensor data.
split_safetensors() {  # FILE OUT_PREFIX
  local n
  n=$(od -An -t u8 -N 8 "$1" | tr -d ' ')
  [[ -n "$n" && "$n" -gt 0 ]] || fail "$1 is not a safetensors file"
  tail -c +$((9 + n)) "$1" > "$2.data"
  head -c $((8 + n)) "$1" | tail -c +9 | sed -E -e 's/"source":"[^"]*"//' -e 's/ +$//' > "$2.header"  # padded with spaces
}

same_weights() {  # CHECKPOINT_A CHECKPOINT_B: exits 0 when the model tensors are bit-identical
  "$TEMPO" export "$1" --format safetensors "$WORK/a.safetensors" > /dev/null || fail "cannot export $1"
  "$TEMPO" export "$2" --format safetensors "$WORK/b.safetensors" > /dev/null || fail "cannot export $2"
  split_safetensors "$WORK/a.safetensors" "$WORK/a"
  split_safetensors "$WORK/b.safetensors" "$WORK/b"
  [[ -s "$WORK/a.data" ]] || fail "no tensor data exported from $1"
  cmp -s "$WORK/a.data" "$WORK/b.data" && cmp -s "$WORK/a.header" "$WORK/b.header"
}

# Every visible (non-.tmp) checkpoint in FOLDER, and the latest link, must load.
check_visible() {  # FOLDER
  local f
  for f in "$1"/*.pt; do
    [[ -e "$f" ]] || continue
    "$TEMPO" inspect "$f" > /dev/null 2> "$WORK/inspect.err" ||
      fail "visible checkpoint $f does not load after a kill: $(cat "$WORK/inspect.err")"
  done
}

start=$(now_ms)

# 1. The uninterrupted run, timed; and the start-up time (a one-batch run).
t0=$(now_ms)
"$TEMPO" train "$CONFIG" save_folder="$WORK/straight" > "$WORK/straight.log" 2>&1 ||
  fail "the uninterrupted run failed: $(tail -5 "$WORK/straight.log")"
full_ms=$(( $(now_ms) - t0 ))
t0=$(now_ms)
"$TEMPO" train "$CONFIG" save_folder="$WORK/startup" max_duration=1ba > "$WORK/startup.log" 2>&1 ||
  fail "the one-batch run failed: $(tail -5 "$WORK/startup.log")"
startup_ms=$(( $(now_ms) - t0 ))
train_ms=$(( full_ms > startup_ms + 100 ? full_ms - startup_ms : 100 ))

# 2. Kill, restart, kill ... Timing by the clock alone is fragile on a loaded machine, so most
# kills wait for the launch's first new checkpoint (it is training and saving) and then a random
# 0-20 ms; one in four comes at a random instant from the launch on, start-up and loading included.
# On a fast disk a run may complete before all 20 kills: then it is checked and a new run (a new
# round, in a fresh folder) takes the remaining kills.
kills=0 during_save=0 launches=0 restarts=0 round=1 identical=yes
declare -A seen_tmp=()

finish_round() {  # restart the round's run until it completes, then compare its weights
  local log=$1
  while ! grep -q '^finished at' "$log"; do
    launches=$((launches + 1)) restarts=$((restarts + 1))
    (( restarts < KILLS + 5 )) || fail "the run does not complete after $restarts restarts"
    log="$WORK/launch$launches.log"
    "$TEMPO" train "$CONFIG" save_folder="$FOLDER" > "$log" 2>&1 || fail "restart $launches failed: $(tail -5 "$log")"
  done
  # A restart that could not resume would start afresh, and the saver refuses a fresh run in a
  # folder holding the run's checkpoints (exit 1, caught above); the weights check the rest.
  check_visible "$FOLDER"
  same_weights "$WORK/straight/latest-rank0.pt" "$FOLDER/latest-rank0.pt" || identical=no
}

FOLDER="$WORK/killed$round"
round_launches=0
while (( kills < KILLS )); do
  launches=$((launches + 1)) round_launches=$((round_launches + 1))
  (( round_launches > 1 )) && restarts=$((restarts + 1))
  log="$WORK/launch$launches.log"
  "$TEMPO" train "$CONFIG" save_folder="$FOLDER" > "$log" 2>&1 &
  pid=$!
  if (( RANDOM % 4 == 0 )); then
    delay_ms=$(( (RANDOM * 32768 + RANDOM) % (startup_ms + 100) ))
  else
    before=$(readlink "$FOLDER/latest-rank0.pt" 2> /dev/null)
    while kill -0 "$pid" 2> /dev/null && [[ "$(readlink "$FOLDER/latest-rank0.pt" 2> /dev/null)" == "$before" ]]; do
      sleep 0.005
    done
    delay_ms=$(( RANDOM % 21 ))
  fi
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -KILL "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  rc=$?
  if [[ $rc -eq 137 ]]; then
    kills=$((kills + 1))
    new_tmp=0
    for f in "$FOLDER"/.tmp.*; do
      [[ -e "$f" ]] || continue
      [[ -n "${seen_tmp[$f]:-}" ]] && continue
      seen_tmp[$f]=1
      new_tmp=1
    done
    # Killed between a save's rename and its rotation: one checkpoint more than the 3 kept.
    visible=$(compgen -G "$FOLDER/ep*.pt" | wc -l)
    (( visible > 3 )) && new_tmp=1
    during_save=$((during_save + new_tmp))
    [[ -d "$FOLDER" ]] && check_visible "$FOLDER"
  elif [[ $rc -eq 0 ]]; then
    # The run completed before the kill: check it, and start a new round for the other kills.
    finish_round "$log"
    round=$((round + 1)) round_launches=0
    FOLDER="$WORK/killed$round"
  else
    fail "launch $launches exited $rc: $(tail -5 "$log")"
  fi
done

# 3. Restart the last round until it completes; it must resume, and match.
(( round_launches > 0 )) && finish_round "$log"

# 4. SIGTERM: exit 143 with one line naming the batch and its checkpoint (usually one the 50ba
# interval would not have written), then resume.
TERM_FOLDER="$WORK/terminated"
"$TEMPO" train "$CONFIG" save_folder="$TERM_FOLDER" save_interval=50ba > "$WORK/term.log" 2> "$WORK/term.err" &
pid=$!
for ((i = 0; i < 6000; i++)); do
  [[ -e "$TERM_FOLDER/ep0-ba50-rank0.pt" ]] && break
  kill -0 "$pid" 2> /dev/null || break
  sleep 0.01
done
kill -TERM "$pid" || fail "SIGTERM: the run ended before batch 50 was saved"
wait "$pid"
rc=$?
[[ $rc -eq 143 ]] || fail "SIGTERM: exit status $rc, expected 143: $(tail -3 "$WORK/term.err")"
line=$(grep '^tempo: stopped by SIGTERM after batch' "$WORK/term.err") || fail "SIGTERM: no 'stopped by' line in: $(cat "$WORK/term.err")"
saved=${line##*checkpoint saved to }
[[ -f "$saved" ]] || fail "SIGTERM: '$line' names no existing checkpoint"
batch=$(sed -E 's/.*after batch ([0-9]+);.*/\1/' <<< "$line")
(( batch >= 50 )) || fail "SIGTERM: stopped after batch $batch; expected one at or after 50"
[[ "$saved" == *"-ba$batch-rank0.pt" ]] || fail "SIGTERM: checkpoint '$saved' is not of batch $batch"
"$TEMPO" train "$CONFIG" save_folder="$TERM_FOLDER" save_interval=50ba > "$WORK/term2.log" 2>&1 ||
  fail "restart after SIGTERM failed: $(tail -5 "$WORK/term2.log")"
grep -q "at epoch [0-9]*, batch $batch," "$WORK/term2.log" || fail "the restart after SIGTERM did not resume at batch $batch"
same_weights "$WORK/straight/latest-rank0.pt" "$TERM_FOLDER/latest-rank0.pt" && term_identical=yes || term_identical=no

elapsed=$(( $(now_ms) - start ))
echo "kill test: $kills kills ($during_save during a save), $restarts restarts, $round run(s), final weights identical: $identical"
echo "kill test: SIGTERM after batch $batch -> exit 143, checkpoint $(basename "$saved"), resumed weights identical: $term_identical"
echo "kill test: uninterrupted run ${full_ms} ms (start-up ${startup_ms} ms), whole test ${elapsed} ms"
[[ $identical == yes && $term_identical == yes ]] || fail "final weights differ from the uninterrupted run"
(( kills == KILLS )) || fail "only $kills of $KILLS kills landed before the run completed"
