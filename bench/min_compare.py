#!/usr/bin/python3
"""Like the spec's compare.py (same torch configuration, interleaved runs), for a machine that never goes idle.

Under load the median of each side measures mostly the load (torch's OpenMP pool spin-waits, so it suffers far more
than this engine's TBB). This script keeps compare.py's median ratio and adds the ratio of the *minimum* rep times
of each side (both sides' least-disturbed reps), plus the 1-minute load average before each pair.

    /usr/bin/python3 bench/min_compare.py --ours build-bench/bench/ebm-bench [--rounds 2] [--only W] [--size S]
                                          [--spec-dir DIR]

--spec-dir is the directory of the workload spec (WORKLOADS.md, compare.py, torch_reference.py); by default
../shared/bench relative to the repository root (the parent of this script's directory).
"""
import argparse
import json
import os
import statistics
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SPEC_DIR = os.path.join(REPO, os.pardir, "shared", "bench")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only")
    ap.add_argument("--size")
    ap.add_argument("--spec-dir", default=DEFAULT_SPEC_DIR,
                    help="directory of the workload spec and its compare.py (default: ../shared/bench relative to "
                         "the repository root)")
    args = ap.parse_args()
    spec_dir = os.path.abspath(args.spec_dir)
    if not os.path.isfile(os.path.join(spec_dir, "compare.py")):
        sys.exit(f"min_compare.py: no compare.py in {spec_dir} (give the spec's directory with --spec-dir)")
    sys.path.insert(0, spec_dir)
    import compare  # noqa: E402  (torch_env, rows_of, pick, flops, gemm_rate, PAIRS)
    tenv, config = compare.torch_env()
    ref = ["/usr/bin/python3", os.path.join(compare.HERE, "torch_reference.py")]
    rate = compare.gemm_rate(args.threads)
    print(f"torch config: {config}; threads {args.threads}; rounds {args.rounds}; roof {rate:.1f} GFLOP/s", flush=True)
    print(f"{'workload':14} {'size':6} {'torch med':>9} {'ours med':>9} {'ratio':>6} {'torch min':>9} {'ours min':>9}"
          f" {'ratio':>6} {'frac(min)':>9} {'load':>5}  method", flush=True)
    rows = []
    for w, s in compare.PAIRS:
        if (args.only and w != args.only) or (args.size and s != args.size):
            continue
        load = os.getloadavg()[0]
        tm, om, tn, on, method = [], [], [], [], ""
        for _ in range(args.rounds):
            common = ["--only", w, "--size", s, "--threads", str(args.threads)]
            t = compare.pick(compare.rows_of(ref + common, env=tenv), w, s)
            o = compare.pick(compare.rows_of(args.ours.split() + common), w, s)
            tm.append(t["ms_median"]), om.append(o["ms_median"]), tn.append(t["ms_min"]), on.append(o["ms_min"])
            method = o.get("method", "")
        floor = compare.flops(w, s) / (rate * 1e9) * 1e3
        r = {"workload": w, "size": s, "torch_med": statistics.median(tm), "ours_med": statistics.median(om),
             "torch_min": min(tn), "ours_min": min(on), "load1": round(load, 2), "method": method}
        r["ratio_med"] = r["torch_med"] / r["ours_med"]
        r["ratio_min"] = r["torch_min"] / r["ours_min"]
        r["frac_min"] = floor / r["ours_min"]
        rows.append(r)
        print(f"{w:14} {s:6} {r['torch_med']:9.3f} {r['ours_med']:9.3f} {r['ratio_med']:6.2f} {r['torch_min']:9.3f}"
              f" {r['ours_min']:9.3f} {r['ratio_min']:6.2f} {r['frac_min']:9.2f} {load:5.2f}  {method}", flush=True)
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
