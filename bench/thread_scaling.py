#!/usr/bin/python3
"""Thread scaling of ebm-bench: 1 thread against 2, interleaved.

    /usr/bin/python3 bench/thread_scaling.py --ours build-bench/bench/ebm-bench [--rounds 4] [--size large]
                                             [--only W ...] [--min-time 0.5] [--per-cpu]

Runs `ebm-bench --only W --size S --threads T` for T = 1, 2, 1, 2, ... (rounds of both), takes each method's
median over the rounds of its per-run medians, and prints for each workload the fastest method at each thread
count and the speed-up (1-thread ms / 2-thread ms), then every method's medians. The machine's speed moves
between modes within seconds, so only numbers from one interleaved run are compared.

--per-cpu adds, in each round, one-thread runs pinned to CPU 0 and to CPU 1 (`taskset -c`). On a VM the two
vCPUs are not always equally fast; with one-thread times a and b on them, two threads that split the work
perfectly would take ab / (a + b), so the speed-up a workload can reach is t1 (a + b) / (ab) (the `ceiling`
column), and `of ceiling` is how much of that two threads reached: (ab / (a + b)) / t2. It also runs the two
pinned one-thread processes at the same time (times a', b': what each vCPU does while the other is busy too,
sharing caches, memory and power), and `of together` is (a'b' / (a' + b')) / t2: two threads in one process
against two independent processes, one per vCPU.
"""
import argparse
import collections
import json
import shlex
import statistics
import subprocess

WORKLOADS = ["energy_grad", "score", "hvp", "ssm_step", "dsm_step", "langevin", "cd_step"]


def record(times, label, out):
    """Adds each method's median from one ebm-bench run's JSON rows."""
    for line in out.splitlines():
        row = json.loads(line)
        times[(label, row["method"])].append(row["ms_median"])
        for method, alt in row.get("alt", {}).items():
            times[(label, method)].append(alt["ms_median"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", required=True, help="the ebm-bench command")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--size", default="large", choices=["small", "mid", "large"])
    ap.add_argument("--only", nargs="+", default=WORKLOADS)
    ap.add_argument("--min-time", default="0.5")
    ap.add_argument("--per-cpu", action="store_true", help="also time one thread pinned to CPU 0 and to CPU 1")
    args = ap.parse_args()
    # (label, threads, command prefix)
    configs = [("1", 1, []), ("2", 2, [])]
    if args.per_cpu:
        configs += [("cpu0", 1, ["taskset", "-c", "0"]), ("cpu1", 1, ["taskset", "-c", "1"])]
    labels = [c[0] for c in configs] + (["cpu0+", "cpu1+"] if args.per_cpu else [])
    head = "| workload | 1 thread ms (method) | 2 threads ms (method) | speed-up |"
    if args.per_cpu:
        head += " CPU 0 ms | CPU 1 ms | ceiling | of ceiling | CPU 0, 1 together ms | of together |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    details = []
    for w in args.only:
        times = collections.defaultdict(list)  # (config, method) -> per-run medians
        def command(prefix, threads):
            return prefix + shlex.split(args.ours) + ["--only", w, "--size", args.size, "--threads", str(threads),
                                                      "--min-time", args.min_time]
        for _ in range(args.rounds):
            for label, threads, prefix in configs:
                out = subprocess.run(command(prefix, threads), capture_output=True, text=True, check=True).stdout
                record(times, label, out)
            if args.per_cpu:  # both pinned one-thread runs at once
                procs = [subprocess.Popen(command(["taskset", "-c", str(c)], 1), stdout=subprocess.PIPE, text=True)
                         for c in (0, 1)]
                for c, p in enumerate(procs):
                    out, _ = p.communicate()
                    if p.returncode:
                        raise SystemExit(f"ebm-bench failed on CPU {c} (exit {p.returncode})")
                    record(times, f"cpu{c}+", out)
        med = {k: statistics.median(v) for k, v in times.items()}
        best = {c: min((v, m) for (cc, m), v in med.items() if cc == c) for c in labels}
        row = (f"| {w} | {best['1'][0]:.3f} ({best['1'][1]}) | {best['2'][0]:.3f} ({best['2'][1]}) | "
               f"{best['1'][0] / best['2'][0]:.2f} |")
        if args.per_cpu:
            a, b = best["cpu0"][0], best["cpu1"][0]
            ideal = a * b / (a + b)
            a2, b2 = best["cpu0+"][0], best["cpu1+"][0]
            row += (f" {a:.3f} | {b:.3f} | {best['1'][0] / ideal:.2f} | {ideal / best['2'][0]:.2f} |"
                    f" {a2:.3f}, {b2:.3f} | {a2 * b2 / (a2 + b2) / best['2'][0]:.2f} |")
        print(row, flush=True)
        details += [f"{w} threads={c} {m}: {med[(c, m)]:.3f} ms {times[(c, m)]}" for (c, m) in sorted(med)]
    print()
    print("\n".join(details))


if __name__ == "__main__":
    main()
