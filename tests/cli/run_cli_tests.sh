#!/usr/bin/env bash
# End-to-end tests of the `ebm` tool: usage: run_cli_tests.sh <ebm-binary> <source-dir>
#   1. the bad-input corpus (tests/cli/bad/cases.txt): each case exits 2, names the problem, leaves no complete run
#   2. examples run end to end; the Gaussian one recovers mu and sigma
#   3. kill -9 after a checkpoint, then --resume: summary, parameters and samples identical to an uninterrupted run
#   4. --threads 1 and --threads 2 give identical results
#   5. PNGs are valid images of the stated size with non-constant content
#   6. the other subcommands: validate, schema, sample, eval, check-grad, --help, --version
#   7. dtype: recorded in summary.json and the checkpoint, followed by sample and eval, a mismatch refused
# Prints "N passed, M failed" last and exits non-zero on any failure.
set -u
EBM=$(realpath "$1")
SRC=$(realpath "$2")
WORK=$(mktemp -d /tmp/ebm-cli-tests.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok; else ko "$what"; fi; }

# ---- 1. bad input -------------------------------------------------------------------------------------------
cd "$SRC/tests/cli/bad"
ncases=0
while IFS='|' read -r name expect args; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  ncases=$((ncases + 1))
  out="$WORK/bad/$name"
  # shellcheck disable=SC2086  # args are deliberately word-split
  "$EBM" run "$name.json" --out "$out" --quiet $args >"$WORK/stdout" 2>"$WORK/stderr"
  rc=$?
  msg=$(cat "$WORK/stderr")
  if [[ $rc -ne 2 ]]; then ko "bad/$name: exit code $rc, expected 2 ($msg)"
  elif [[ "$msg" != *"$expect"* ]]; then ko "bad/$name: message does not contain '$expect': $msg"
  elif [[ "$msg" != *"$name.json"* && "$msg" != *"--"* && "$msg" != *"data/"* && "$msg" != *".csv"* && "$msg" != *".npy"* ]]; then
    ko "bad/$name: the message names neither the experiment file, nor the flag, nor the data file: $msg"
  elif [[ -e "$out/summary.json" ]]; then ko "bad/$name: left a complete-looking run directory"
  else ok; fi
  # validate must refuse the same file (flag errors are specific to `run`).
  if [[ -z "$args" ]]; then
    "$EBM" validate "$name.json" >/dev/null 2>&1
    rc=$?
    if [[ $rc -ne 2 ]]; then ko "bad/$name: validate exit code $rc, expected 2"; else ok; fi
  fi
done <cases.txt
check "bad-input corpus has >= 30 cases ($ncases)" test "$ncases" -ge 30

cd "$WORK"
py() { python3 - "$@"; }

# Input limits (schema.hpp, Note [Input limits]): generated here, too large or deep to keep as files. Each is refused
# with exit 2, quickly, with a short message naming the file and the problem.
python3 - "$WORK" <<'PY'
import sys
w = sys.argv[1]
open(w + "/deep.json", "w").write('{"training": {"steps": ' + "[" * 50000 + "]" * 50000 + "}}")
open(w + "/dup.json", "w").write('{"training": {"steps": 5, "steps": 6}}')
open(w + "/huge_key.json", "w").write('{"training": {"' + "k" * 10000000 + '": 5}, "model": {"type": "' + "m" * 5000000 + '"}}')
open(w + "/too_big.json", "w").write('{"seed": 0' + " " * (17 << 20) + "}")
open(w + "/overflow.json", "w").write('{"optimiser": {"lr": 1e999}}')
PY
while IFS='|' read -r name expect; do
  start=$(date +%s%N)
  "$EBM" validate "$WORK/$name.json" >/dev/null 2>"$WORK/limit.err"
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  check "input limit $name: exit 2 in < 3 s with a short message naming the file and '$expect' (exit $rc, $ms ms)" \
    bash -c '[[ $1 -eq 2 && $2 -lt 3000 && $(wc -c <"$3") -lt 2000 ]] && grep -q "$4.json: .*$5" "$3"' _ "$rc" "$ms" "$WORK/limit.err" "$name" "$expect"
done <<'CASES'
deep|nested deeper than 64 levels under training.steps
dup|training.steps: duplicate key
huge_key|(10000000 characters): unknown key
too_big|experiment files are limited to 16 MiB
overflow|invalid JSON: number overflow
CASES
"$EBM" run "$SRC/examples/gaussian_sm.json" --out "$WORK/limit.err/run" --quiet 2>/dev/null
check "--out under a regular file: exit 2" test $? -eq 2
"$EBM" run "$SRC/examples/gaussian_sm.json" --out "$WORK/limit.err" --quiet 2>/dev/null
check "--out naming a regular file: exit 2" test $? -eq 2
"$EBM" run "$SRC/examples/gaussian_sm.json" --out "$WORK/g_tiny" --quiet --set training.steps=5 --set sampler.steps=5
"$EBM" sample --run "$WORK/g_tiny" --sampler gibbs >/dev/null 2>"$WORK/gibbs.err"
check "sample --sampler gibbs on a Gaussian run: exit 2 naming sampler.type" \
  bash -c '[[ $1 -eq 2 ]] && grep -q "sampler.type: Gibbs sampling needs" "$2"' _ $? "$WORK/gibbs.err"
same_summary() {  # summary.json equal except for timings
  py "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b): d.pop("timings", None)
sys.exit(0 if a == b else 1)
PY
}

# ---- 2. examples ------------------------------------------------------------------------------------------------
# With forward and reverse AIS (reverse from exact samples of the Gaussian model): the sandwich holds log Z.
"$EBM" run "$SRC/examples/gaussian_sm.json" --out "$WORK/gauss" --quiet --set evaluation.ais.enabled=true \
  --set evaluation.ais.reverse=exact --set evaluation.ais.chains=200 --set evaluation.ais.steps=500 --set evaluation.ksd.enabled=true
check "gaussian example exits 0" test $? -eq 0
check "gaussian example recovers mu and sigma" py "$WORK/gauss/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
p = s["parameters"]
mu, sigma = p["mu"], p["sigma"]
ok = abs(mu[0] - 1) < 0.1 and abs(mu[1] + 2) < 0.15 and abs(sigma[0] / 0.5 - 1) < 0.08 and abs(sigma[1] / 2 - 1) < 0.08
ok = ok and s["complete"] and abs(s["evaluation"]["log_z"]["quadrature"] - p["log_z_analytic"]) < 1e-3
if not ok: print("gaussian summary:", json.dumps(p), s["evaluation"].get("log_z"))
sys.exit(0 if ok else 1)
PY
check "gaussian example: AIS sandwich (exact reverse samples) brackets the analytic log Z" py "$WORK/gauss/summary.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["evaluation"]
z, a = e["parameters"]["log_z_analytic"], e["log_z"]["ais"]
w, r = a["sandwich"], a["reverse"]
# Stochastic bounds: checked up to 4 of their SEs; both within 0.1 nats at 500 intermediates.
ok = w["lower"] - 4 * a["lower_bound_stderr"] <= z <= w["upper"] + 4 * r["upper_bound_stderr"]
ok = ok and abs(w["lower"] - z) < 0.1 and abs(w["upper"] - z) < 0.1 and abs(r["estimate"] - z) < 0.1
ok = ok and r["samples"] == "exact" and r["guaranteed"] and w["upper_guaranteed"] and r["chains"] == 200
h = e["likelihood"]["held_out"]
ok = ok and e["held_out"]["source"] == "fresh_draw" and e["held_out"]["points"] == 5000
ok = ok and h["log_likelihood_ais_bounds"]["lower"] <= h["log_likelihood_ais_bounds"]["upper"]
if not ok: print("gaussian AIS:", json.dumps(a), json.dumps(e["likelihood"]))
sys.exit(0 if ok else 1)
PY
# KSD: MALA's 1000 independent chains sample the model, so their test does not reject (P(p <= 0.001) = 0.001 under H0).
check "gaussian example: KSD of the model's samples against the model does not reject" py "$WORK/gauss/summary.json" <<'PY'
import json, sys
k = json.load(open(sys.argv[1]))["evaluation"]["ksd"]
ok = k["kernel"] == "imq" and k["samples"]["points"] == 1000 and k["samples"]["p_value"] > 0.001 and k["held_out"]["points"] == 1000
sys.exit(0 if ok else print("ksd:", json.dumps(k)) or 1)
PY

EX="$SRC/examples/two_moons_ssm.json"
"$EBM" run "$EX" --out "$WORK/t1" --threads 1 --quiet
check "two-moons --threads 1 exits 0" test $? -eq 0
"$EBM" run "$EX" --out "$WORK/t2" --threads 2 --quiet
check "two-moons --threads 2 exits 0" test $? -eq 0
check "--threads 1 and 2: identical summaries" same_summary "$WORK/t1/summary.json" "$WORK/t2/summary.json"
check "--threads 1 and 2: identical samples" cmp -s "$WORK/t1/samples.npy" "$WORK/t2/samples.npy"
check "--threads 1 and 2: identical parameters" cmp -s "$WORK/t1/parameters.json" "$WORK/t2/parameters.json"
"$EBM" run "$EX" --out "$WORK/t1" --quiet 2>"$WORK/rerun.err"
check "rerun into an existing run directory is refused (exit 2), naming --resume and --force" \
  bash -c '[[ $1 -eq 2 ]] && grep -q -- "--resume continues it, --force replaces it" "$2"' _ $? "$WORK/rerun.err"
cp -r "$WORK/t1" "$WORK/t1_forced"
"$EBM" run "$EX" --out "$WORK/t1_forced" --quiet --force --set training.steps=100
check "--force replaces a run directory" py "$WORK/t1_forced/summary.json" <<'PY'
import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["steps"] == 100 else 1)
PY
mkdir -p "$WORK/not_a_run" && touch "$WORK/not_a_run/keep.txt"
"$EBM" run "$EX" --out "$WORK/not_a_run" --quiet --force 2>/dev/null
check "--force leaves a folder that is not a run directory alone (exit 2)" bash -c '[[ $1 -eq 2 && -e $2/keep.txt ]]' _ $? "$WORK/not_a_run"

# ---- 3. kill -9 after a checkpoint, then --resume --------------------------------------------------------------
# EBM_TEST_CRASH_AFTER_CHECKPOINT makes the tool SIGKILL itself right after writing the checkpoint of that step:
# a deterministic `kill -9 after a checkpoint`.
EBM_TEST_CRASH_AFTER_CHECKPOINT=750 "$EBM" run "$EX" --out "$WORK/k" --quiet 2>/dev/null
rc=$?
check "crash hook killed the run (exit $rc)" test $rc -eq 137
check "killed run does not look complete" test ! -e "$WORK/k/summary.json"
check "killed run has a checkpoint" test -s "$WORK/k/checkpoint.cbor"
"$EBM" run "$EX" --out "$WORK/k" --resume --quiet
check "--resume exits 0" test $? -eq 0
check "resumed summary identical to uninterrupted" same_summary "$WORK/t1/summary.json" "$WORK/k/summary.json"
check "resumed parameters identical" cmp -s "$WORK/t1/parameters.json" "$WORK/k/parameters.json"
check "resumed samples identical" cmp -s "$WORK/t1/samples.npy" "$WORK/k/samples.npy"
check "resumed metrics identical (wall time aside)" test "$(sed 's/,"wall_time".*//' "$WORK/t1/metrics.jsonl" | md5sum)" = \
  "$(sed 's/,"wall_time".*//' "$WORK/k/metrics.jsonl" | md5sum)"

# A damaged checkpoint (Note [Checkpoint files]) is refused with exit 2, the file named, and the previous
# generation offered; resuming from that one gives the uninterrupted run's bits.
EX_CK=(--set training.checkpoint_every=250)
EBM_TEST_CRASH_AFTER_CHECKPOINT=750 "$EBM" run "$EX" --out "$WORK/kc" --quiet "${EX_CK[@]}" 2>/dev/null
check "checkpoint crash run keeps the previous generation" test -s "$WORK/kc/checkpoint.prev.cbor"
flip() {  # flip_bytes FILE OFFSET COUNT: invert COUNT bytes from OFFSET (negative: from the end)
  py "$@" <<'PY'
import sys
p, off, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b = bytearray(open(p, "rb").read())
off = off % len(b)
for i in range(off, off + n): b[i] ^= 0xFF
open(p, "wb").write(bytes(b))
PY
}
cp "$WORK/kc/checkpoint.cbor" "$WORK/kc.good"
flip "$WORK/kc/checkpoint.cbor" -100 8
"$EBM" run "$EX" --out "$WORK/kc" --resume --quiet "${EX_CK[@]}" 2>"$WORK/kc.err"
rc=$?
check "resume from a checkpoint with 8 flipped bytes: exit 2, the file, the checksum and the previous generation named" \
  bash -c '[[ $1 -eq 2 ]] && grep -q "checkpoint.cbor: damaged checkpoint: the checksum" "$2" && grep -q "checkpoint.prev.cbor (step 500) is intact" "$2"' \
  _ "$rc" "$WORK/kc.err"
check "the refused resume did not complete the run" test ! -e "$WORK/kc/summary.json"
for cmd in sample eval; do
  "$EBM" "$cmd" --run "$WORK/kc" >/dev/null 2>"$WORK/kc.err"
  rc=$?
  check "ebm $cmd on a damaged checkpoint: exit 2 naming the file" \
    bash -c '[[ $1 -eq 2 ]] && grep -q "checkpoint.cbor: damaged checkpoint" "$2"' _ "$rc" "$WORK/kc.err"
done
head -c 10 "$WORK/kc.good" >"$WORK/kc/checkpoint.cbor"
"$EBM" eval --run "$WORK/kc" >/dev/null 2>"$WORK/kc.err"
rc=$?
check "a checkpoint cut inside its header: exit 2, named" \
  bash -c '[[ $1 -eq 2 ]] && grep -q "checkpoint.cbor: damaged checkpoint: the header is cut short" "$2"' _ "$rc" "$WORK/kc.err"
mv "$WORK/kc/checkpoint.prev.cbor" "$WORK/kc/checkpoint.cbor"
"$EBM" run "$EX" --out "$WORK/kc" --resume --quiet "${EX_CK[@]}"
check "resumed from the previous generation: exit 0" test $? -eq 0
"$EBM" run "$EX" --out "$WORK/kc_ref" --quiet "${EX_CK[@]}"
check "resumed from the previous generation: parameters identical to an uninterrupted run" \
  cmp -s "$WORK/kc_ref/parameters.json" "$WORK/kc/parameters.json"
check "resumed from the previous generation: samples identical" cmp -s "$WORK/kc_ref/samples.npy" "$WORK/kc/samples.npy"

# Fault injection. (a) kill -9 at random points, over and over, each time resuming (or starting afresh when the
# kill came before config.json existed), until the run completes: the result is the uninterrupted run's, bit for
# bit. FAULT_KILLS kills at least (the note reports a longer run: FAULT_KILLS=200). (b) kill -9 inside a checkpoint
# save, between its two renames. (c) a full disk under a checkpoint write and under a metrics write: exit 1 with
# the file named, the last good checkpoint intact, and a resume (with room again) gives the uninterrupted bits.
KILL_ARGS=(--set training.steps=600 --set training.checkpoint_every=20 --set training.log_every=10 --set sampler.steps=50)
"$EBM" run "$EX" --out "$WORK/kill_ref" --quiet "${KILL_ARGS[@]}"
kills=0 rounds=0 want=${FAULT_KILLS:-50}
while [[ $kills -lt $want && $rounds -lt $((want * 4)) ]]; do
  rounds=$((rounds + 1))
  rm -rf "$WORK/kill"
  done_run=0
  while [[ $done_run -eq 0 && $kills -lt $want ]]; do
    if [[ -e "$WORK/kill/config.json" ]]; then resume=(--resume); else rm -rf "$WORK/kill"; resume=(); fi
    "$EBM" run "$EX" --out "$WORK/kill" --quiet "${KILL_ARGS[@]}" "${resume[@]}" 2>/dev/null &
    pid=$!
    sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
    wait "$pid" 2>/dev/null
    [[ -e "$WORK/kill/summary.json" ]] && done_run=1
  done
  if [[ -e "$WORK/kill/config.json" ]]; then "$EBM" run "$EX" --out "$WORK/kill" --quiet "${KILL_ARGS[@]}" --resume; else
    rm -rf "$WORK/kill"; "$EBM" run "$EX" --out "$WORK/kill" --quiet "${KILL_ARGS[@]}"; fi
  if ! cmp -s "$WORK/kill_ref/parameters.json" "$WORK/kill/parameters.json" || \
     ! cmp -s "$WORK/kill_ref/samples.npy" "$WORK/kill/samples.npy" || ! same_summary "$WORK/kill_ref/summary.json" "$WORK/kill/summary.json"; then
    ko "kill -9 loop: round $rounds (after $kills kills in all) differs from the uninterrupted run"
    break
  fi
done
check "kill -9 at $kills random points (>= $want) in $rounds rounds: every resumed run identical to the uninterrupted one" test "$kills" -ge "$want"
EBM_TEST_CRASH_DURING_CHECKPOINT=100 "$EBM" run "$EX" --out "$WORK/midck" --quiet "${KILL_ARGS[@]}" 2>/dev/null
check "killed inside a checkpoint save (between its renames): no checkpoint.cbor, the previous one kept" \
  bash -c '[[ ! -e $1/checkpoint.cbor && -s $1/checkpoint.prev.cbor ]]' _ "$WORK/midck"
"$EBM" run "$EX" --out "$WORK/midck" --quiet --resume "${KILL_ARGS[@]}"
check "resumed after a kill inside a checkpoint save: identical parameters" cmp -s "$WORK/kill_ref/parameters.json" "$WORK/midck/parameters.json"
if [[ -n "${EBM_FAULT_SHIM:-}" && -e "${EBM_FAULT_SHIM:-}" ]]; then
  ck_bytes=$(stat -c %s "$WORK/kill_ref/checkpoint.cbor")
  for target in checkpoint.cbor metrics.jsonl; do
    after=$((ck_bytes * 3 / 2)); [[ $target == metrics.jsonl ]] && after=700
    rm -rf "$WORK/full"
    LD_PRELOAD="$EBM_FAULT_SHIM" EBM_FAULT_PATH="$target" EBM_FAULT_AFTER_BYTES=$after \
      "$EBM" run "$EX" --out "$WORK/full" --quiet "${KILL_ARGS[@]}" 2>"$WORK/full.err"
    rc=$?
    check "disk full under $target: exit 1, the file and 'No space left' named, no summary" \
      bash -c '[[ $1 -eq 1 && ! -e $2/summary.json ]] && grep -q "$3.*No space left on device" "$4"' _ "$rc" "$WORK/full" "$target" "$WORK/full.err"
    "$EBM" eval --run "$WORK/full" >/dev/null 2>&1
    check "disk full under $target: the last good checkpoint loads" test $? -eq 0
    "$EBM" run "$EX" --out "$WORK/full" --quiet --resume "${KILL_ARGS[@]}"
    check "disk full under $target: resumed with room again, identical parameters" \
      cmp -s "$WORK/kill_ref/parameters.json" "$WORK/full/parameters.json"
  done
else
  ko "fault shim missing (EBM_FAULT_SHIM=${EBM_FAULT_SHIM:-}): the disk-full cases did not run"
fi

# (d) NaN injected into a gradient (every objective of the schema, each through an example that uses it) and into
# the chains of the negative phase: the divergence guard rolls back and retries, the result is finite, and
# without retries left the run stops (exit 1) with its last checkpoint finite and loadable.
NAN_ARGS=(--set training.steps=12 --set training.log_every=2 --set training.checkpoint_every=2 --set sampler.chains=20
          --set evaluation.ais.enabled=false --set evaluation.restore.enabled=false --set evaluation.log_z=false)
finite_run() {  # finite_run DIR: summary with a divergence event, parameters all finite
  py "$1" <<'PY'
import json, math, sys
d = sys.argv[1]
s, p = json.load(open(d + "/summary.json")), json.load(open(d + "/parameters.json"))
vals = [v for q in p.values() for v in q["values"]]
ok = len(s["divergence_events"]) >= 1 and all(math.isfinite(v) for v in vals)
if not ok: print(d, s["divergence_events"], [v for v in vals if not math.isfinite(v)][:3])
sys.exit(0 if ok else 1)
PY
}
objectives=$("$EBM" schema | python3 -c 'import json, sys
print(" ".join(v["properties"]["type"]["const"] for v in json.load(sys.stdin)["properties"]["objective"]["oneOf"]))')
check "the schema lists objectives" test -n "$objectives"
for obj in $objectives; do
  ex=$(grep -l "\"objective\": {\"type\": \"$obj\"" "$SRC"/examples/*.json | grep -v fashion | head -1)
  [[ -z "$ex" ]] && ex=$(grep -l "\"objective\": {\"type\": \"$obj\"" "$SRC"/examples/*.json | head -1)
  if [[ -z "$ex" ]]; then ko "objective $obj has no example in examples/ to inject a NaN through"; continue; fi
  EBM_TEST_NAN_GRAD_AT_STEP=3 "$EBM" run "$ex" --out "$WORK/nan_$obj" --quiet "${NAN_ARGS[@]}" 2>/dev/null
  check "NaN in a gradient ($obj, $(basename "$ex")): exit 0" test $? -eq 0
  check "NaN in a gradient ($obj): rolled back (divergence event), parameters finite" finite_run "$WORK/nan_$obj"
  EBM_TEST_NAN_GRAD_AT_STEP=3 "$EBM" run "$ex" --out "$WORK/nan0_$obj" --quiet "${NAN_ARGS[@]}" --set training.max_retries=0 2>/dev/null
  check "NaN in a gradient ($obj), no retries: exit 1" test $? -eq 1
  "$EBM" sample --run "$WORK/nan0_$obj" --n 4 --out "$WORK/nan0.npy" >/dev/null 2>&1
  check "NaN in a gradient ($obj), no retries: the last checkpoint loads and samples" test $? -eq 0
done
for ex in gaussian_cd_mala eight_gaussians_mh blobs_jem; do
  EBM_TEST_NAN_IN_CHAINS=3 "$EBM" run "$SRC/examples/$ex.json" --out "$WORK/nanc_$ex" --quiet "${NAN_ARGS[@]}" 2>/dev/null
  check "NaN in the negative phase's chains ($ex): exit 0" test $? -eq 0
  check "NaN in the negative phase's chains ($ex): rolled back, parameters finite" finite_run "$WORK/nanc_$ex"
done

# ---- 3b. row shards: the numbers depend on training.shards only ------------------------------------------------------
# A replay-buffer CD run in 3 shards (each its own pool of chains): 1 and 2 threads give the same bits, and so does a
# kill -9 after a checkpoint followed by a resume. More shards than rows, or fewer negatives than shards: exit 2.
SH_ARGS=(--set training.shards=3 --set training.steps=40 --set training.checkpoint_every=10 --set training.log_every=10
         --set sampler.chains=50 --set sampler.warmup=20 --set sampler.steps=40 --set evaluation.log_z=false)
SH_EX="$SRC/examples/eight_gaussians_mh.json"
"$EBM" run "$SH_EX" --out "$WORK/sh1" --quiet --threads 1 "${SH_ARGS[@]}"
"$EBM" run "$SH_EX" --out "$WORK/sh2" --quiet --threads 2 "${SH_ARGS[@]}"
check "3 shards: 1 and 2 threads give identical parameters" cmp -s "$WORK/sh1/parameters.json" "$WORK/sh2/parameters.json"
check "3 shards: 1 and 2 threads give identical summaries" same_summary "$WORK/sh1/summary.json" "$WORK/sh2/summary.json"
EBM_TEST_CRASH_AFTER_CHECKPOINT=20 "$EBM" run "$SH_EX" --out "$WORK/shk" --quiet "${SH_ARGS[@]}" 2>/dev/null
"$EBM" run "$SH_EX" --out "$WORK/shk" --quiet --resume "${SH_ARGS[@]}"
check "3 shards: killed after step 20 and resumed, identical parameters" cmp -s "$WORK/sh1/parameters.json" "$WORK/shk/parameters.json"
check "3 shards: killed and resumed, identical samples" cmp -s "$WORK/sh1/samples.npy" "$WORK/shk/samples.npy"
"$EBM" run "$SH_EX" --out "$WORK/sh_one" --quiet "${SH_ARGS[@]}" --set training.shards=1
check "1 shard and 3 shards differ (the shard count is part of the experiment)" bash -c '! cmp -s "$1" "$2"' _ \
  "$WORK/sh1/parameters.json" "$WORK/sh_one/parameters.json"
"$EBM" run "$SH_EX" --out "$WORK/sh_bad" --quiet "${SH_ARGS[@]}" --set training.shards=129 2>"$WORK/sh_bad.err"
check "more shards than batch rows: exit 2 naming training.shards" \
  bash -c '[[ $1 -eq 2 ]] && grep -q "training.shards" "$2"' _ $? "$WORK/sh_bad.err"
"$EBM" run "$SH_EX" --out "$WORK/sh_neg" --quiet "${SH_ARGS[@]}" --set objective.negatives=2 2>"$WORK/sh_neg.err"
check "fewer negatives than shards: exit 2 naming objective.negatives" \
  bash -c '[[ $1 -eq 2 ]] && grep -q "objective.negatives" "$2"' _ $? "$WORK/sh_neg.err"

# ---- 4. a run-time failure: divergence with no retries left exits 1 and never looks complete -----------------------
"$EBM" run "$EX" --out "$WORK/div" --quiet --set optimiser.type=sgd --set optimiser.lr=1e300 --set training.steps=300 \
  --set training.max_retries=1 2>"$WORK/div.err"
rc=$?
check "divergence exits 1 (got $rc)" test $rc -eq 1
check "divergence message" grep -q "diverged" "$WORK/div.err"
check "diverged run does not look complete" test ! -e "$WORK/div/summary.json"
# ... and with a retry at a (much) smaller learning rate, the guard recovers and logs the event.
"$EBM" run "$EX" --out "$WORK/div2" --quiet --set optimiser.type=sgd --set optimiser.lr=1e300 --set training.steps=300 \
  --set training.max_retries=3 --set training.retry_lr_factor=1e-302
check "divergence guard recovers with a smaller learning rate" py "$WORK/div2/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["complete"] and len(s["divergence_events"]) >= 1 and s["divergence_events"][0]["lr_scale"] < 1 else 1)
PY

# ---- 5. PNGs ----------------------------------------------------------------------------------------------------
check_png() {  # file width height
  py "$@" <<'PY'
import struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b = open(path, "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
pos, idat, size = 8, b"", None
while pos < len(b):
    n, kind = struct.unpack(">I4s", b[pos:pos + 8]); data = b[pos + 8:pos + 8 + n]
    crc = struct.unpack(">I", b[pos + 8 + n:pos + 12 + n])[0]
    assert zlib.crc32(kind + data) & 0xffffffff == crc, "bad CRC in " + kind.decode()
    if kind == b"IHDR": size = struct.unpack(">II", data[:8]); depth, ctype = data[8], data[9]
    if kind == b"IDAT": idat += data
    pos += 12 + n
assert size == (w, h), f"size {size}, expected {(w, h)}"
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4, 0: 1, 4: 2}[ctype]
assert len(raw) == h * (1 + w * bpp), "wrong amount of pixel data"
rows = [raw[i * (1 + w * bpp) + 1:(i + 1) * (1 + w * bpp)] for i in range(h)]
# Filtered bytes: a constant image has identical rows (after row 0) made only of zeros or one repeated value.
assert len(set(raw)) > 8, "image content looks constant"
PY
}
check_png_grid() {  # a valid PNG with content: an image grid, 8 tiles across
  py "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n"
w, h = struct.unpack(">II", b[16:24])
assert w == 457 and 28 < h <= w, (w, h)  # 8 tiles of 2x28 px + 1-px separators
assert len(set(b[33:])) > 8
PY
}
check "energy.png is a valid 480x480 PNG with content" check_png "$WORK/t1/energy.png" 480 480
check "training.png is a valid 640x400 PNG with content" check_png "$WORK/t1/training.png" 640 400
"$EBM" run "$SRC/examples/mixture_1d_ssm.json" --out "$WORK/m1" --quiet --set training.steps=200 --set sampler.steps=50
check "1-D example runs" test -s "$WORK/m1/summary.json"
check "histogram.png is a valid 480x300 PNG with content" check_png "$WORK/m1/histogram.png" 480 300

# ---- 5b. the other objective and sampler families, shortened ------------------------------------------------------
"$EBM" run "$SRC/examples/gaussian_cd_mala.json" --out "$WORK/cd" --quiet
check "CD + MALA example recovers mu and the covariance" py "$WORK/cd/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
p = s["parameters"]; mu, c = p["mu"], p["covariance"]
ok = abs(mu[0] - 1) < 0.05 and abs(mu[1] + 2) < 0.15 and abs(c[0][0] / 0.25 - 1) < 0.1 and abs(c[1][1] / 4 - 1) < 0.1 and abs(c[0][1]) < 0.1
ok = ok and s["final"]["terms"]["accept_rate"] > 0.5 and s["sampler"]["type"] == "hmc"
if not ok: print("cd summary:", json.dumps(p), s["final"])
sys.exit(0 if ok else 1)
PY
"$EBM" run "$SRC/examples/blobs_jem.json" --out "$WORK/jem" --quiet --set training.steps=600 --set sampler.steps=100
check "JEM example classifies (train and held-out accuracy >= 0.95)" py "$WORK/jem/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
a = s["evaluation"]["accuracy"]
sys.exit(0 if a["train"] >= 0.95 and a["held_out"] >= 0.95 else 1)
PY
"$EBM" run "$SRC/examples/fashion_rbm_pcd.json" --out "$WORK/rbm" --quiet --set data.subset=1000 --set training.steps=200 \
  --set sampler.steps=50 --set sampler.chains=16
check "RBM example draws an image grid" check_png_grid "$WORK/rbm/samples.png"
"$EBM" run "$SRC/examples/fashion_rbm_64.json" --out "$WORK/rbm64" --quiet --set data.subset=1000 --set training.steps=100 \
  --set sampler.steps=20 --set sampler.chains=16 --set evaluation.ais.chains=10 --set evaluation.ais.steps=100 \
  --set evaluation.pseudo_likelihood.all_bits_points=50 --set evaluation.ais.reverse=data
check "RBM-64 example reports held-out (test split) AIS log-likelihood and pseudo-likelihood" py "$WORK/rbm64/summary.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["evaluation"]
t = e["likelihood"]["held_out"]
ok = e["held_out"] == {"source": "test_split", "points": 10000} and e["likelihood"]["train"]["points"] == 1000
ok = ok and t["points"] == 10000 and -784 * 0.7 < t["log_likelihood_ais"] < 0 and -784 * 0.7 < t["pseudo_likelihood"] < 0
ok = ok and -784 * 0.7 < t["pseudo_likelihood_all_bits"] < 0 and t["pseudo_likelihood_all_bits_points"] == 50
sys.exit(0 if ok else 1)
PY
check "RBM-64 example: reverse AIS from held-out data is labelled approximate" py "$WORK/rbm64/summary.json" <<'PY'
import json, math, sys
e = json.load(open(sys.argv[1]))["evaluation"]
a = e["log_z"]["ais"]
r, w = a["reverse"], a["sandwich"]
ok = r["samples"] == "held_out_data" and r["guaranteed"] is False and "APPROXIMATE" in r["note"] and r["chains"] == 10
ok = ok and w["upper_guaranteed"] is False and all(math.isfinite(w[k]) for k in ("lower", "upper", "gap", "estimate"))
b = e["likelihood"]["held_out"]["log_likelihood_ais_bounds"]
ok = ok and b["lower_guaranteed"] is False and math.isfinite(b["lower"]) and math.isfinite(b["upper"])
if not ok: print(json.dumps(a))
sys.exit(0 if ok else 1)
PY
check "RBM-64 example draws an image grid" check_png_grid "$WORK/rbm64/samples.png"
# scikit-learn's PCD: hidden persistent chains from zeros, batches in the data's own order. Killed after a
# checkpoint and resumed, it ends with the parameters of the uninterrupted run (the pool of hidden states and its
# generators are in the checkpoint).
RBMH=(--quiet --set data.subset=1000 --set training.steps=60 --set training.checkpoint_every=20 --set sampler.steps=5
  --set sampler.chains=4 --set evaluation.ais.enabled=false --set evaluation.pseudo_likelihood.all_bits_points=20
  --set objective.persist=hidden --set objective.init=zeros --set training.batches=in_order)
"$EBM" run "$SRC/examples/fashion_rbm_64.json" --out "$WORK/rbmh1" "${RBMH[@]}"
EBM_TEST_CRASH_AFTER_CHECKPOINT=20 "$EBM" run "$SRC/examples/fashion_rbm_64.json" --out "$WORK/rbmh2" "${RBMH[@]}" 2>/dev/null
check "hidden-chain PCD run was killed" test ! -e "$WORK/rbmh2/summary.json"
"$EBM" run "$SRC/examples/fashion_rbm_64.json" --out "$WORK/rbmh2" --resume "${RBMH[@]}"
check "hidden-chain PCD run resumed identical (parameters)" cmp -s "$WORK/rbmh1/parameters.json" "$WORK/rbmh2/parameters.json"
"$EBM" run "$SRC/examples/fashion_rbm_64.json" --out "$WORK/rbmh3" "${RBMH[@]}" --set objective.persist=visible
check "hidden-chain PCD differs from visible-chain PCD" bash -c '! cmp -s "$1" "$2"' _ "$WORK/rbmh1/parameters.json" "$WORK/rbmh3/parameters.json"
"$EBM" run "$SRC/examples/rings_dsm_ladder.json" --out "$WORK/ladder" --quiet --set training.steps=100 --set sampler.steps_per_level=5 \
  --set sampler.chains=50
check "DSM ladder + annealed Langevin example runs" test -s "$WORK/ladder/summary.json"
"$EBM" run "$SRC/examples/fashion_dsm_ladder.json" --out "$WORK/restore" --quiet --set data.subset=500 --set training.steps=30 \
  --set sampler.chains=8 --set sampler.steps_per_level=3 --set evaluation.restore.images=4 --set evaluation.restore.steps_per_level=3
check "restoration demo reports PSNR before/after for denoising and inpainting" py "$WORK/restore/summary.json" <<'PY'
import json, math, sys
r = json.load(open(sys.argv[1]))["evaluation"]["restore"]
d, i = r["denoise"], r["inpaint"]
ok = r["images"] == 4 and d["noise_sd"] == 0.3 and i["mask"] == "center" and i["missing_pixels"] == 196
# 0.3 noise on [0, 1] pixels: PSNR of the noisy input about 10 log10(1 / 0.09) = 10.5 dB
ok = ok and abs(d["psnr_noisy"] - 10.46) < 0.5 and all(math.isfinite(v) for v in (d["psnr_tweedie"], d["psnr_langevin"], i["psnr_masked_after"]))
sys.exit(0 if ok else 1)
PY
check "denoise.png is a 4 x 4 grid of 28x28 tiles" check_png "$WORK/restore/denoise.png" 229 229
check "inpaint.png is a 3 x 4 grid of 28x28 tiles" check_png "$WORK/restore/inpaint.png" 229 172
"$EBM" run "$SRC/examples/mixture_1d_tempering.json" --out "$WORK/pt" --quiet --set training.steps=200 --set sampler.steps=50 \
  --set sampler.warmup=20 --set sampler.chains=50
check "tempering example reports swap-level sampling" py "$WORK/pt/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
sm = s["sampler"]
sys.exit(0 if sm["type"] == "tempering" and 0 < sm["acceptance_rate"] <= 1 and len(sm["swap_rates"]) == 7
         and all(0 < r <= 1 for r in sm["swap_rates"]) and len(sm["level_acceptance_rates"]) == 8 else 1)
PY
"$EBM" run "$SRC/examples/mixture_1d_f_ebm.json" --out "$WORK/febm" --quiet
check "f-EBM example reports a density ratio close to the true one, and rejection sampling" py "$WORK/febm/summary.json" <<'PY'
import json, math, sys
o = json.load(open(sys.argv[1]))["evaluation"]["objective"]
pts = o["density_ratio"]["at"]
# The learnt ratio p/q_theta against the true one (the data's mixture density over the fitted Gaussian), where
# the data has mass: within 25% in log terms on points with true ratio > 0.1.
ok = all(abs(math.log(p["ratio"] / p["true_ratio"])) < 0.25 for p in pts if p["true_ratio"] > 0.1) and len(pts) >= 5
ok = ok and 0 < o["rejection_sampling"]["acceptance_rate"] < 1
if not ok: print(json.dumps(o)[:600])
sys.exit(0 if ok else 1)
PY
"$EBM" run "$SRC/examples/two_moons_adversarial.json" --out "$WORK/adv" --quiet --set training.steps=300
check "adversarial example reports q's moments and entropy" py "$WORK/adv/summary.json" <<'PY'
import json, math, sys
o = json.load(open(sys.argv[1]))["evaluation"]["objective"]
sys.exit(0 if len(o["mean"]) == 2 and len(o["covariance"]) == 2 and math.isfinite(o["entropy"]) else 1)
PY
# Persistent chains (a replay buffer) survive kill -9 and --resume bit for bit.
SHORT=(--set training.steps=300 --set training.checkpoint_every=100 --set training.log_every=50 --set sampler.steps=100 --set sampler.warmup=50)
"$EBM" run "$SRC/examples/eight_gaussians_mh.json" --out "$WORK/buf1" --quiet "${SHORT[@]}"
EBM_TEST_CRASH_AFTER_CHECKPOINT=200 "$EBM" run "$SRC/examples/eight_gaussians_mh.json" --out "$WORK/buf2" --quiet "${SHORT[@]}" 2>/dev/null
check "replay-buffer run was killed" test ! -e "$WORK/buf2/summary.json"
"$EBM" run "$SRC/examples/eight_gaussians_mh.json" --out "$WORK/buf2" --quiet --resume "${SHORT[@]}"
check "replay-buffer run resumed identical (summary)" same_summary "$WORK/buf1/summary.json" "$WORK/buf2/summary.json"
check "replay-buffer run resumed identical (parameters)" cmp -s "$WORK/buf1/parameters.json" "$WORK/buf2/parameters.json"
# Batches in epochs (each row once per epoch, a permutation per epoch): also resumed bit for bit, and not the
# with-replacement draw.
"$EBM" run "$SRC/examples/eight_gaussians_mh.json" --out "$WORK/ep1" --quiet "${SHORT[@]}" --set training.batches=epochs
EBM_TEST_CRASH_AFTER_CHECKPOINT=200 "$EBM" run "$SRC/examples/eight_gaussians_mh.json" --out "$WORK/ep2" --quiet "${SHORT[@]}" \
  --set training.batches=epochs 2>/dev/null
check "epoch-batches run was killed" test ! -e "$WORK/ep2/summary.json"
"$EBM" run "$SRC/examples/eight_gaussians_mh.json" --out "$WORK/ep2" --quiet --resume "${SHORT[@]}" --set training.batches=epochs
check "epoch-batches run resumed identical (parameters)" cmp -s "$WORK/ep1/parameters.json" "$WORK/ep2/parameters.json"
check "epoch batches differ from batches with replacement" bash -c '! cmp -s "$1" "$2"' _ "$WORK/ep1/parameters.json" "$WORK/buf1/parameters.json"
"$EBM" run "$SRC/examples/eight_gaussians_mh.json" --out "$WORK/io1" --quiet "${SHORT[@]}" --set training.batches=in_order
check "in-order batches differ from shuffled epochs" bash -c '! cmp -s "$1" "$2"' _ "$WORK/io1/parameters.json" "$WORK/ep1/parameters.json"
out=$("$EBM" run "$SRC/examples/eight_gaussians_mh.json" --out "$WORK/ep3" --quiet --set training.batches=shuffled 2>&1)
check "an unknown training.batches is an error naming the key and the choices" \
  bash -c '[[ "$1" == *training.batches* && "$1" == *epochs* ]]' _ "$out"

# ---- 5b. numbers that must be right, and failures that must not look like success ---------------------------------
# The 3-spin machine of the Sharif lecture notes (w12 = w13 = -1, w23 = 2, b2 = 1): log Z = 5.14994 by hand
# (8 states). Its parameters come from model.init and a learning rate of 1e-300 leaves them unchanged.
"$EBM" run "$SRC/tests/cli/fixtures/spin_machine.json" --out "$WORK/spin" --quiet
check "spin machine run exits 0" test $? -eq 0
check "spin machine: exact log Z by enumeration, and Gibbs AIS within 4 SE and 0.1 of it" py "$WORK/spin/summary.json" <<'PY'
import itertools, json, math, sys
z = json.load(open(sys.argv[1]))["evaluation"]["log_z"]
a = z["ais"]
w, b = {(0, 1): -1, (0, 2): -1, (1, 2): 2}, [0, 1, 0]  # -E(x) = sum_{i<j} w_ij x_i x_j + b.x over {-1, +1}^3
truth = math.log(sum(math.exp(sum(v * x[i] * x[j] for (i, j), v in w.items()) + sum(c * u for c, u in zip(b, x)))
                     for x in itertools.product([-1, 1], repeat=3)))
ok = abs(z["enumeration"] - 5.14994) < 1e-5 and abs(z["enumeration"] - truth) < 1e-12 and a["transition"] == "gibbs"
ok = ok and abs(a["estimate"] - truth) < max(4 * a["stderr"], 1e-9) and abs(a["estimate"] - truth) < 0.1
if not ok: print(json.dumps(z))
sys.exit(0 if ok else 1)
PY
# W = 0 (the model's own initialisation): log Z = 3 log 2 exactly, for AIS too (the base is the model).
"$EBM" run "$SRC/tests/cli/fixtures/spin_machine.json" --out "$WORK/spin0" --quiet --set 'model.init={}' --set evaluation.ais.steps=50
check "spin machine with W = 0: log Z = 3 log 2" py "$WORK/spin0/summary.json" <<'PY'
import json, math, sys
z = json.load(open(sys.argv[1]))["evaluation"]["log_z"]
ok = abs(z["enumeration"] - 3 * math.log(2)) < 1e-9 and abs(z["ais"]["estimate"] - 3 * math.log(2)) < 0.05
if not ok: print(json.dumps(z))
sys.exit(0 if ok else 1)
PY
# A full-covariance Gaussian trained adversarially against a Gaussian q can leave a precision that is not positive
# definite: the run must fail naming the stage, never write summary.json.
"$EBM" run "$SRC/tests/cli/fixtures/adversarial_full_gaussian.json" --out "$WORK/advfull" --quiet 2>"$WORK/advfull.err"
rc=$?
if [[ $rc -eq 0 ]]; then
  check "adversarial full-covariance Gaussian: a run that exits 0 reports finite parameters" py "$WORK/advfull/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["complete"] and "error" not in json.dumps(s) else 1)
PY
else
  check "adversarial full-covariance Gaussian: a failure exits 1, names its stage and leaves no summary" \
    bash -c '[[ $1 -eq 1 && ! -e $2/summary.json ]] && grep -q "evaluation.parameters\|training" "$3"' _ "$rc" "$WORK/advfull" "$WORK/advfull.err"
fi
# Fault injection: a failure in any stage of run, sample and eval exits 1 with the stage named, and a run never gets
# its summary.json (EBM_TEST_FAIL_STAGE, train.hpp).
GSHORT=(--set training.steps=20 --set sampler.steps=20 --set sampler.chains=50 --set evaluation.ais.enabled=true
        --set evaluation.ais.steps=20 --set evaluation.ais.chains=20 --set evaluation.mmd=true --set evaluation.ksd.enabled=true)
for stage in training training.update parameters sampling evaluation.parameters evaluation.held_out evaluation.energy \
             evaluation.log_z evaluation.ais evaluation.likelihood evaluation.mmd evaluation.ksd plots summary; do
  EBM_TEST_FAIL_STAGE=$stage "$EBM" run "$SRC/examples/gaussian_sm.json" --out "$WORK/fail_$stage" --quiet "${GSHORT[@]}" \
    2>"$WORK/fail.err"
  rc=$?
  check "injected failure in $stage: exit 1, stage named, no summary.json" \
    bash -c '[[ $1 -eq 1 && ! -e $2/summary.json ]] && grep -q "$3.*injected failure" "$4"' _ "$rc" "$WORK/fail_$stage" "$stage" "$WORK/fail.err"
done
check "a run whose summary write failed resumes to completion" \
  "$EBM" run "$SRC/examples/gaussian_sm.json" --out "$WORK/fail_summary" --quiet --resume "${GSHORT[@]}"
check "resumed after a failed summary: complete" test -e "$WORK/fail_summary/summary.json"
"$EBM" run "$SRC/examples/gaussian_sm.json" --out "$WORK/ok_run" --quiet "${GSHORT[@]}"
# After 20 of its 1500 steps the model's mean has moved at most 1 of the 2 towards μ₂ = −2: the held-out data reject it.
check "KSD of held-out data rejects an undertrained model" py "$WORK/ok_run/summary.json" <<'PY'
import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["evaluation"]["ksd"]["held_out"]["p_value"] < 0.01 else 1)
PY
for stage in sampling evaluation.energy evaluation.log_z; do
  cmd=(eval --run "$WORK/ok_run"); [[ $stage == sampling ]] && cmd=(sample --run "$WORK/ok_run" --n 10 --out "$WORK/s_fail.npy")
  EBM_TEST_FAIL_STAGE=$stage "$EBM" "${cmd[@]}" >/dev/null 2>"$WORK/fail.err"
  rc=$?
  check "injected failure in ebm ${cmd[0]} ($stage): exit 1 with the stage named" \
    bash -c '[[ $1 -eq 1 ]] && grep -q "$2.*injected failure" "$3"' _ "$rc" "$stage" "$WORK/fail.err"
done
check "a failed ebm eval writes no eval.json" test ! -e "$WORK/ok_run/eval.json"

# No library or tool code runs another program (a package manager least of all): missing data is named, with the
# command that installs it, and is bad input.
check "no code path runs another program (std::system, popen, exec*)" \
  bash -c '! grep -rnE "std::system|popen\(|exec[lv]p?e?\(" "$1"/autodiff "$1"/samplers "$1"/ebm' _ "$SRC"

# ---- 6. other subcommands ------------------------------------------------------------------------------------------
for ex in "$SRC"/examples/*.json; do
  "$EBM" validate "$ex" >/dev/null 2>&1
  check "validate $(basename "$ex")" test $? -eq 0
done
"$EBM" schema >"$WORK/schema.json"
check "schema is JSON with the sections" py "$WORK/schema.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if all(k in s["properties"] for k in ["data", "model", "objective", "sampler", "optimiser", "training", "evaluation", "output"]) else 1)
PY
"$EBM" sample --run "$WORK/t1" --n 64 --sampler mala --steps 20 --out "$WORK/s.npy" >/dev/null
check "sample --sampler mala writes 64 samples" py "$WORK/s.npy" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
sys.exit(0 if b[:6] == b"\x93NUMPY" and b"(64, 2)" in b[:128] else 1)
PY
"$EBM" eval --run "$WORK/gauss" >"$WORK/eval.json"
check "eval prints log Z" grep -q quadrature "$WORK/eval.json"
"$EBM" sample --run "$WORK/nope" 2>/dev/null
check "sample on a missing run exits 2" test $? -eq 2
# A run directory whose config.json was replaced by a deeply nested one, or cut short: bad input (exit 2), no crash.
for bad in deep truncated; do
  rm -rf "$WORK/badcfg_$bad" && cp -r "$WORK/t1" "$WORK/badcfg_$bad"
  python3 - "$WORK/badcfg_$bad/config.json" "$bad" <<'PY'
import sys
path, kind = sys.argv[1], sys.argv[2]
text = open(path).read()
open(path, "w").write('{"seed": ' + "[" * 100000 + "]" * 100000 + "}" if kind == "deep" else text[: len(text) // 2])
PY
  for c in sample eval; do
    out=(); [[ $c == sample ]] && out=(--out "$WORK/badcfg_$bad/s.npy")
    "$EBM" "$c" --run "$WORK/badcfg_$bad" "${out[@]}" >/dev/null 2>"$WORK/badcfg.err"
    rc=$?
    check "$c on a run whose config.json is $bad: exit 2 naming config.json" \
      bash -c '[[ $1 -eq 2 ]] && grep -q "config.json" "$2"' _ "$rc" "$WORK/badcfg.err"
  done
done
for ex in gaussian_cd_mala eight_gaussians_mh blobs_jem rings_dsm_ladder fashion_rbm_pcd rings_nce mixture_1d_f_ebm two_moons_adversarial \
          two_moons_lsd eight_gaussians_fce; do
  "$EBM" check-grad "$SRC/examples/$ex.json" --order 1 >"$WORK/cg_$ex.txt" 2>&1
  check "check-grad $ex (persistent chains and labels held fixed)" test $? -eq 0
done
"$EBM" check-grad "$SRC/examples/gaussian_sm.json" --order 2 >"$WORK/cg.txt"
check "check-grad order 2 passes" test $? -eq 0
check "check-grad prints per-order errors" grep -q "order 2: max abs error" "$WORK/cg.txt"
for c in run validate sample eval check-grad schema; do
  "$EBM" "$c" --help >/dev/null
  check "$c --help" test $? -eq 0
done
"$EBM" --version | grep -q '^ebm [0-9]'
check "--version" test $? -eq 0
"$EBM" frobnicate 2>/dev/null
check "unknown command exits 2" test $? -eq 2

# ---- 7. dtype ------------------------------------------------------------------------------------------------------
# float32 by default, float64 on request: recorded in summary.json and the checkpoint; sample and eval follow the run's
# dtype; a resume or a checkpoint of another dtype than the config's is refused (exit 2) naming both.
dtype_of() { py "$1" <<'PY'
import json, sys
print(json.load(open(sys.argv[1])).get("dtype"))
PY
}
check "summary.json records dtype float32 by default" test "$(dtype_of "$WORK/g_tiny/summary.json")" = float32
check "the float32 checkpoint records its dtype" grep -qa float32 "$WORK/g_tiny/checkpoint.cbor"
check "a float32 run writes float32 samples" bash -c 'head -c 128 "$1" | grep -qa "<f4"' _ "$WORK/g_tiny/samples.npy"
"$EBM" run "$SRC/examples/gaussian_sm.json" --out "$WORK/g64" --quiet --set training.steps=5 --set sampler.steps=5 --set dtype=float64
check "--set dtype=float64 runs" test $? -eq 0
check "summary.json records dtype float64" test "$(dtype_of "$WORK/g64/summary.json")" = float64
check "a float64 run writes float64 samples" bash -c 'head -c 128 "$1" | grep -qa "<f8"' _ "$WORK/g64/samples.npy"
"$EBM" sample --run "$WORK/g_tiny" --n 16 --steps 5 --out "$WORK/s32.npy" >/dev/null
check "sample on a float32 run" bash -c '[[ $1 -eq 0 ]] && head -c 128 "$2" | grep -qa "(16, 2)"' _ $? "$WORK/s32.npy"
"$EBM" eval --run "$WORK/g_tiny" >"$WORK/eval32.json"
check "eval on a float32 run" bash -c '[[ $1 -eq 0 ]] && grep -q quadrature "$2"' _ $? "$WORK/eval32.json"
"$EBM" run "$SRC/examples/gaussian_sm.json" --out "$WORK/g_tiny" --quiet --resume --set training.steps=5 --set sampler.steps=5 \
  --set dtype=float64 2>"$WORK/resume64.err"
check "resume of a float32 run as float64: exit 2 naming both dtypes" \
  bash -c '[[ $1 -eq 2 ]] && grep -q "float32" "$2" && grep -q "float64" "$2"' _ $? "$WORK/resume64.err"
# A config.json edited to another dtype than its checkpoint's: eval, sample and resume refuse the checkpoint.
cp -r "$WORK/g_tiny" "$WORK/g_edit" && rm "$WORK/g_edit/summary.json"
py "$WORK/g_edit/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["dtype"] = "float64"; json.dump(c, open(sys.argv[1], "w"))
PY
for cmd in "eval --run $WORK/g_edit" "sample --run $WORK/g_edit --n 4 --out $WORK/s_edit.npy" \
           "run $WORK/g_edit/config.json --out $WORK/g_edit --resume --quiet"; do
  # shellcheck disable=SC2086  # the command's words
  "$EBM" $cmd >/dev/null 2>"$WORK/edit.err"
  check "${cmd%% *} with a float32 checkpoint under a float64 config: exit 2 naming both dtypes" \
    bash -c '[[ $1 -eq 2 ]] && grep -q "checkpoint holds float32 parameters but the experiment.s dtype is float64" "$2"' _ $? "$WORK/edit.err"
done
# A run directory written before the key existed (config.json without "dtype") was float64.
py "$WORK/g64/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); del c["dtype"]; json.dump(c, open(sys.argv[1], "w"))
PY
"$EBM" eval --run "$WORK/g64" >/dev/null 2>&1
check "eval of a run whose config.json has no dtype reads it as float64" test $? -eq 0

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
