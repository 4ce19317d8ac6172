#!/usr/bin/env bash
# `ebm run` across MPI processes (Note [Shards across processes]): usage: run_mpi_tests.sh <ebm-binary> <source-dir>
#   1. P = 1, 2, 3, 4 processes x 1 and 2 threads: parameters, samples and summary identical, for objectives that
#      exchange gradients (CD with a replay buffer), batch statistics (f-EBM), labels (JEM) and closed-form
#      gradients (an RBM's CD)
#   2. kill -9 after a checkpoint at P = 2, resumed at P = 3: identical to the uninterrupted run
#   3. kill -9 of one process mid-run: the job ends with an error naming it, the last checkpoint loads, and a
#      resume on one process gives the uninterrupted bits
#   4. bad input under mpirun: exit 2, reported once
# Prints "N passed, M failed" last and exits non-zero on any failure.
set -u
EBM=$(realpath "$1")
SRC=$(realpath "$2")
WORK=$(mktemp -d /tmp/ebm-mpi-tests.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN=(mpirun --oversubscribe)
pass=0
fail=0
ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok; else ko "$what"; fi; }
same_run() {  # parameters, samples and summary (timings aside) of two run directories
  cmp -s "$1/parameters.json" "$2/parameters.json" && cmp -s "$1/samples.npy" "$2/samples.npy" &&
    /usr/bin/python3 - "$1/summary.json" "$2/summary.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b): d.pop("timings", None)
sys.exit(0 if a == b else 1)
PY
}

if ! "$EBM" --version | grep -q "MPI"; then
  ko "$EBM was built without MPI (cmake -DEBM_MPI=ON): nothing here can run"
  echo "$pass passed, $fail failed"
  exit 1
fi

# ---- 1. the process and thread counts never change the bits --------------------------------------------------------
SHORT=(--set training.steps=30 --set training.checkpoint_every=10 --set training.log_every=10 --set sampler.chains=40
       --set sampler.steps=20 --set evaluation.log_z=false --quiet)
declare -A EXTRA=(
  [eight_gaussians_mh]="--set training.shards=4 --set sampler.warmup=10"
  [mixture_1d_f_ebm]="--set training.shards=4"
  [blobs_jem]="--set training.shards=4"
  [fashion_rbm_pcd]="--set training.shards=3 --set data.subset=600 --set model.hidden=16 --set sampler.warmup=5 --set evaluation.ais.enabled=false --set evaluation.pseudo_likelihood.enabled=false"
)
for ex in eight_gaussians_mh mixture_1d_f_ebm blobs_jem fashion_rbm_pcd; do
  # shellcheck disable=SC2206  # the extra options are deliberately word-split
  args=("${SHORT[@]}" ${EXTRA[$ex]})
  "$EBM" run "$SRC/examples/$ex.json" --out "$WORK/$ex-p1-t2" --threads 2 "${args[@]}" 2>"$WORK/err"
  check "$ex: one process runs (exit 0)" test $? -eq 0
  for p in 1 2 3 4; do
    for t in 1 2; do
      [[ $p -eq 1 && $t -eq 2 ]] && continue
      "${MPIRUN[@]}" -np "$p" "$EBM" run "$SRC/examples/$ex.json" --out "$WORK/$ex-p$p-t$t" --threads "$t" "${args[@]}" 2>"$WORK/err"
      rc=$?
      check "$ex: $p processes x $t threads: exit 0 ($(head -c 300 "$WORK/err"))" test "$rc" -eq 0
      check "$ex: $p processes x $t threads: identical to 1 process x 2 threads" same_run "$WORK/$ex-p1-t2" "$WORK/$ex-p$p-t$t"
    done
  done
done

# ---- 2. kill -9 after a checkpoint at P = 2, resume at P = 3 -----------------------------------------------------------
EX="$SRC/examples/eight_gaussians_mh.json"
args=("${SHORT[@]}" --set training.shards=4 --set sampler.warmup=10)
EBM_TEST_CRASH_AFTER_CHECKPOINT=20 "${MPIRUN[@]}" -np 2 "$EBM" run "$EX" --out "$WORK/k" --threads 1 "${args[@]}" >/dev/null 2>&1
check "killed after the checkpoint of step 20: no summary" test ! -e "$WORK/k/summary.json"
"${MPIRUN[@]}" -np 3 "$EBM" run "$EX" --out "$WORK/k" --resume --threads 1 "${args[@]}" 2>"$WORK/err"
check "resumed at 3 processes: exit 0" test $? -eq 0
check "stopped at 2 processes, resumed at 3: identical to the uninterrupted run" same_run "$WORK/eight_gaussians_mh-p1-t2" "$WORK/k"

# ---- 3. one process killed mid-run ---------------------------------------------------------------------------------------
long=("${SHORT[@]}" --set training.shards=4 --set sampler.warmup=10 --set training.steps=4000 --set training.checkpoint_every=50)
"$EBM" run "$EX" --out "$WORK/dead_ref" --threads 1 "${long[@]}"
"${MPIRUN[@]}" -np 2 "$EBM" run "$EX" --out "$WORK/dead" --threads 1 "${long[@]}" >"$WORK/dead.out" 2>&1 &
job=$!
victim=""
for _ in $(seq 1 100); do  # rank 1, once a checkpoint exists
  for pid in $(pgrep -f -- "--out $WORK/dead " 2>/dev/null); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$pid
  done
  [[ -n "$victim" && -e "$WORK/dead/checkpoint.cbor" ]] && break
  sleep 0.1
done
if [[ -n "$victim" ]]; then kill -9 "$victim"; fi
wait "$job"
rc=$?
check "a process killed mid-run: the job exits non-zero ($rc) and says which process" \
  bash -c '[[ $1 -ne 0 ]] && grep -qi "rank 1" "$2"' _ "$rc" "$WORK/dead.out"
check "a process killed mid-run: no summary" test ! -e "$WORK/dead/summary.json"
"$EBM" eval --run "$WORK/dead" >/dev/null 2>&1
check "a process killed mid-run: the last checkpoint loads" test $? -eq 0
"$EBM" run "$EX" --out "$WORK/dead" --resume --threads 1 "${long[@]}"
check "a process killed mid-run, resumed on one process: identical to the uninterrupted run" same_run "$WORK/dead_ref" "$WORK/dead"

# ---- 4. bad input under mpirun -----------------------------------------------------------------------------------------
"${MPIRUN[@]}" -np 3 "$EBM" run "$EX" --out "$WORK/bad" "${args[@]}" --set training.shards=0 >"$WORK/bad.out" 2>&1
rc=$?
check "bad input under mpirun: exit 2 ($rc)" test "$rc" -eq 2
check "bad input under mpirun: reported once" test "$(grep -c "training.shards" "$WORK/bad.out")" -eq 1

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
