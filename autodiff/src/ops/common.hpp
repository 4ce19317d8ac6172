#pragma once
// Shared helpers for op definitions: every op file includes this and nothing else from the engine.
#include "autodiff/ops.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/reduce.hpp"
#include "node.hpp"

namespace ad::ops {
using detail::Attrs;
using detail::mutable_data;
using detail::OpNode;
using detail::record;
using detail::Rule;

/// a + b where an undefined Var stands for zero (sparse accumulation of adjoints and tangents).
template <class T>
Var<T> acc(const Var<T>& a, const Var<T>& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return add(a, b);
}

/// x stretched to `shape` if it is not already of that shape.
template <class T>
Var<T> expand(const Var<T>& x, const Shape& shape) {
  return x.shape() == shape ? x : broadcast_to(x, shape);
}

/// x summed down to `shape` if it is not already of that shape.
template <class T>
Var<T> reduce_to(const Var<T>& x, const Shape& shape) {
  return x.shape() == shape ? x : sum_to(x, shape);
}

// ---- batched tangents (jvp_batched) ----
// The batched tangent of a value of shape S = [s1 .. sr] has shape [K, t1 .. tr] with each tj = sj or 1 (it
// stretches to [K, s1 .. sr]): K directions at once, and axes along which a direction does not vary stay 1
// (a unit direction shared by every row of a batch x is [K, 1, d]). Values have rank at most 3.

/// [K, s1 .. sr].
inline Shape batched(int64_t K, const Shape& s) {
  if (s.rank() >= kMaxRank) throw ShapeError("batched tangents: a value of shape " + s.str() + " has rank 4");
  int64_t dims[kMaxRank] = {K};
  for (int k = 0; k < s.rank(); ++k) dims[k + 1] = s[k];
  return Shape::of_rank(s.rank() + 1, dims);
}

/// A batched tangent stretched to its full shape [K] + s.
template <class T>
Var<T> batch_full(const Var<T>& t, const Shape& s) {
  return expand(t, batched(t.shape()[0], s));
}

/// A batched tangent of a rank-q value, with axes of extent 1 inserted after the batch axis up to rank r, so
/// that it broadcasts correctly against values of rank r (right-aligned broadcasting would otherwise align the
/// batch axis with a value axis). Undefined stays undefined.
template <class T>
Var<T> batch_lift(const Var<T>& t, int rank) {
  if (!t.defined()) return t;
  const Shape ts = t.shape();
  if (ts.rank() - 1 >= rank) return t;
  int64_t dims[kMaxRank] = {ts[0]};
  const int pad = rank - (ts.rank() - 1);
  for (int k = 0; k < pad; ++k) dims[1 + k] = 1;
  for (int k = 1; k < ts.rank(); ++k) dims[pad + k] = ts[k];
  return reshape(t, Shape::of_rank(rank + 1, dims));
}

/// reduce_to(a * b, shape), fused into one op (no [full]-shaped product) when something is reduced.
template <class T>
Var<T> mul_reduce_to(const Var<T>& a, const Var<T>& b, const Shape& shape) {
  const Shape sa = a.shape(), sb = b.shape();
  const Shape full = sa == sb ? sa : kernels::broadcast_shape("mul", sa, sb);
  return full == shape ? a * b : mul_sum_to(a, b, shape);
}

/// Records a unary elementwise op and computes y = f(x) with the SIMD kernel.
template <class T, class F>
Var<T> unary(const Rule<T>& rule, const Var<T>& x, F f, const Attrs& attrs = {}) {
  Var<T> y = record(rule, {x}, x.shape(), attrs);
  kernels::map(x.data(), mutable_data(y), x.numel(), f);
  return y;
}

/// Records a broadcasting binary op and computes y = f(a, b).
template <class T, class F>
Var<T> binary(const Rule<T>& rule, const Var<T>& a, const Var<T>& b, F f) {
  const Shape sa = a.shape(), sb = b.shape();
  const Shape out = sa == sb ? sa : kernels::broadcast_shape(rule.name, sa, sb);
  Var<T> y = record(rule, {a, b}, out);
  kernels::zip(a.data(), sa, b.data(), sb, mutable_data(y), out, f);
  return y;
}

/// A constant computed elementwise from x (masks, signs).
template <class T, class F>
Var<T> constant_map(const Var<T>& x, F f) {
  Var<T> y = detail::fresh(x.tape(), x.shape());
  kernels::map(x.data(), mutable_data(y), x.numel(), f);
  return y;
}

inline int normalise_axis(const char* op, int axis, const Shape& s) {
  const int a = axis < 0 ? axis + s.rank() : axis;
  if (a < 0 || a >= s.rank())
    throw ShapeError(std::string(op) + ": axis " + std::to_string(axis) + " is out of range for shape " + s.str());
  return a;
}

}  // namespace ad::ops

