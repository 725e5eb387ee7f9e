#!/usr/bin/env bash
# Kill and resume: a training run is killed with SIGKILL at 20 random moments (during steps,
# evaluations and checkpoint writes, whose rename is held back 150 ms by a test hook so that
# some kills land between the write and the rename) and resumed after each; it must end with
# the metrics and the final state (weights, optimizer, average: summary.json's state_checksum)
# of an uninterrupted run, bit for bit, and no result file may ever be half-written.
# Usage: test_kill_resume.sh PATH_TO_SWALP [KILLS]
swalp="$1"
kills_wanted="${2:-20}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
run=(--model mlp --data synthetic --limit-train 512 --limit-test 256 --batch-size 64 --epochs 14
     --swa-start 8 --format bfp:8 --threads 1 --seed 3)
"$swalp" train "${run[@]}" --out "$work/whole" > /dev/null 2>&1
check "uninterrupted run" grep -q '"finished": true' "$work/whole/summary.json"

whole_files_ok() {  # every result file present is complete
  local dir="$1"
  if [ -e "$dir/summary.json" ]; then python3 -m json.tool "$dir/summary.json" > /dev/null || return 1; fi
  if [ -e "$dir/metrics.csv" ]; then awk -F, 'NF != 8 { exit 1 }' "$dir/metrics.csv" || return 1; fi
  if [ -e "$dir/config.toml" ]; then grep -q '^rounding = ' "$dir/config.toml" || return 1; fi
  return 0
}

export SWALP_TEST_CHECKPOINT_PAUSE_MS=150
RANDOM=42
kills=0 attempts=0 torn=0 checkpoints=0 in_write=0
dir="$work/killed"
while [ ! -e "$dir/summary.json" ] && [ "$attempts" -lt 200 ]; do
  attempts=$((attempts + 1))
  if [ -e "$dir/config.toml" ]; then args=(--resume "$dir"); else args=("${run[@]}" --out "$dir"); fi
  "$swalp" train "${args[@]}" > /dev/null 2> "$work/err" &
  pid=$!
  if [ "$kills" -lt "$kills_wanted" ]; then
    if [ $((attempts % 4)) -eq 0 ]; then
      # Every fourth kill waits for a checkpoint write to be under way (its temporary file).
      for _ in $(seq 500); do compgen -G "$dir/checkpoint.pt.tmp.*" > /dev/null && break; sleep 0.01; done
      compgen -G "$dir/checkpoint.pt.tmp.*" > /dev/null && in_write=$((in_write + 1))
    else
      sleep "0.$(printf '%03d' $((200 + RANDOM % 700)))"
    fi
    if kill -9 "$pid" 2> /dev/null; then kills=$((kills + 1)); fi
  fi
  wait "$pid" 2> /dev/null
  whole_files_ok "$dir" || torn=$((torn + 1))
  # A kill before the first checkpoint leaves config.toml alone: --resume starts from scratch.
  [ -e "$dir/checkpoint.pt" ] && checkpoints=$((checkpoints + 1))
done
echo "$kills kills in $attempts starts ($in_write during a checkpoint write; $checkpoints left a checkpoint to resume from)"
check "kills landed during checkpoint writes" [ "$in_write" -ge 3 ]
check "$kills_wanted kills happened" [ "$kills" -ge "$kills_wanted" ]
check "no result file was ever half-written" [ "$torn" -eq 0 ]
check "the killed run finished" grep -q '"finished": true' "$dir/summary.json"
check "metrics equal the uninterrupted run's" \
  cmp -s <(cut -d, -f1-6 "$work/whole/metrics.csv") <(cut -d, -f1-6 "$dir/metrics.csv")
sum() { grep '"state_checksum"' "$1/summary.json"; }
check "final state equals the uninterrupted run's bit for bit" [ "$(sum "$work/whole")" = "$(sum "$dir")" ]
finish
