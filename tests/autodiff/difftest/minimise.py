"""Shrinks a program on which the engine disagrees with torch to a smallest one that still disagrees.

  /usr/bin/python3 tests/autodiff/difftest/minimise.py --binary BUILD/tests/test_autodiff --in failures.jsonl \
      [--line N] [--quantity TEXT] --out minimised.jsonl

failures.jsonl is what the checker writes with EBM_DIFFTEST_FAILURES=path. A candidate disagrees when the checker,
run on it alone (EBM_DIFFTEST_CORPUS), names a differing quantity of a kind the original program showed (numbers
aside), or with --quantity one containing TEXT.

Every step keeps the values of the ops that remain exactly as they were, so the result stays away from kinks and
ties as the original was: it drops terms of f, requested nodes and directions, turns a var leaf into a constant,
and cuts the graph by replacing a node with a leaf holding its value (torch's, written exactly), then removes
what nothing uses. Each candidate gets fresh reference results from torch_eval.
"""
import argparse
import copy
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import programs  # noqa: E402
import torch_eval  # noqa: E402

STRIP = ("f", "grad", "hvp", "d3")


def operand_positions(ins):
    op = ins[0]
    if op in ("var", "const", "concat_rows"):
        return []
    if op in ("add", "sub", "mul", "div", "mul_sum_to", "matmul"):
        return [1, 2]
    if op == "where":
        return [1, 2, 3]
    return [1]


def remap(ins, m):
    ins = copy.deepcopy(ins)
    if ins[0] == "concat_rows":
        ins[1] = [m[k] for k in ins[1]]
    for j in operand_positions(ins):
        ins[j] = m[ins[j]]
    return ins


def prune(p):
    """p without the nodes that nothing uses, renumbered."""
    need = set(k for k, _ in p["out"]) | set(p["req"]) | {p["x"]}
    for k in range(len(p["prog"]) - 1, -1, -1):
        if k in need:
            need |= set(programs._operands(p["prog"][k]))
    keep = sorted(need)
    m = {old: new for new, old in enumerate(keep)}
    q = {key: val for key, val in p.items() if key not in STRIP}
    q["prog"] = [remap(p["prog"][k], m) for k in keep]
    q["out"] = [[m[k], w] for k, w in p["out"]]
    q["req"] = sorted(m[k] for k in p["req"])
    q["x"] = m[p["x"]]
    q["dirs"] = [[m[k], s, d] for k, s, d in p["dirs"] if k in m and q["prog"][m[k]][0] == "var"]
    return q


def node_values(p):
    n = []
    for ins in p["prog"]:
        t = torch_eval.run_op(ins, n)
        n.append(t)
    return n


def kind(quantity):
    """A differing quantity without its node and direction numbers."""
    return re.sub(r"[0-9]+", "#", quantity)


class Checker:
    """Runs the engine's checker on one program; keeps to the kinds of difference the first program showed."""

    def __init__(self, binary, quantity):
        self.binary, self.quantity, self.kinds, self.runs = binary, quantity, None, 0

    def disagrees(self, p):
        vals = node_values(p)
        if not all(vals[k].requires_grad for k in p["req"] + [p["x"]]):
            return False  # grad and hvp take only nodes that require a gradient
        r = torch_eval.evaluate(p)
        if r is None:
            return False
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write(programs.dumps(r) + "\n")
            path = f.name
        try:
            env = dict(os.environ, EBM_DIFFTEST_CORPUS=path)
            env.pop("EBM_DIFFTEST_FAILURES", None)
            out = subprocess.run([self.binary, "-tc=difftest: the engine*"], env=env, capture_output=True, text=True)
        finally:
            os.unlink(path)
        self.runs += 1
        if out.returncode == 0:
            return False
        found = set(kind(m.group(1)) for m in re.finditer(r"^  (.*): max error", out.stdout, re.M))
        if self.quantity is not None:
            return any(self.quantity in k for k in found)
        if self.kinds is None:
            self.kinds = found
        return bool(found & self.kinds)


def size(p):
    ops = sum(1 for ins in p["prog"] if ins[0] not in ("var", "const"))
    return (ops, len(p["prog"]), len(p["out"]), len(p["req"]), len(p["dirs"]))


def candidates(p):
    """Smaller variants of p, most promising first."""
    vals = node_values(p)
    for k in range(len(p["prog"]) - 1, -1, -1):  # cut the graph at node k
        if p["prog"][k][0] in ("var", "const"):
            continue
        q = copy.deepcopy(p)
        kind = "var" if vals[k].requires_grad else "const"
        q["prog"][k] = [kind, list(vals[k].shape), [float(u) for u in torch_eval.flat(vals[k])]]
        yield prune(q)
    for j in range(len(p["out"])):
        if len(p["out"]) > 1:
            q = copy.deepcopy(p)
            del q["out"][j]
            yield prune(q)
    for j in range(len(p["req"])):
        if len(p["req"]) > 1:
            q = copy.deepcopy(p)
            del q["req"][j]
            yield prune(q)
    for j in range(len(p["dirs"])):
        q = copy.deepcopy(p)
        del q["dirs"][j]
        yield prune(q)
    for k, ins in enumerate(p["prog"]):  # the second and third order in another leaf
        if ins[0] == "var" and k != p["x"]:
            q = copy.deepcopy(p)
            n = len(ins[2])
            q["x"], q["v"], q["w"] = k, [0.5] * n, [-0.25] * n
            yield prune(q)
    for k, ins in enumerate(p["prog"]):
        if ins[0] == "var" and k != p["x"] and k not in p["req"]:
            q = copy.deepcopy(p)
            q["prog"][k][0] = "const"
            yield prune(q)


def minimise(p, checker):
    p = prune(p)
    improved = True
    while improved:
        improved = False
        for q in candidates(p):
            if size(q) < size(p) and checker.disagrees(q):
                p, improved = q, True
                print("  %d ops, %d nodes, %d terms, %d requested, %d directions" % size(p), file=sys.stderr)
                break
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True, help="the test_autodiff executable")
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--line", type=int, default=1, help="which program of the file (1-based)")
    ap.add_argument("--quantity", help="text of the differing quantity to keep")
    ap.add_argument("--out", required=True, help="appended to")
    args = ap.parse_args()
    with torch_eval.open_in(args.inp) as f:
        lines = [line for line in f if line.strip()]
    p = json.loads(lines[args.line - 1])
    checker = Checker(os.path.abspath(args.binary), args.quantity)
    if not checker.disagrees(p):
        sys.exit("the program does not disagree to begin with")
    m = minimise(p, checker)
    r = torch_eval.evaluate(m)
    with open(args.out, "a", encoding="utf-8") as f:
        f.write(programs.dumps(r) + "\n")
    print("%d nodes after %d checker runs; appended to %s" % (len(m["prog"]), checker.runs, args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
