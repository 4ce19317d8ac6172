#!/usr/bin/python3
"""Runs the spec's compare.py one workload/size pair at a time, each only once the machine is idle.

On a shared 2-core machine, other jobs hurt torch (an OpenMP pool that spin-waits) far more than this engine
(TBB), so a plain compare.py run under load mostly measures the load. This wrapper waits before each pair
until the CPUs have been >= --idle busy-free for a few seconds, runs `compare.py --only W --size S --rounds R`,
and measures how much CPU *other* processes used meanwhile (all busy time minus that of its own children),
printed as `other` (in cores; 0 = the pair ran alone).

    /usr/bin/python3 bench/quiet_compare.py --ours build-bench/bench/ebm-bench [--rounds 1] [--idle 0.9] [--max-wait 600]
                                            [--spec-dir DIR]

--spec-dir is the directory of the workload spec (WORKLOADS.md, compare.py, torch_reference.py); by default
../shared/bench relative to the repository root (the parent of this script's directory).
"""
import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SPEC_DIR = os.path.join(REPO, os.pardir, "shared", "bench")
PAIRS = [(w, s) for w in ["energy_grad", "score", "hvp", "ssm_step", "sm_exact_step", "dsm_step", "langevin", "cd_step"]
         for s in (["small", "mid"] if w == "sm_exact_step" else ["small", "large"])]


def cpu_jiffies():
    """(busy, total) jiffies over all CPUs."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def wait_idle(threshold, window=3.0, max_wait=900.0):
    t0 = time.time()
    while True:
        b0, a0 = cpu_jiffies()
        time.sleep(window)
        b1, a1 = cpu_jiffies()
        idle = 1.0 - (b1 - b0) / max(a1 - a0, 1)
        if idle >= threshold or time.time() - t0 > max_wait:
            return idle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--idle", type=float, default=0.9)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-wait", type=float, default=600.0, help="seconds to wait for idle CPUs before running anyway")
    ap.add_argument("--spec-dir", default=DEFAULT_SPEC_DIR,
                    help="directory of the workload spec and its compare.py (default: ../shared/bench relative to "
                         "the repository root)")
    args = ap.parse_args()
    compare = os.path.join(os.path.abspath(args.spec_dir), "compare.py")
    if not os.path.isfile(compare):
        sys.exit(f"quiet_compare.py: no {compare} (give the spec's directory with --spec-dir)")
    hz = os.sysconf("SC_CLK_TCK")
    rows = []
    print(f"{'workload':14} {'size':6} {'torch ms':>9} {'ours ms':>9} {'ratio':>6} {'ours frac':>9} {'other':>6}  ours method",
          flush=True)
    for w, s in PAIRS:
        idle_before = wait_idle(args.idle, max_wait=args.max_wait)
        c0, (b0, _), t0 = os.times(), cpu_jiffies(), time.time()
        out = subprocess.run(["/usr/bin/python3", compare, "--ours", args.ours, "--only", w, "--size", s,
                              "--rounds", str(args.rounds), "--threads", str(args.threads)],
                             capture_output=True, text=True, check=True).stdout.splitlines()
        c1, (b1, _), t1 = os.times(), cpu_jiffies(), time.time()
        ours_cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
        other = max(0.0, ((b1 - b0) / hz - ours_cpu) / (t1 - t0))
        method = out[-2].split()[-1]
        r = json.loads(out[-1])["rows"][0]
        r.update(method=method, other_cores=round(other, 2), idle_before=round(idle_before, 2))
        rows.append(r)
        print(f"{w:14} {s:6} {r['torch_ms']:9.3f} {r['ours_ms']:9.3f} {r['ratio']:6.2f} {r['ours_frac']:9.2f}"
              f" {other:6.2f}  {method}", flush=True)
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
