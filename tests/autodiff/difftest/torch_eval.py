"""Reference results for the programs of programs.py, computed by PyTorch in float64.

Per program it adds to the record:
  f      the value
  grad   torch.autograd.grad(f, [nodes of req]) taken together (a leaf gets the total derivative, an intermediate
         the gradient flowing into it; a node f does not depend on gets zeros)
  hvp    H v, H the Hessian of f in the leaf x
  d3     the gradient in x of vᵀ H w, i.e. d3f[v, w, .]

Run with Debian's interpreter, which has python3-torch:
  /usr/bin/python3 tests/autodiff/difftest/torch_eval.py --count 2000 --seed 0 --out tests/autodiff/difftest/corpus_f64.jsonl.gz
  /usr/bin/python3 tests/autodiff/difftest/torch_eval.py --in programs.jsonl --out results.jsonl
An output name ending in .gz is written gzip-compressed (deterministically: no name or time in the header).
Program i depends on (seed, i) alone, so a larger --count extends a corpus, and another seed gives new programs.

A long run: generate with another seed into a file outside the repository, then run the checker on it and shrink
what it finds (the committed corpus is seed 0):
  /usr/bin/python3 tests/autodiff/difftest/torch_eval.py --count 100000 --seed 1 --out LONG.jsonl.gz
  EBM_DIFFTEST_CORPUS=LONG.jsonl.gz EBM_DIFFTEST_FAILURES=failures.jsonl BUILD/tests/test_autodiff -tc="difftest: the*"
  /usr/bin/python3 tests/autodiff/difftest/minimise.py --binary BUILD/tests/test_autodiff --in failures.jsonl --out min.jsonl
"""
import argparse
import gzip
import io
import itertools
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import programs  # noqa: E402

F64 = torch.float64


def tensor(shape, data, requires_grad=False):
    t = torch.tensor(data, dtype=F64).reshape(shape)
    return t.requires_grad_() if requires_grad else t


def sum_to(x, shape):
    lead = x.dim() - len(shape)
    y = x.sum(dim=tuple(range(lead))) if lead else x
    axes = tuple(k for k, n in enumerate(shape) if n == 1 and y.shape[k] != 1)
    y = y.sum(dim=axes, keepdim=True) if axes else y
    return y


def run_op(ins, n):
    """Node k of the program, from the nodes n[0 .. k-1]."""
    op = ins[0]
    if op == "var":
        return tensor(ins[1], ins[2], True)
    if op == "const":
        return tensor(ins[1], ins[2])
    a = n[ins[1]] if op != "concat_rows" else None
    unary = {"exp": torch.exp, "log": torch.log, "log1p": torch.log1p, "sqrt": torch.sqrt, "square": torch.square,
             "abs": torch.abs, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "silu": torch.nn.functional.silu,
             "softplus": torch.nn.functional.softplus, "relu": torch.relu, "transpose": lambda t: t.t(),
             "stop_gradient": lambda t: t.detach()}
    if op in unary:
        return unary[op](a)
    if op == "add":
        return a + n[ins[2]]
    if op == "sub":
        return a - n[ins[2]]
    if op == "mul":
        return a * n[ins[2]]
    if op == "div":
        return a / n[ins[2]]
    if op == "mul_sum_to":
        return sum_to(a * n[ins[2]], ins[3])
    if op == "affine":
        return a * ins[2] + ins[3]
    if op == "pow":
        return torch.pow(a, ins[2])
    if op == "elu":
        return torch.nn.functional.elu(a, alpha=ins[2])
    if op in ("sum", "mean", "logsumexp"):
        if len(ins) == 2:
            return {"sum": lambda: a.sum(), "mean": lambda: a.mean(),
                    "logsumexp": lambda: torch.logsumexp(a.reshape(-1), 0)}[op]()
        f = {"sum": torch.sum, "mean": torch.mean, "logsumexp": torch.logsumexp}[op]
        return f(a, ins[2], keepdim=bool(ins[3]))
    if op == "max":
        return torch.max(a, ins[2], keepdim=bool(ins[3])).values
    if op == "softmax":
        return torch.softmax(a, ins[2])
    if op == "log_softmax":
        return torch.log_softmax(a, ins[2])
    if op == "matmul":
        b = n[ins[2]]
        return (a.t() if ins[3] else a) @ (b.t() if ins[4] else b)
    if op == "reshape":
        return a.reshape(ins[2])
    if op == "broadcast_to":
        return torch.broadcast_to(a, ins[2])
    if op == "sum_to":
        return sum_to(a, ins[2])
    if op == "slice_rows":
        return a[ins[2]:ins[2] + ins[3]]
    if op == "pad_rows":
        start, total, rest = ins[2], ins[3], tuple(a.shape[1:])
        return torch.cat([torch.zeros((start,) + rest, dtype=F64), a,
                          torch.zeros((total - start - a.shape[0],) + rest, dtype=F64)], 0)
    if op == "concat_rows":
        return torch.cat([n[k] for k in ins[1]], 0)
    if op == "gather_cols":
        return a[torch.arange(a.shape[0]), torch.tensor(ins[2])]
    if op == "scatter_cols":
        onehot = torch.zeros((a.shape[0], ins[3]), dtype=F64)
        onehot[torch.arange(a.shape[0]), torch.tensor(ins[2])] = 1.0
        return a[:, None] * onehot
    if op == "where":
        return torch.where(n[ins[1]] != 0, n[ins[2]], n[ins[3]])
    if op == "clamp":
        return torch.clamp(a, ins[2], ins[3])
    raise ValueError("unknown op " + op)


def flat(t):
    t = t.detach()
    if t._is_zerotensor():  # the efficient zero some backward formulas return has no storage
        t = torch.zeros(t.shape, dtype=F64)
    return t.reshape(-1).tolist()


def grads(outputs, inputs, grad_outputs=None, create_graph=False):
    """torch.autograd.grad with zeros for inputs the outputs do not reach."""
    if not outputs.requires_grad:
        return [torch.zeros_like(x) for x in inputs]
    gs = torch.autograd.grad(outputs, inputs, grad_outputs, retain_graph=True, create_graph=create_graph,
                             allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for g, x in zip(gs, inputs)]


def evaluate(p):
    """p with the reference results added, or None when torch gives a value that is not finite."""
    n = []
    for ins in p["prog"]:
        t = run_op(ins, n)
        if any(t is m for m in n):  # a distinct node for each instruction, as on the engine's tape
            t = t.clone()
        n.append(t)
    f = sum((n[k] * tensor(n[k].shape, wk)).sum() for k, wk in p["out"])
    req = [n[k] for k in p["req"]]
    x = n[p["x"]]
    v, w = tensor(x.shape, p["v"]), tensor(x.shape, p["w"])
    g = grads(f, req)
    gx = grads(f, [x], create_graph=True)[0]
    hv = grads(gx, [x], v, create_graph=True)[0]
    d3 = grads(hv, [x], w)[0]
    out = dict(p)
    out["f"] = f.item()
    out["grad"] = [flat(t) for t in g]
    out["hvp"] = flat(hv)
    out["d3"] = flat(d3)
    vals = [out["f"]] + out["hvp"] + out["d3"] + [u for t in out["grad"] for u in t]
    return out if all(math.isfinite(u) for u in vals) else None


def open_out(path):
    if path.endswith(".gz"):
        raw = open(path, "wb")
        return io.TextIOWrapper(gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9),
                                encoding="utf-8"), raw
    return open(path, "w", encoding="utf-8"), None


def open_in(path):
    return gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--in", dest="inp", help="programs to evaluate (JSON Lines); else generate them")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0, help="first program index when generating")
    ap.add_argument("--count", type=int, default=2000, help="programs to generate")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.inp:
        f = open_in(args.inp)
        source = (json.loads(line) for line in f if line.strip())
    else:  # indices go on past start + count until count programs are written
        source = (programs.generate(args.seed, i) for i in itertools.count(args.start))
    out, raw = open_out(args.out)
    written = dropped = 0
    for p in source:
        r = evaluate(p)
        if r is None:
            dropped += 1
            print("program %s: torch gives a value that is not finite; left out" % p["id"], file=sys.stderr)
            continue
        out.write(programs.dumps(r) + "\n")
        written += 1
        if not args.inp and written == args.count:
            break
        if written % 10000 == 0:
            print("%d programs" % written, file=sys.stderr)
    out.close()
    if raw:
        raw.close()
    print("%d programs written to %s (%d left out)" % (written, args.out, dropped), file=sys.stderr)


if __name__ == "__main__":
    main()
