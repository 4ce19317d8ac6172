"""Random programs over the autodiff engine's differentiable ops, for differential testing against PyTorch.

A program is deterministic in (seed, index). While generating, it is evaluated in numpy so that every op's
argument stays inside the op's domain and away from the points where two correct engines may legitimately
disagree (the kinks of abs / relu / elu, clamp's bounds, ties in max, a saturated softmax): an op whose argument
lands within MARGIN of such a point is drawn again.

File format: JSON Lines, one program per line, floats written with repr() so that they read back exactly.
  id, seed     the program is generate(seed, id), or was cut from it (minimise.py; note then says what it showed)
  prog         instructions; instruction k defines node k:
                 ["var", shape, data]      a leaf that takes gradients (data: row-major values)
                 ["const", shape, data]    a leaf that does not (where conditions, data)
                 [op, a, ...]              an op of autodiff/ops.hpp on earlier nodes, attributes after them:
                 add sub mul div [a, b]; mul_sum_to [a, b, shape]; affine [a, scale, shift]; pow [a, p];
                 exp log log1p sqrt square abs tanh sigmoid silu softplus relu stop_gradient transpose [a];
                 elu [a, alpha]; sum mean logsumexp [a] (all) or [a, axis, keepdims]; max [a, axis, keepdims];
                 softmax log_softmax [a, axis]; matmul [a, b, ta, tb]; reshape broadcast_to sum_to [a, shape];
                 slice_rows [a, start, count]; pad_rows [a, start, total]; concat_rows [[a, b, ...]];
                 gather_cols [a, index]; scatter_cols [a, index, cols]; where [cond, a, b]; clamp [a, lo, hi]
  out          [[node, weights], ...]: f = sum over the pairs of sum(node * weights), weights shaped like node
  req          nodes whose gradients are requested together (leaves and intermediates)
  x, v, w      a var leaf and two directions shaped like it: H v and d3f[v, w, .] are taken in x
  K, dirs      K directions per var leaf for batched forward mode: [[node, shape, data], ...], shape [K, ...]
               with each later axis the leaf's extent or 1 (the direction does not vary along it)
torch_eval.py adds the reference results: f, grad (one list per req node), hvp, d3.
"""
import json
import math

import numpy as np

MARGIN = 1e-3  # distance kept from kinks, clamp bounds and ties
# softmax, log_softmax and logsumexp keep 1 - max softmax above this along every axis of extent > 1: at a saturated
# softmax (1 - s_max ~ 1e-13) both engines compute 1 - s_max with relative error ulp(1) / (1 - s_max) and their
# higher derivatives, dominated by the small s_j times large factors, then differ from the truth and each other.
SATURATION = 1e-4
BOUND = 100.0  # every value stays within [-BOUND, BOUND]
MAX_NUMEL = 36
MAX_RANK = 3

UNARY = ["exp", "log", "log1p", "sqrt", "square", "abs", "tanh", "sigmoid", "silu", "softplus", "relu", "elu",
         "affine", "pow"]
BINARY = ["add", "sub", "mul", "div", "mul_sum_to", "where"]
REDUCE = ["sum", "mean", "max", "logsumexp", "softmax", "log_softmax"]
LAYOUT = ["matmul", "transpose", "reshape", "broadcast_to", "sum_to", "slice_rows", "pad_rows", "concat_rows",
          "gather_cols", "scatter_cols", "clamp", "stop_gradient"]
OPS = UNARY + BINARY + REDUCE + LAYOUT
POW_EXPONENTS = [2.0, 3.0, 4.0, 1.0, 0.0, -1.0, -2.0, 0.5, 1.5, 2.5, -0.5, -1.5]


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    r = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    if keepdims:
        return r
    return r.reshape(()) if axis is None else np.squeeze(r, axis=axis)


def _saturated(x, axis=None):
    if axis is None:
        x, axis = x.reshape(-1), 0
    if x.shape[axis] < 2:
        return False
    s = np.exp(x - _logsumexp(x, axis, True))
    return bool(np.min(1.0 - np.max(s, axis=axis)) < SATURATION)


def _sum_to(x, shape):
    lead = x.ndim - len(shape)
    y = x.sum(axis=tuple(range(lead))) if lead else x
    axes = tuple(k for k, n in enumerate(shape) if n == 1 and y.shape[k] != 1)
    return y.sum(axis=axes, keepdims=True) if axes else y


class Reject(Exception):
    pass


class Generator:
    def __init__(self, seed, index):
        self.rng = np.random.default_rng([seed, index])
        self.seed, self.index = seed, index
        self.prog, self.vals, self.uses, self.grads = [], [], [], []  # grads: set of var leaves it depends on

    # ---- random draws ----
    def shape(self, rank=None):
        if rank is None:
            rank = int(self.rng.choice(4, p=[0.1, 0.3, 0.35, 0.25]))
        while True:
            s = [int(self.rng.integers(1, 5)) for _ in range(rank)]
            if math.prod(s) <= MAX_NUMEL:
                return s

    def data(self, shape, lo=-2.0, hi=2.0):
        return np.round(self.rng.uniform(lo, hi, size=shape), 3).astype(np.float64)

    def coin(self, p=0.5):
        return bool(self.rng.random() < p)

    def pick(self, items):
        return items[int(self.rng.integers(len(items)))]

    # ---- nodes ----
    def emit(self, ins, val, grads):
        val = np.asarray(val, dtype=np.float64)
        if not np.all(np.isfinite(val)) or (val.size and np.max(np.abs(val)) > BOUND):
            raise Reject("value out of range")
        if val.ndim > MAX_RANK or val.size > MAX_NUMEL or val.size == 0:
            raise Reject("shape")
        for a in _operands(ins):
            self.uses[a] += 1
        self.prog.append(ins)
        self.vals.append(val)
        self.uses.append(0)
        self.grads.append(frozenset(grads))
        return len(self.prog) - 1

    def leaf(self, shape, lo=-2.0, hi=2.0, const=None):
        if const is None:
            const = self.coin(0.15)
        d = self.data(shape, lo, hi)
        k = len(self.prog)
        ins = ["const" if const else "var", list(shape), d.reshape(-1).tolist()]
        return self.emit(ins, d, [] if const else [k])

    def choose(self, pred=lambda v: True, new_shape=None, lo=-2.0, hi=2.0, p_new=0.12):
        """An existing node whose value satisfies pred (recent and unused ones preferred), or a new leaf."""
        cands = [k for k in range(len(self.prog)) if pred(self.vals[k])]
        if cands and not (new_shape is not None and self.coin(p_new)):
            n = len(self.prog)
            w = np.array([(3.0 if self.uses[k] == 0 else 1.0) * math.exp(0.6 * (k - n)) for k in cands])
            return cands[int(self.rng.choice(len(cands), p=w / w.sum()))]
        if new_shape is None:
            raise Reject("no operand")
        s = new_shape() if callable(new_shape) else new_shape
        for _ in range(20):
            k_val = self.data(s, lo, hi)
            if pred(k_val):
                break
        else:
            raise Reject("no leaf in domain")
        k = len(self.prog)
        const = self.coin(0.15)
        ins = ["const" if const else "var", list(s), k_val.reshape(-1).tolist()]
        return self.emit(ins, k_val, [] if const else [k])

    def g(self, *nodes):
        out = set()
        for a in nodes:
            out |= self.grads[a]
        return out

    # ---- shapes related to a given one ----
    def sub_shape(self, s):
        """A shape that broadcasts to s."""
        drop = int(self.rng.integers(0, len(s) + 1)) if self.coin(0.5) else 0
        t = list(s[drop:])
        return [1 if self.coin(0.3) else n for n in t]

    def super_shape(self, s):
        """A shape that s broadcasts to."""
        t = [1 if n == 1 and self.coin(0.5) else n for n in s]
        t = [int(self.rng.integers(1, 5)) if n == 1 else n for n in t]
        while len(t) < MAX_RANK and self.coin(0.4):
            t.insert(0, int(self.rng.integers(1, 5)))
        if math.prod(t) > MAX_NUMEL:
            return list(s)
        return t

    def partner_shape(self, s):
        r = self.rng.random()
        if r < 0.4:
            return list(s)
        return self.sub_shape(s) if r < 0.75 else self.super_shape(s)

    # ---- ops ----
    def op(self, name):
        return getattr(self, "op_" + name)()

    def unary(self, name, f, pred=lambda v: True, lo=-2.0, hi=2.0, attrs=()):
        a = self.choose(pred, new_shape=self.shape, lo=lo, hi=hi)
        return self.emit([name, a, *attrs], f(self.vals[a]), self.g(a))

    def op_exp(self):
        return self.unary("exp", np.exp, lambda v: v.max() <= 3.0)

    def op_log(self):
        return self.unary("log", np.log, lambda v: v.min() >= 0.2, 0.2, 3.0)

    def op_log1p(self):
        return self.unary("log1p", np.log1p, lambda v: v.min() >= -0.6, -0.6, 3.0)

    def op_sqrt(self):
        return self.unary("sqrt", np.sqrt, lambda v: v.min() >= 0.1, 0.1, 3.0)

    def op_square(self):
        return self.unary("square", np.square)

    def op_abs(self):
        return self.unary("abs", np.abs, lambda v: np.abs(v).min() >= MARGIN)

    def op_tanh(self):
        return self.unary("tanh", np.tanh)

    def op_sigmoid(self):
        return self.unary("sigmoid", _sigmoid)

    def op_silu(self):
        return self.unary("silu", lambda v: v * _sigmoid(v))

    def op_softplus(self):
        # torch's softplus is linear above 20 (its threshold); below, both are log(1 + e^x).
        return self.unary("softplus", lambda v: np.logaddexp(0.0, v), lambda v: np.abs(v).max() <= 15.0)

    def op_relu(self):
        return self.unary("relu", lambda v: np.maximum(v, 0.0), lambda v: np.abs(v).min() >= MARGIN)

    def op_elu(self):
        alpha = self.pick([1.0, 0.5, 1.3])
        return self.unary("elu", lambda v: np.where(v > 0, v, alpha * np.expm1(np.minimum(v, 0.0))),
                          lambda v: np.abs(v).min() >= MARGIN, attrs=(alpha,))

    def op_affine(self):
        scale = self.pick([-1.0, 2.0, 0.5, -0.75, 1.5, 0.3])
        shift = self.pick([0.0, 0.0, 1.0, -0.5, 0.25])
        return self.unary("affine", lambda v: scale * v + shift, attrs=(scale, shift))

    def op_pow(self):
        p = self.pick(POW_EXPONENTS)
        if p == int(p) and p >= 0:
            pred, lo, hi = (lambda v: True), -2.0, 2.0
        elif p == int(p):
            pred, lo, hi = (lambda v: np.abs(v).min() >= 0.3), 0.3, 2.0
        else:
            pred, lo, hi = (lambda v: v.min() >= 0.2), 0.2, 3.0
        return self.unary("pow", lambda v: np.power(v, p), pred, lo, hi, attrs=(p,))

    def binary_operands(self, b_pred=lambda v: True, lo=-2.0, hi=2.0):
        a = self.choose(new_shape=self.shape)
        sa = list(self.vals[a].shape)

        def fits(v):
            try:
                out = np.broadcast_shapes(tuple(sa), v.shape)
            except ValueError:
                return False
            return len(out) <= MAX_RANK and math.prod(out) <= MAX_NUMEL and b_pred(v)

        b = self.choose(fits, new_shape=lambda: self.partner_shape(sa), lo=lo, hi=hi, p_new=0.4)
        return a, b

    def op_add(self):
        a, b = self.binary_operands()
        if self.coin():
            a, b = b, a
        return self.emit(["add", a, b], self.vals[a] + self.vals[b], self.g(a, b))

    def op_sub(self):
        a, b = self.binary_operands()
        if self.coin():
            a, b = b, a
        return self.emit(["sub", a, b], self.vals[a] - self.vals[b], self.g(a, b))

    def op_mul(self):
        a, b = self.binary_operands()
        if self.coin():
            a, b = b, a
        return self.emit(["mul", a, b], self.vals[a] * self.vals[b], self.g(a, b))

    def op_div(self):
        a, b = self.binary_operands(lambda v: np.abs(v).min() >= 0.3, 0.3, 2.0)
        if self.coin(0.3):  # denominators of either sign
            b2 = self.emit(["affine", b, -1.0, 0.0], -self.vals[b], self.g(b))
            b = b2
        return self.emit(["div", a, b], self.vals[a] / self.vals[b], self.g(a, b))

    def op_mul_sum_to(self):
        a, b = self.binary_operands()
        full = np.broadcast_shapes(self.vals[a].shape, self.vals[b].shape)
        s = self.sub_shape(list(full))
        v = _sum_to(self.vals[a] * self.vals[b], s)
        return self.emit(["mul_sum_to", a, b, s], v, self.g(a, b))

    def op_where(self):
        a, b = self.binary_operands()
        full = list(np.broadcast_shapes(self.vals[a].shape, self.vals[b].shape))
        cs = self.sub_shape(full) if self.coin(0.7) else self.super_shape(full)
        cond = (self.rng.random(cs) < 0.5).astype(np.float64)
        c = self.emit(["const", cs, cond.reshape(-1).tolist()], cond, [])
        v = np.where(cond != 0, self.vals[a], self.vals[b])
        return self.emit(["where", c, a, b], v, self.g(a, b))

    def axis_of(self, v):
        r = v.ndim
        ax = int(self.rng.integers(0, r))
        return ax - r if self.coin(0.3) else ax

    def op_sum(self):
        a = self.choose(new_shape=self.shape)
        v = self.vals[a]
        if v.ndim == 0 or self.coin(0.3):
            return self.emit(["sum", a], v.sum(), self.g(a))
        ax, keep = self.axis_of(v), self.coin()
        return self.emit(["sum", a, ax, int(keep)], v.sum(axis=ax, keepdims=keep), self.g(a))

    def op_mean(self):
        a = self.choose(new_shape=self.shape)
        v = self.vals[a]
        if v.ndim == 0 or self.coin(0.3):
            return self.emit(["mean", a], v.mean(), self.g(a))
        ax, keep = self.axis_of(v), self.coin()
        return self.emit(["mean", a, ax, int(keep)], v.mean(axis=ax, keepdims=keep), self.g(a))

    def op_max(self):
        a = self.choose(lambda v: v.ndim >= 1, new_shape=lambda: self.shape(int(self.rng.integers(1, 4))))
        v = self.vals[a]
        ax, keep = self.axis_of(v), self.coin()
        if v.shape[ax] > 1:
            top = np.sort(v, axis=ax)
            gap = np.take(top, -1, axis=ax) - np.take(top, -2, axis=ax)
            if gap.min() < MARGIN:
                raise Reject("tie in max")
        return self.emit(["max", a, ax, int(keep)], v.max(axis=ax, keepdims=keep), self.g(a))

    def op_logsumexp(self):
        a = self.choose(new_shape=self.shape)
        v = self.vals[a]
        if v.ndim == 0 or self.coin(0.3):
            if _saturated(v):
                raise Reject("saturated")
            return self.emit(["logsumexp", a], _logsumexp(v), self.g(a))
        ax, keep = self.axis_of(v), self.coin()
        if _saturated(v, ax):
            raise Reject("saturated")
        return self.emit(["logsumexp", a, ax, int(keep)], _logsumexp(v, ax, keep), self.g(a))

    def op_softmax(self):
        a = self.choose(lambda v: v.ndim >= 1, new_shape=lambda: self.shape(int(self.rng.integers(1, 4))))
        v = self.vals[a]
        ax = self.axis_of(v)
        if _saturated(v, ax):
            raise Reject("saturated")
        return self.emit(["softmax", a, ax], np.exp(v - _logsumexp(v, ax, True)), self.g(a))

    def op_log_softmax(self):
        a = self.choose(lambda v: v.ndim >= 1, new_shape=lambda: self.shape(int(self.rng.integers(1, 4))))
        v = self.vals[a]
        ax = self.axis_of(v)
        if _saturated(v, ax):
            raise Reject("saturated")
        return self.emit(["log_softmax", a, ax], v - _logsumexp(v, ax, True), self.g(a))

    def op_matmul(self):
        a = self.choose(lambda v: v.ndim == 2, new_shape=lambda: self.shape(2))
        ta, tb = self.coin(), self.coin()
        A = self.vals[a].T if ta else self.vals[a]
        k = A.shape[1]
        n_new = int(self.rng.integers(1, 5))

        def fits(v):
            return v.ndim == 2 and (v.shape[1] if tb else v.shape[0]) == k

        b = self.choose(fits, new_shape=[n_new, k] if tb else [k, n_new], p_new=0.4)
        Bm = self.vals[b].T if tb else self.vals[b]
        return self.emit(["matmul", a, b, int(ta), int(tb)], A @ Bm, self.g(a, b))

    def op_transpose(self):
        a = self.choose(lambda v: v.ndim == 2, new_shape=lambda: self.shape(2))
        return self.emit(["transpose", a], self.vals[a].T, self.g(a))

    def op_reshape(self):
        a = self.choose(new_shape=self.shape)
        v = self.vals[a]
        n = v.size
        rank = int(self.rng.integers(0 if n == 1 else 1, MAX_RANK + 1))
        s = [1] * rank
        m = n
        for k in range(rank - 1):  # factor n into rank extents
            divs = [d for d in range(1, m + 1) if m % d == 0]
            s[k] = self.pick(divs)
            m //= s[k]
        if rank:
            s[rank - 1] = m
        if rank == 0 and n != 1:
            raise Reject("reshape")
        self.rng.shuffle(s)
        return self.emit(["reshape", a, [int(x) for x in s]], v.reshape(s), self.g(a))

    def op_broadcast_to(self):
        a = self.choose(new_shape=self.shape)
        s = self.super_shape(list(self.vals[a].shape))
        return self.emit(["broadcast_to", a, s], np.broadcast_to(self.vals[a], s).copy(), self.g(a))

    def op_sum_to(self):
        a = self.choose(new_shape=self.shape)
        s = self.sub_shape(list(self.vals[a].shape))
        return self.emit(["sum_to", a, s], _sum_to(self.vals[a], s), self.g(a))

    def op_slice_rows(self):
        a = self.choose(lambda v: v.ndim >= 1, new_shape=lambda: self.shape(int(self.rng.integers(1, 4))))
        n = self.vals[a].shape[0]
        start = int(self.rng.integers(0, n))
        count = int(self.rng.integers(1, n - start + 1))
        return self.emit(["slice_rows", a, start, count], self.vals[a][start:start + count], self.g(a))

    def op_pad_rows(self):
        a = self.choose(lambda v: v.ndim >= 1, new_shape=lambda: self.shape(int(self.rng.integers(1, 4))))
        v = self.vals[a]
        n = v.shape[0]
        total = n + int(self.rng.integers(0, 4))
        start = int(self.rng.integers(0, total - n + 1))
        out = np.zeros((total,) + v.shape[1:])
        out[start:start + n] = v
        return self.emit(["pad_rows", a, start, total], out, self.g(a))

    def op_concat_rows(self):
        a = self.choose(lambda v: v.ndim >= 1, new_shape=lambda: self.shape(int(self.rng.integers(1, 4))))
        tail = self.vals[a].shape[1:]
        parts = [a]
        for _ in range(int(self.rng.integers(1, 3))):
            parts.append(self.choose(lambda v: v.ndim >= 1 and v.shape[1:] == tail,
                                     new_shape=lambda: [int(self.rng.integers(1, 4)), *tail], p_new=0.4))
        self.rng.shuffle(parts)
        parts = [int(p) for p in parts]
        return self.emit(["concat_rows", parts], np.concatenate([self.vals[p] for p in parts], 0), self.g(*parts))

    def op_gather_cols(self):
        a = self.choose(lambda v: v.ndim == 2, new_shape=lambda: self.shape(2))
        n, c = self.vals[a].shape
        idx = [int(i) for i in self.rng.integers(0, c, size=n)]
        return self.emit(["gather_cols", a, idx], self.vals[a][np.arange(n), idx], self.g(a))

    def op_scatter_cols(self):
        a = self.choose(lambda v: v.ndim == 1, new_shape=lambda: self.shape(1))
        n = self.vals[a].shape[0]
        cols = int(self.rng.integers(1, 5))
        idx = [int(i) for i in self.rng.integers(0, cols, size=n)]
        out = np.zeros((n, cols))
        out[np.arange(n), idx] = self.vals[a]
        return self.emit(["scatter_cols", a, idx, cols], out, self.g(a))

    def op_clamp(self):
        a = self.choose(new_shape=self.shape)
        v = self.vals[a]
        for _ in range(10):
            lo = round(float(self.rng.uniform(v.min() - 0.5, v.max())), 2)
            hi = round(lo + float(self.rng.uniform(0.05, v.max() - v.min() + 0.5)), 2)
            if np.abs(v - lo).min() >= MARGIN and np.abs(v - hi).min() >= MARGIN and lo < hi:
                return self.emit(["clamp", a, lo, hi], np.clip(v, lo, hi), self.g(a))
        raise Reject("clamp bounds")

    def op_stop_gradient(self):
        a = self.choose(new_shape=self.shape)
        return self.emit(["stop_gradient", a], self.vals[a].copy(), [])

    # ---- a whole program ----
    def generate(self):
        target = int(self.rng.integers(1, 17))
        for _ in range(int(self.rng.integers(1, 3))):
            self.leaf(self.shape(), const=False)
        ops_done, attempts = 0, 0
        while ops_done < target and attempts < 60 * target:
            attempts += 1
            name = self.pick(OPS)
            mark = len(self.prog), list(self.uses)
            try:
                self.op(name)
                ops_done += 1
            except Reject:
                self.rollback(*mark)
        return self.finish()

    def rollback(self, n, uses):
        del self.prog[n:], self.vals[n:], self.grads[n:]
        self.uses = uses[:n]

    def finish(self):
        n = len(self.prog)
        sinks = [k for k in range(n) if self.uses[k] == 0 and self.prog[k][0] != "const"]
        out = [[k, self.data(self.vals[k].shape).reshape(-1).tolist()] for k in sinks]
        reach = set()
        for k in sinks:
            reach |= self.grads[k]
        if not reach:
            raise Reject("f depends on no variable")
        var_leaves = [k for k in range(n) if self.prog[k][0] == "var"]
        inner = [k for k in range(n) if self.prog[k][0] not in ("var", "const") and self.grads[k]]
        req = set()
        for _ in range(int(self.rng.integers(1, 4))):
            req.add(self.pick(var_leaves))
        if inner and self.coin(0.75):
            for _ in range(int(self.rng.integers(1, 3))):
                req.add(self.pick(inner))
        x = self.pick(sorted(reach))
        sx = self.vals[x].shape
        K = int(self.rng.integers(2, 5))
        dirs = []
        for k in var_leaves:
            ts = [K] + [1 if self.coin(0.25) else m for m in self.vals[k].shape]
            dirs.append([k, ts, self.data(ts, -1.0, 1.0).reshape(-1).tolist()])
        return {"id": self.index, "seed": self.seed, "prog": self.prog, "out": out, "req": sorted(req), "x": x,
                "v": self.data(sx, -1.0, 1.0).reshape(-1).tolist(), "w": self.data(sx, -1.0, 1.0).reshape(-1).tolist(),
                "K": K, "dirs": dirs}


def _operands(ins):
    op = ins[0]
    if op in ("var", "const"):
        return []
    if op == "concat_rows":
        return list(ins[1])
    if op in ("add", "sub", "mul", "div", "mul_sum_to", "matmul"):
        return [ins[1], ins[2]]
    if op == "where":
        return [ins[1], ins[2], ins[3]]
    return [ins[1]]


def generate(seed, index):
    """The program of (seed, index); a draw that fails as a whole is redrawn from the same stream."""
    g = Generator(seed, index)
    while True:
        try:
            return g.generate()
        except Reject:
            g.prog, g.vals, g.uses, g.grads = [], [], [], []


def dumps(program):
    return json.dumps(program, separators=(",", ":"))


if __name__ == "__main__":
    import argparse
    import sys

    ap = argparse.ArgumentParser(description="Print random programs as JSON Lines (no reference results).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, default=10)
    args = ap.parse_args()
    for i in range(args.start, args.start + args.count):
        sys.stdout.write(dumps(generate(args.seed, i)) + "\n")
