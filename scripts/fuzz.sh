#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/, clang++ with ASan+UBSan) in build-fuzz/ and runs each in turn.
#   scripts/fuzz.sh [SECONDS] [HARNESS...]   SECONDS per harness (default 60); harnesses: config checkpoint npy idx csv
# Each run starts from the committed corpus tests/fuzz/corpus/<harness>/, which it only reads: inputs that reach new
# code go to build-fuzz/corpus/<harness>/ (kept between runs), crashes to build-fuzz/crashes/<harness>/, the log to
# build-fuzz/logs/<harness>.log. A crash stops that harness's run. To keep a crash as a regression input, minimise it
#   build-fuzz/tests/fuzz_<harness> -minimize_crash=1 -runs=10000 CRASH_FILE
# and copy the result into tests/fuzz/corpus/<harness>/ (the fuzz_replay_<harness> test then replays it).
# Prints per harness: executions, coverage (libFuzzer's final cov and ft), inputs added, crashes found; exits 1 if
# any harness crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS] [HARNESS...]" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(config checkpoint npy idx csv)
for h in "${harnesses[@]}"; do
  [ -f "tests/fuzz/fuzz_$h.cpp" ] || { echo "fuzz.sh: no harness tests/fuzz/fuzz_$h.cpp" >&2; exit 2; }
done

scripts/setup.sh clang libclang-rt-14-dev
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DEBM_FUZZ=ON \
  -DEBM_BUILD_BENCH=OFF -DEBM_BUILD_TOOLS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${harnesses[@]/#/fuzz_}"

# The harnesses write their scratch files under $TMPDIR; a memory-backed one keeps the checkpoint harness's fsyncs
# cheap.
scratch=$(mktemp -d "$( [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/ebm-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p build-fuzz/logs
status=0
printf '%-11s %12s %8s %8s %6s %s\n' harness executions cov ft added crashes
for h in "${harnesses[@]}"; do
  work=build-fuzz/corpus/$h crashes=build-fuzz/crashes/$h log=build-fuzz/logs/$h.log
  mkdir -p "$work" "$crashes"
  before=$(ls "$crashes" | wc -l)
  opts=()
  [ -f "tests/fuzz/$h.dict" ] && opts+=(-dict="tests/fuzz/$h.dict")
  # Inputs up to 16 KiB instead of libFuzzer's 4 KiB: CBOR nests one byte per level, and a stack overflows only some
  # thousand levels down.
  [ "$h" = checkpoint ] && opts+=(-max_len=16384)
  TMPDIR=$scratch UBSAN_OPTIONS=print_stacktrace=1 build-fuzz/tests/fuzz_"$h" "$work" "tests/fuzz/corpus/$h" "${opts[@]}" \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
    >"$log" 2>&1 || true
  # A run that stops early (a bad flag, a crash in the seed corpus) may have no stats: then "?".
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  added=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
  cov=$(grep -o ' cov: [0-9]*' "$log" | tail -1 | tr -dc 0-9 || true)
  ft=$(grep -o ' ft: [0-9]*' "$log" | tail -1 | tr -dc 0-9 || true)
  new=$(($(ls "$crashes" | wc -l) - before))
  what=$new
  if [ "$new" -gt 0 ]; then
    status=1
    what="$new: $(ls -t "$crashes" | head -"$new" | sed "s|^|$crashes/|" | tr '\n' ' ')(log: $log)"
  fi
  printf '%-11s %12s %8s %8s %6s %s\n' "$h" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${added:-?}" "$what"
done
exit $status
