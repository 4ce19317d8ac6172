// Reductions: sum (all, or one axis), max along an axis; mean, logsumexp, softmax, log_softmax as composites.
#include <cmath>

#include "ops/common.hpp"

namespace ad {
using namespace ops;
namespace {
Shape reduced_shape(const Shape& s, int axis, bool keepdims) {
  if (keepdims) return s.with(axis, 1);
  int64_t dims[kMaxRank];
  int r = 0;
  for (int k = 0; k < s.rank(); ++k)
    if (k != axis) dims[r++] = s[k];
  return Shape::of_rank(r, dims);
}

// g of a reduced shape back to the input shape: reinsert the axis, then stretch along it.
template <class T>
Var<T> unreduce(const Var<T>& g, const Shape& in, int axis) {
  return broadcast_to(reshape(g, in.with(axis, 1)), in);
}
}  // namespace

template <class T>
Var<T> sum(const Var<T>& x) {
  static const Rule<T> rule{
      "sum", [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = broadcast_to(g, n.in_shape(0)); },
      [](const OpNode<T>&, const Var<T>* t) { return sum(t[0]); }, false,
      [](const OpNode<T>& n, const Var<T>* t) {
        const Shape s = n.in_shape(0);
        const int64_t K = t[0].shape()[0];
        return sum(reshape(batch_full(t[0], s), Shape{K, s.numel()}), 1);
      }};
  Var<T> y = record(rule, {x}, Shape{});
  mutable_data(y)[0] = kernels::sum_all(x.data(), x.numel());
  return y;
}

template <class T>
Var<T> sum(const Var<T>& x, int axis, bool keepdims) {
  static const Rule<T> rule{
      "sum_axis",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) {
        gin[0] = unreduce(g, n.in_shape(0), static_cast<int>(n.i()));
      },
      [](const OpNode<T>& n, const Var<T>* t) { return sum(t[0], static_cast<int>(n.i()), n.j() != 0); }, false,
      [](const OpNode<T>& n, const Var<T>* t) {
        return sum(batch_full(t[0], n.in_shape(0)), static_cast<int>(n.i()) + 1, n.j() != 0);
      }};
  const Shape s = x.shape();
  const int a = normalise_axis("sum", axis, s);
  Var<T> y = record(rule, {x}, reduced_shape(s, a, keepdims), Attrs::ints(a, keepdims));
  const auto sp = kernels::split_at(s, a);
  kernels::sum_axis(x.data(), sp.outer, sp.n, sp.inner, mutable_data(y));
  return y;
}

template <class T>
Var<T> mean(const Var<T>& x) {
  return sum(x) / static_cast<double>(x.numel());
}

template <class T>
Var<T> mean(const Var<T>& x, int axis, bool keepdims) {
  const Shape s = x.shape();
  return sum(x, axis, keepdims) / static_cast<double>(s[normalise_axis("mean", axis, s)]);
}

template <class T>
Var<T> max(const Var<T>& x, int axis, bool keepdims) {
  // Input 1 is a constant one-hot mask of the first maximiser: the derivative of max selects that element.
  static const Rule<T> rule{
      "max",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) {
        gin[0] = unreduce(g, n.in_shape(0), static_cast<int>(n.i())) * n.in(1);
      },
      [](const OpNode<T>& n, const Var<T>* t) { return sum(t[0] * n.in(1), static_cast<int>(n.i()), n.j() != 0); }};
  const Shape s = x.shape();
  const int a = normalise_axis("max", axis, s);
  Var<T> mask = detail::fresh(x.tape(), s);
  Var<T> y = record(rule, {x, mask}, reduced_shape(s, a, keepdims), Attrs::ints(a, keepdims));
  const auto sp = kernels::split_at(s, a);
  kernels::max_axis(x.data(), sp.outer, sp.n, sp.inner, mutable_data(y), mutable_data(mask));
  return y;
}

template <class T>
Var<T> logsumexp(const Var<T>& x, int axis, bool keepdims) {
  const int a = normalise_axis("logsumexp", axis, x.shape());
  // The shift m is a constant: log Σ exp(x) = m + log Σ exp(x - m) for any m, so its gradient is zero.
  const Shape s = x.shape();
  Var<T> m = detail::fresh(x.tape(), s.with(a, 1));
  const auto sp = kernels::split_at(s, a);
  kernels::max_axis(x.data(), sp.outer, sp.n, sp.inner, mutable_data(m), static_cast<T*>(nullptr));
  T* md = mutable_data(m);
  for (int64_t k = 0; k < m.numel(); ++k)
    if (!std::isfinite(md[k])) md[k] = 0;  // all -inf (or inf) rows: keep x - m meaningful
  Var<T> r = m + log(sum(exp(x - m), a, true));
  return keepdims ? r : reshape(r, reduced_shape(x.shape(), a, false));
}

template <class T>
Var<T> logsumexp(const Var<T>& x) {
  return reshape(logsumexp(reshape(x, Shape{x.numel()}), 0, false), Shape{});
}

template <class T>
Var<T> softmax(const Var<T>& x, int axis) {
  return exp(log_softmax(x, axis));
}

template <class T>
Var<T> log_softmax(const Var<T>& x, int axis) {
  return x - logsumexp(x, axis, true);
}

#define AD_INSTANTIATE(T)                                       \
  template Var<T> sum(const Var<T>&);                           \
  template Var<T> sum(const Var<T>&, int, bool);                \
  template Var<T> mean(const Var<T>&);                          \
  template Var<T> mean(const Var<T>&, int, bool);               \
  template Var<T> max(const Var<T>&, int, bool);                \
  template Var<T> logsumexp(const Var<T>&, int, bool);          \
  template Var<T> logsumexp(const Var<T>&);                     \
  template Var<T> softmax(const Var<T>&, int);                  \
  template Var<T> log_softmax(const Var<T>&, int);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)
#undef AD_INSTANTIATE

}  // namespace ad
