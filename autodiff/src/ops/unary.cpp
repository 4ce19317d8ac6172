// Elementwise functions. Primitives carry their rules; abs, relu and elu are composites of primitives and
// constant masks, so they need no derivative code of their own. silu is a primitive (the EBM activation:
// one kernel instead of two, and fused kernels for its first two derivatives).
#include "ops/common.hpp"

namespace ad {
using namespace ops;
namespace {
template <class T>
using B = kernels::Batch<T>;
}

template <class T>
Var<T> exp(const Var<T>& x) {
  static const Rule<T> rule{
      "exp", [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = g * n.out(); },
      [](const OpNode<T>& n, const Var<T>* t) { return t[0] * n.out(); }, true};
  return unary(rule, x, [](auto v) { return xsimd::exp(v); });
}

template <class T>
Var<T> log(const Var<T>& x) {
  static const Rule<T> rule{
      "log", [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = g / n.in(0); },
      [](const OpNode<T>& n, const Var<T>* t) { return t[0] / n.in(0); }, true};
  return unary(rule, x, [](auto v) { return xsimd::log(v); });
}

template <class T>
Var<T> log1p(const Var<T>& x) {
  static const Rule<T> rule{
      "log1p", [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = g / (n.in(0) + 1.0); },
      [](const OpNode<T>& n, const Var<T>* t) { return t[0] / (n.in(0) + 1.0); }, true};
  return unary(rule, x, [](auto v) { return xsimd::log1p(v); });
}

template <class T>
Var<T> sqrt(const Var<T>& x) {
  static const Rule<T> rule{
      "sqrt", [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = (0.5 * g) / n.out(); },
      [](const OpNode<T>& n, const Var<T>* t) { return (0.5 * t[0]) / n.out(); }, true};
  return unary(rule, x, [](auto v) { return xsimd::sqrt(v); });
}

template <class T>
Var<T> square(const Var<T>& x) {
  static const Rule<T> rule{
      "square", [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = g * (2.0 * n.in(0)); },
      [](const OpNode<T>& n, const Var<T>* t) { return t[0] * (2.0 * n.in(0)); }, true};
  return unary(rule, x, [](auto v) { return v * v; });
}

template <class T>
Var<T> tanh(const Var<T>& x) {
  // tanh' = 1 - tanh²
  static const Rule<T> rule{
      "tanh", [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = g * (1.0 - square(n.out())); },
      [](const OpNode<T>& n, const Var<T>* t) { return t[0] * (1.0 - square(n.out())); }, true};
  return unary(rule, x, [](auto v) { return xsimd::tanh(v); });
}

template <class T>
Var<T> sigmoid(const Var<T>& x) {
  // σ' = σ (1 - σ)
  static const Rule<T> rule{
      "sigmoid",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = g * (n.out() * (1.0 - n.out())); },
      [](const OpNode<T>& n, const Var<T>* t) { return t[0] * (n.out() * (1.0 - n.out())); }, true};
  return unary(rule, x, [](auto v) { return B<T>(T(1)) / (B<T>(T(1)) + xsimd::exp(-v)); });
}

template <class T>
Var<T> softplus(const Var<T>& x) {
  // softplus' = σ; computed as max(x, 0) + log1p(exp(-|x|)) so that large |x| neither overflows nor loses bits.
  static const Rule<T> rule{
      "softplus", [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = g * sigmoid(n.in(0)); },
      [](const OpNode<T>& n, const Var<T>* t) { return t[0] * sigmoid(n.in(0)); }, true};
  return unary(rule, x, [](auto v) { return xsimd::max(v, B<T>(T(0))) + xsimd::log1p(xsimd::exp(-xsimd::abs(v))); });
}

template <class T>
Var<T> abs(const Var<T>& x) {
  return x * sign(x);
}

template <class T>
Var<T> relu(const Var<T>& x) {
  return x * greater(x, 0.0);
}

namespace {
// The derivatives of silu(x) = x σ(x), with p = σ(1 - σ) and q = 1 - 2σ:
//   silu' = σ (1 + x (1 - σ)),   silu'' = p (2 + x q),   silu''' = p (q (3 + x q) - 2 x p),
//   silu'''' = p (q² (4 + x q) - 8 p (1 + x q)).
// Orders 1 to 3 are one primitive (attribute a = the order): the rules of silu and of its derivatives up to the
// third (rev-over-rev score matching with a θ-gradient reaches it) are one fused kernel plus a product.
// The fourth is a composite, so every higher order follows.
template <class T>
Var<T> silu_fourth(const Var<T>& x) {
  const Var<T> s = sigmoid(x);
  const Var<T> p = s * (1.0 - s), q = 1.0 - 2.0 * s, xq = x * q;
  return p * (q * q * (xq + 4.0) - 8.0 * (p * (xq + 1.0)));
}

template <class T>
Var<T> silu_derivative(const Var<T>& x, int order) {
  static const Rule<T> rule{
      "silu_derivative",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) {
        gin[0] = g * (n.a() < 3.0 ? silu_derivative(n.in(0), static_cast<int>(n.a()) + 1) : silu_fourth(n.in(0)));
      },
      [](const OpNode<T>& n, const Var<T>* t) {
        return t[0] * (n.a() < 3.0 ? silu_derivative(n.in(0), static_cast<int>(n.a()) + 1) : silu_fourth(n.in(0)));
      }, true};
  const B<T> one(T(1)), two(T(2)), three(T(3));
  if (order == 1)
    return unary(rule, x, [one](auto v) {
      const auto s = one / (one + xsimd::exp(-v));
      return s * xsimd::fma(v, one - s, one);
    }, Attrs::scalars(1.0));
  if (order == 2)
    return unary(rule, x, [one, two](auto v) {
      const auto s = one / (one + xsimd::exp(-v));
      return (s * (one - s)) * xsimd::fma(v, one - two * s, two);
    }, Attrs::scalars(2.0));
  return unary(rule, x, [one, two, three](auto v) {
    const auto s = one / (one + xsimd::exp(-v));
    const auto p = s * (one - s), q = one - two * s;
    return p * (q * xsimd::fma(v, q, three) - two * v * p);
  }, Attrs::scalars(3.0));
}
}  // namespace

template <class T>
Var<T> silu(const Var<T>& x) {
  static const Rule<T> rule{
      "silu", [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = g * silu_derivative(n.in(0), 1); },
      [](const OpNode<T>& n, const Var<T>* t) { return t[0] * silu_derivative(n.in(0), 1); }, true};
  const B<T> one(T(1));
  return unary(rule, x, [one](auto v) { return v * (one / (one + xsimd::exp(-v))); });
}

template <class T>
Var<T> elu(const Var<T>& x, double alpha) {
  // relu(x) + alpha (exp(min(x, 0)) - 1), with min(x, 0) = x - relu(x): exp never sees a large argument.
  const Var<T> r = relu(x);
  return r + alpha * (exp(x - r) - 1.0);
}

#define AD_INSTANTIATE(T)                        \
  template Var<T> exp(const Var<T>&);            \
  template Var<T> log(const Var<T>&);            \
  template Var<T> log1p(const Var<T>&);          \
  template Var<T> sqrt(const Var<T>&);           \
  template Var<T> square(const Var<T>&);         \
  template Var<T> tanh(const Var<T>&);           \
  template Var<T> sigmoid(const Var<T>&);        \
  template Var<T> softplus(const Var<T>&);       \
  template Var<T> abs(const Var<T>&);            \
  template Var<T> relu(const Var<T>&);           \
  template Var<T> silu(const Var<T>&);           \
  template Var<T> elu(const Var<T>&, double);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)
#undef AD_INSTANTIATE

}  // namespace ad
