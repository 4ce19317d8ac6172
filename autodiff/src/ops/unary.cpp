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
// Orders 1 to 3 are one primitive (attribute a = the order), so the rules of silu and of its derivatives up to
// the third (rev-over-rev score matching with a θ-gradient reaches it) are one fused kernel plus a product. The
// kernels read σ(x) from a constant helper input that silu's forward pass stored (no exp, no division again);
// the helper carries no derivative: the rules differentiate through x. The fourth derivative is a composite.
template <class T>
Var<T> silu_fourth(const Var<T>& x) {
  const Var<T> s = sigmoid(x);
  const Var<T> p = s * (1.0 - s), q = 1.0 - 2.0 * s, xq = x * q;
  return p * (q * q * (xq + 4.0) - 8.0 * (p * (xq + 1.0)));
}

// silu^(k)(x) (order k = 1..3), times g if g is given: the product an adjoint or tangent of silu^(k−1) needs,
// in one pass instead of two (no tensor of silu^(k)(x) is written and read again). With u the output adjoint,
//   ∂/∂x: u g silu^(k+1)(x),   ∂/∂g: u silu^(k)(x)   (σ(x) is a helper without derivative).
template <class T>
Var<T> silu_derivative(const Var<T>& x, const Var<T>& sig, int order, const Var<T>& g = Var<T>()) {
  static const Rule<T> rule{
      "silu_derivative",
      [](const OpNode<T>& n, const Var<T>& u, Var<T>* gin) {
        const int k = static_cast<int>(n.a());
        const bool scaled = n.node().nin == 3;
        const Var<T> ug = scaled ? u * n.in(2) : u;
        if (n.needs(0)) gin[0] = k < 3 ? silu_derivative(n.in(0), n.in(1), k + 1, ug) : ug * silu_fourth(n.in(0));
        if (scaled && n.needs(2)) gin[2] = silu_derivative(n.in(0), n.in(1), k, u);
      },
      // Tangents only ever multiply values of the node's shape (batch-safe).
      [](const OpNode<T>& n, const Var<T>* t) {
        const int k = static_cast<int>(n.a());
        const bool scaled = n.node().nin == 3;
        Var<T> r;
        if (t[0].defined()) {
          const Var<T> g = scaled ? n.in(2) : Var<T>();
          r = t[0] * (k < 3 ? silu_derivative(n.in(0), n.in(1), k + 1, g)
                            : (scaled ? n.in(2) * silu_fourth(n.in(0)) : silu_fourth(n.in(0))));
        }
        if (scaled && t[2].defined()) r = acc(r, t[2] * silu_derivative(n.in(0), n.in(1), k));
        return r;
      }, true};
  const B<T> one(T(1)), two(T(2)), three(T(3));
  auto derivative = [order, one, two, three](const B<T>& v, const B<T>& s) {
    if (order == 1) return s * xsimd::fma(v, one - s, one);
    const B<T> p = s * (one - s), q = one - two * s;
    if (order == 2) return p * xsimd::fma(v, q, two);
    return p * (q * xsimd::fma(v, q, three) - two * v * p);
  };
  if (!g.defined()) {
    Var<T> y = record(rule, {x, sig}, x.shape(), Attrs::scalars(order));
    kernels::zip_flat(x.data(), 1, sig.data(), 1, mutable_data(y), x.numel(), derivative);
    return y;
  }
  if (g.shape() != x.shape()) return g * silu_derivative(x, sig, order);  // a broadcast factor: not fused
  Var<T> y = record(rule, {x, sig, g}, x.shape(), Attrs::scalars(order));
  const T *px = x.data(), *ps = sig.data(), *pg = g.data();
  T* py = mutable_data(y);
  constexpr int64_t W = kernels::kLanes<T>;
  kernels::parallel_range(x.numel(), kernels::kElementGrain, 2 * kernels::kElementGrain, [&](int64_t lo, int64_t hi) {
    int64_t i = lo;
    for (; i + W <= hi; i += W)
      (B<T>::load_unaligned(pg + i) * derivative(B<T>::load_unaligned(px + i), B<T>::load_unaligned(ps + i)))
          .store_unaligned(py + i);
    if (i < hi) {  // the tail through a full batch, like every other element
      alignas(64) T bx[W] = {}, bs[W] = {}, bg[W] = {};
      std::copy(px + i, px + hi, bx);
      std::copy(ps + i, ps + hi, bs);
      std::copy(pg + i, pg + hi, bg);
      (B<T>::load_aligned(bg) * derivative(B<T>::load_aligned(bx), B<T>::load_aligned(bs))).store_aligned(bx);
      std::copy(bx, bx + (hi - i), py + i);
    }
  });
  return y;
}
}  // namespace

template <class T>
Var<T> silu(const Var<T>& x) {
  static const Rule<T> rule{
      "silu",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = silu_derivative(n.in(0), n.in(1), 1, g); },
      [](const OpNode<T>& n, const Var<T>* t) { return t[0] * silu_derivative(n.in(0), n.in(1), 1); }, true};
  const Var<T> sig = detail::fresh(x.tape(), x.shape());  // σ(x), the derivative kernels' helper
  Var<T> y = record(rule, {x, sig}, x.shape());
  const T* px = x.data();
  T *ps = mutable_data(sig), *py = mutable_data(y);
  constexpr int64_t W = kernels::kLanes<T>;
  const B<T> one(T(1));
  kernels::parallel_range(x.numel(), kernels::kElementGrain, 2 * kernels::kElementGrain, [&](int64_t lo, int64_t hi) {
    int64_t i = lo;
    for (; i + W <= hi; i += W) {
      const B<T> v = B<T>::load_unaligned(px + i), s = one / (one + xsimd::exp(-v));
      s.store_unaligned(ps + i);
      (v * s).store_unaligned(py + i);
    }
    if (i < hi) {  // the tail through a full batch, like every other element
      alignas(64) T bx[W] = {}, bs[W], by[W];
      std::copy(px + i, px + hi, bx);
      const B<T> v = B<T>::load_aligned(bx), s = one / (one + xsimd::exp(-v));
      s.store_aligned(bs);
      (v * s).store_aligned(by);
      std::copy(bs, bs + (hi - i), ps + i);
      std::copy(by, by + (hi - i), py + i);
    }
  });
  return y;
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
