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

