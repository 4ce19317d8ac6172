// Selection: where (a primitive, so the branch not taken contributes an exact zero, never 0 * inf), clamp,
// stop_gradient, and the non-differentiable constants greater and sign.
#include <vector>

#include "ops/common.hpp"

namespace ad {
using namespace ops;

template <class T>
Var<T> where(const Var<T>& cond, const Var<T>& a, const Var<T>& b) {
  static const Rule<T> rule{
      "where",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) {
        const Var<T> zero = g.tape().scalar(T(0));
        if (n.needs(1)) gin[1] = ops::reduce_to(where(n.in(0), g, zero), n.in_shape(1));
        if (n.needs(2)) gin[2] = ops::reduce_to(where(n.in(0), zero, g), n.in_shape(2));
      },
      [](const OpNode<T>& n, const Var<T>* t) {
        const Var<T> zero = n.out().tape().scalar(T(0));
        return expand(where(n.in(0), t[1].defined() ? t[1] : zero, t[2].defined() ? t[2] : zero), n.out().shape());
      }};
  if (cond.requires_grad()) throw std::invalid_argument("where: the condition must be a constant");
  const Shape sc = cond.shape(), sa = a.shape(), sb = b.shape();
  const Shape out = kernels::broadcast_shape("where", kernels::broadcast_shape("where", sc, sa), sb);
  Var<T> y = record(rule, {cond, a, b}, out);
  // Stretch the three operands to the output shape, then select.
  const int64_t n = out.numel();
  auto stretched = [&](const Var<T>& v, const Shape& s) {
    std::vector<T> buf(static_cast<size_t>(n));
    kernels::broadcast_to(v.data(), s, buf.data(), out);
    return buf;
  };
  const std::vector<T> c = stretched(cond, sc), va = stretched(a, sa), vb = stretched(b, sb);
  T* o = mutable_data(y);
  for (int64_t k = 0; k < n; ++k) o[k] = c[static_cast<size_t>(k)] != T(0) ? va[static_cast<size_t>(k)] : vb[static_cast<size_t>(k)];
  return y;
}

template <class T>
Var<T> clamp(const Var<T>& x, double lo, double hi) {
  if (!(lo <= hi)) throw std::invalid_argument("clamp: lo " + std::to_string(lo) + " exceeds hi " + std::to_string(hi));
  const T l = static_cast<T>(lo), h = static_cast<T>(hi);
  using B = kernels::Batch<T>;
  // Inside [lo, hi] the value is x (derivative 1); outside it is a constant bound (derivative 0).
  const Var<T> inside = constant_map(x, [l, h](auto v) {
    return xsimd::select(v >= B(l) && v <= B(h), B(T(1)), B(T(0)));
  });
  const Var<T> bound = constant_map(x, [l, h](auto v) { return xsimd::min(xsimd::max(v, B(l)), B(h)); });
  return where(inside, x, bound);
}

template <class T>
Var<T> stop_gradient(const Var<T>& x) {
  return detail::alias(x.tape(), mutable_data(x), x.shape());
}

template <class T>
Var<T> greater(const Var<T>& x, double threshold) {
  using B = kernels::Batch<T>;
  const T t = static_cast<T>(threshold);
  return constant_map(x, [t](auto v) { return xsimd::select(v > B(t), B(T(1)), B(T(0))); });
}

template <class T>
Var<T> sign(const Var<T>& x) {
  using B = kernels::Batch<T>;
  return constant_map(x, [](auto v) {
    return xsimd::select(v > B(T(0)), B(T(1)), xsimd::select(v < B(T(0)), B(T(-1)), B(T(0))));
  });
}

#define AD_INSTANTIATE(T)                                                  \
  template Var<T> where(const Var<T>&, const Var<T>&, const Var<T>&);      \
  template Var<T> clamp(const Var<T>&, double, double);                    \
  template Var<T> stop_gradient(const Var<T>&);                            \
  template Var<T> greater(const Var<T>&, double);                          \
  template Var<T> sign(const Var<T>&);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)
#undef AD_INSTANTIATE

}  // namespace ad
