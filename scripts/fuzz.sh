#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, build-fuzz/) and runs each over its seed
# corpus in fuzz/corpus/ (which holds the regression inputs of past findings too).
#   scripts/fuzz.sh                 short mode: 15 s per target (./test.sh runs this)
#   scripts/fuzz.sh --seconds S     S seconds per target
#   scripts/fuzz.sh --runs N        long mode: N executions per target (e.g. 1000000)
#   scripts/fuzz.sh ... TARGET...   only these targets (fuzz_format, fuzz_idx, ...)
# New inputs go to a scratch folder; a finding fails the run and its input is kept in
# build-fuzz/findings/ (add it to fuzz/corpus/TARGET/ once fixed).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-fuzz"
limit=(-max_total_time=15)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2"); shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option '$1'; accepted: --seconds S, --runs N, target names" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_format fuzz_quantize_input fuzz_idx fuzz_cifar fuzz_config fuzz_checkpoint)

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSWALP_FUZZ=ON -DSWALP_SANITIZE=address,undefined -DSWALP_BUILD_TESTS=OFF \
  -DSWALP_BUILD_BENCH=OFF -DSWALP_MPI=OFF > /dev/null
cmake --build "$build" --target "${targets[@]}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$build/findings"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"  # libtorch keeps global caches
export OMP_NUM_THREADS=1
status=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  if "$build/fuzz/$t" "${limit[@]}" -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 \
       -artifact_prefix="$build/findings/$t-" "$scratch/$t" "$root/fuzz/corpus/$t" \
       > "$scratch/$t.log" 2>&1; then
    echo "$t: $(grep -m1 'stat::number_of_executed_units' "$scratch/$t.log" | awk '{print $2}') executions, no finding"
  else
    status=1
    echo "$t: FINDING (input kept in $build/findings/)"
    tail -40 "$scratch/$t.log"
  fi
done
exit $status
