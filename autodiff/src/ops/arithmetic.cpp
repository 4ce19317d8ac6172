// add, sub, mul, div (broadcasting), mul_sum_to (the adjoint of a broadcasting product), affine (every scalar operator), pow with a constant exponent.
#include "ops/common.hpp"

namespace ad {
using namespace ops;

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
  static const Rule<T> rule{
      "add",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) {
        if (n.needs(0)) gin[0] = reduce_to(g, n.in_shape(0));
        if (n.needs(1)) gin[1] = reduce_to(g, n.in_shape(1));
      },
      [](const OpNode<T>& n, const Var<T>* t) { return expand(acc(t[0], t[1]), n.out().shape()); }, false,
      [](const OpNode<T>& n, const Var<T>* t) {
        const int r = n.out().rank();
        return acc(batch_lift(t[0], r), batch_lift(t[1], r));
      }};
  return binary(rule, a, b, [](auto x, auto y) { return x + y; });
}

template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
  static const Rule<T> rule{
      "sub",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) {
        if (n.needs(0)) gin[0] = reduce_to(g, n.in_shape(0));
        if (n.needs(1)) gin[1] = -reduce_to(g, n.in_shape(1));
      },
      [](const OpNode<T>& n, const Var<T>* t) {
        const Var<T> d = !t[1].defined() ? t[0] : (!t[0].defined() ? -t[1] : t[0] - t[1]);
        return expand(d, n.out().shape());
      }, false,
      [](const OpNode<T>& n, const Var<T>* t) {
        const int r = n.out().rank();
        const Var<T> a = batch_lift(t[0], r), b = batch_lift(t[1], r);
        return !b.defined() ? a : (!a.defined() ? -b : a - b);
      }};
  return binary(rule, a, b, [](auto x, auto y) { return x - y; });
}

template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
  static const Rule<T> rule{
      "mul",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) {
        if (n.needs(0)) gin[0] = mul_reduce_to(g, n.in(1), n.in_shape(0));
        if (n.needs(1)) gin[1] = mul_reduce_to(g, n.in(0), n.in_shape(1));
      },
      [](const OpNode<T>& n, const Var<T>* t) {
        Var<T> r;
        if (t[0].defined()) r = t[0] * n.in(1);
        if (t[1].defined()) r = acc(r, n.in(0) * t[1]);
        return expand(r, n.out().shape());
      }, false,
      [](const OpNode<T>& n, const Var<T>* t) {
        const int ro = n.out().rank();
        Var<T> r;
        if (t[0].defined()) r = batch_lift(t[0], ro) * n.in(1);
        if (t[1].defined()) r = acc(r, n.in(0) * batch_lift(t[1], ro));
        return r;
      }};
  return binary(rule, a, b, [](auto x, auto y) { return x * y; });
}

template <class T>
Var<T> mul_sum_to(const Var<T>& a, const Var<T>& b, const Shape& shape) {
  // y = sum_to(a b, shape). Adjoints: the product's, with g stretched back over the reduced axes.
  static const Rule<T> rule{
      "mul_sum_to",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) {
        const Var<T> gf = expand(g, kernels::broadcast_shape("mul_sum_to", n.in_shape(0), n.in_shape(1)));
        if (n.needs(0)) gin[0] = mul_reduce_to(gf, n.in(1), n.in_shape(0));
        if (n.needs(1)) gin[1] = mul_reduce_to(gf, n.in(0), n.in_shape(1));
      },
      [](const OpNode<T>& n, const Var<T>* t) {
        Var<T> r;
        if (t[0].defined()) r = mul_sum_to(t[0], n.in(1), n.s());
        if (t[1].defined()) r = acc(r, mul_sum_to(n.in(0), t[1], n.s()));
        return r;
      }};
  const Shape sa = a.shape(), sb = b.shape();
  const Shape full = kernels::broadcast_shape("mul_sum_to", sa, sb);
  if (kernels::broadcast_shape("mul_sum_to", shape, full) != full)
    throw ShapeError("mul_sum_to", full, shape, "the second does not stretch to the first");
  Var<T> y = record(rule, {a, b}, shape, Attrs::shape(shape));
  kernels::mul_sum_to(a.data(), sa, b.data(), sb, mutable_data(y), shape);
  return y;
}

template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b) {
  // y = a / b:  dy = da / b - y db / b
  static const Rule<T> rule{
      "div",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) {
        const Var<T> gb = g / n.in(1);
        if (n.needs(0)) gin[0] = reduce_to(gb, n.in_shape(0));
        if (n.needs(1)) gin[1] = reduce_to(-(gb * n.out()), n.in_shape(1));
      },
      [](const OpNode<T>& n, const Var<T>* t) {
        Var<T> r;
        if (t[0].defined()) r = t[0];
        if (t[1].defined()) r = r.defined() ? r - n.out() * t[1] : -(n.out() * t[1]);
        return expand(r / n.in(1), n.out().shape());
      }, false,
      [](const OpNode<T>& n, const Var<T>* t) {
        const int ro = n.out().rank();
        Var<T> r = batch_lift(t[0], ro);
        if (t[1].defined()) {
          const Var<T> d = n.out() * batch_lift(t[1], ro);
          r = r.defined() ? r - d : -d;
        }
        return r / n.in(1);
      }};
  return binary(rule, a, b, [](auto x, auto y) { return x / y; });
}

template <class T>
Var<T> affine(const Var<T>& x, double scale, double shift) {
  static const Rule<T> rule{
      "affine",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = affine(g, n.a(), 0.0); },
      [](const OpNode<T>& n, const Var<T>* t) { return affine(t[0], n.a(), 0.0); }, true};
  const T s = static_cast<T>(scale), c = static_cast<T>(shift);
  using B = kernels::Batch<T>;
  if (shift == 0.0) return unary(rule, x, [s](auto v) { return v * B(s); }, Attrs::scalars(scale, shift));
  return unary(rule, x, [s, c](auto v) { return xsimd::fma(v, B(s), B(c)); }, Attrs::scalars(scale, shift));
}

template <class T>
Var<T> pow(const Var<T>& x, double p) {
  // d/dx x^p = p x^(p-1); the derivative is itself a pow, so every order follows. For p = 0 it is written as 0:
  // p x^(p-1) would be 0 · inf = NaN at x = 0, where x^0 (and so the higher derivatives of x^1, x^2 ...) is flat.
  static const Rule<T> rule{
      "pow",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) {
        gin[0] = n.a() == 0.0 ? 0.0 * g : g * (n.a() * pow(n.in(0), n.a() - 1.0));
      },
      [](const OpNode<T>& n, const Var<T>* t) {
        return n.a() == 0.0 ? 0.0 * t[0] : t[0] * (n.a() * pow(n.in(0), n.a() - 1.0));
      }, true};
  using B = kernels::Batch<T>;
  const T pt = static_cast<T>(p);
  if (p == 0.0) return unary(rule, x, [](auto v) { return B(T(1)) + v * B(T(0)); }, Attrs::scalars(p));
  if (p == 1.0) return unary(rule, x, [](auto v) { return v; }, Attrs::scalars(p));
  if (p == 2.0) return unary(rule, x, [](auto v) { return v * v; }, Attrs::scalars(p));
  if (p == -1.0) return unary(rule, x, [](auto v) { return B(T(1)) / v; }, Attrs::scalars(p));
  if (p == 0.5) return unary(rule, x, [](auto v) { return xsimd::sqrt(v); }, Attrs::scalars(p));
  return unary(rule, x, [pt](auto v) { return xsimd::pow(v, B(pt)); }, Attrs::scalars(p));
}

#define AD_INSTANTIATE(T)                                          \
  template Var<T> add(const Var<T>&, const Var<T>&);               \
  template Var<T> sub(const Var<T>&, const Var<T>&);               \
  template Var<T> mul(const Var<T>&, const Var<T>&);               \
  template Var<T> mul_sum_to(const Var<T>&, const Var<T>&, const Shape&); \
  template Var<T> div(const Var<T>&, const Var<T>&);               \
  template Var<T> affine(const Var<T>&, double, double);           \
  template Var<T> pow(const Var<T>&, double);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)
#undef AD_INSTANTIATE

}  // namespace ad
