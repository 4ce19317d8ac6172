#!/usr/bin/python3
"""Thread scaling of ebm-bench: 1 thread against 2, interleaved.

    /usr/bin/python3 bench/thread_scaling.py --ours build-bench/bench/ebm-bench [--rounds 4] [--size large]
                                             [--only W ...] [--min-time 0.5]

Runs `ebm-bench --only W --size S --threads T` for T = 1, 2, 1, 2, ... (rounds of both), takes each method's
median over the rounds of its per-run medians, and prints for each workload the fastest method at each thread
count and the speed-up (1-thread ms / 2-thread ms), then every method's medians. The machine's speed moves
between modes within seconds, so only numbers from one interleaved run are compared.
"""
import argparse
import collections
import json
import shlex
import statistics
import subprocess

WORKLOADS = ["energy_grad", "score", "hvp", "ssm_step", "dsm_step", "langevin", "cd_step"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", required=True, help="the ebm-bench command")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--size", default="large", choices=["small", "mid", "large"])
    ap.add_argument("--only", nargs="+", default=WORKLOADS)
    ap.add_argument("--min-time", default="0.5")
    args = ap.parse_args()
    print("| workload | 1 thread ms (method) | 2 threads ms (method) | speed-up |")
    print("|---|---|---|---|")
    details = []
    for w in args.only:
        times = collections.defaultdict(list)  # (threads, method) -> per-run medians
        for _ in range(args.rounds):
            for threads in (1, 2):
                cmd = shlex.split(args.ours) + ["--only", w, "--size", args.size, "--threads", str(threads),
                                                "--min-time", args.min_time]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                for line in out.splitlines():
                    row = json.loads(line)
                    times[(threads, row["method"])].append(row["ms_median"])
                    for method, alt in row.get("alt", {}).items():
                        times[(threads, method)].append(alt["ms_median"])
        med = {k: statistics.median(v) for k, v in times.items()}
        best = {t: min((v, m) for (tt, m), v in med.items() if tt == t) for t in (1, 2)}
        print(f"| {w} | {best[1][0]:.3f} ({best[1][1]}) | {best[2][0]:.3f} ({best[2][1]}) | "
              f"{best[1][0] / best[2][0]:.2f} |", flush=True)
        details += [f"{w} threads={t} {m}: {med[(t, m)]:.3f} ms {times[(t, m)]}" for (t, m) in sorted(med)]
    print()
    print("\n".join(details))


if __name__ == "__main__":
    main()
