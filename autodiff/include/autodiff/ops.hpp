#pragma once
// Differentiable operations on Vars. Each records one node on its inputs' tape; its derivative rules are
// written in these same operations, so derivatives of any order exist (see transforms.hpp).
//
// Broadcasting follows numpy: shapes are right-aligned and extents of 1 stretch. Axis arguments may be
// negative (-1 is the last axis). Operations that are not differentiable (comparisons, sign) return
// constants; their derivative is zero wherever it exists, and that is what the engine uses.
//
// Second derivatives of piecewise-linear ops: relu, abs and clamp have zero second derivative everywhere
// they are differentiable, so score matching with a ReLU network sees tr(∇²E) = 0 (a known failure mode).
#include <vector>

#include "autodiff/tape.hpp"

namespace ad {

// ---- arithmetic (broadcasting) ----
template <class T> Var<T> add(const Var<T>& a, const Var<T>& b);
template <class T> Var<T> sub(const Var<T>& a, const Var<T>& b);
template <class T> Var<T> mul(const Var<T>& a, const Var<T>& b);
template <class T> Var<T> div(const Var<T>& a, const Var<T>& b);
/// sum_to(a * b, shape) in one op, without the broadcast product (the adjoint of a broadcasting mul).
template <class T> Var<T> mul_sum_to(const Var<T>& a, const Var<T>& b, const Shape& shape);
/// scale * x + shift, the form every scalar-arithmetic operator reduces to.
template <class T> Var<T> affine(const Var<T>& x, double scale, double shift);
/// x^p for a constant exponent p.
template <class T> Var<T> pow(const Var<T>& x, double p);

// ---- elementwise functions ----
template <class T> Var<T> exp(const Var<T>& x);
template <class T> Var<T> log(const Var<T>& x);
template <class T> Var<T> log1p(const Var<T>& x);
template <class T> Var<T> sqrt(const Var<T>& x);
template <class T> Var<T> square(const Var<T>& x);
template <class T> Var<T> abs(const Var<T>& x);
template <class T> Var<T> tanh(const Var<T>& x);
template <class T> Var<T> sigmoid(const Var<T>& x);
/// x * sigmoid(x) (a primitive: its first two derivatives are fused kernels too)
template <class T> Var<T> silu(const Var<T>& x);
/// log(1 + e^x), computed stably.
template <class T> Var<T> softplus(const Var<T>& x);
/// x for x > 0, alpha (e^x - 1) otherwise.
template <class T> Var<T> elu(const Var<T>& x, double alpha = 1.0);
/// max(x, 0). Its second derivative is zero (almost everywhere).
template <class T> Var<T> relu(const Var<T>& x);

// ---- reductions ----
template <class T> Var<T> sum(const Var<T>& x);
template <class T> Var<T> sum(const Var<T>& x, int axis, bool keepdims = false);
template <class T> Var<T> mean(const Var<T>& x);
template <class T> Var<T> mean(const Var<T>& x, int axis, bool keepdims = false);
/// Maximum along an axis; the gradient goes to the first maximiser.
template <class T> Var<T> max(const Var<T>& x, int axis, bool keepdims = false);
/// log sum exp, shifted by the maximum so it neither overflows nor underflows.
template <class T> Var<T> logsumexp(const Var<T>& x, int axis, bool keepdims = false);
template <class T> Var<T> logsumexp(const Var<T>& x);
template <class T> Var<T> softmax(const Var<T>& x, int axis = -1);
template <class T> Var<T> log_softmax(const Var<T>& x, int axis = -1);

// ---- linear algebra and layout ----
/// op(a) · op(b) for 2-D a, b, with op = transpose when ta / tb is set (no transpose is materialised).
template <class T> Var<T> matmul(const Var<T>& a, const Var<T>& b, bool ta = false, bool tb = false);
template <class T> Var<T> transpose(const Var<T>& x);
template <class T> Var<T> reshape(const Var<T>& x, const Shape& shape);
template <class T> Var<T> broadcast_to(const Var<T>& x, const Shape& shape);
/// Sums the broadcast dimensions away: the adjoint of broadcast_to.
template <class T> Var<T> sum_to(const Var<T>& x, const Shape& shape);
/// Rows [start, start + count) along the first axis.
template <class T> Var<T> slice_rows(const Var<T>& x, int64_t start, int64_t count);
/// x placed at rows [start, start + rows) of a zero tensor with `total` rows: the adjoint of slice_rows.
template <class T> Var<T> pad_rows(const Var<T>& x, int64_t start, int64_t total);
template <class T> Var<T> concat_rows(const std::vector<Var<T>>& xs);
/// y[n] = x[n, index[n]] for x of shape [N, K] (class labels); index is a constant of integral values.
template <class T> Var<T> gather_cols(const Var<T>& x, const Var<T>& index);
template <class T> Var<T> gather_cols(const Var<T>& x, const std::vector<int64_t>& index);
/// The adjoint of gather_cols: y[n, index[n]] = x[n], zero elsewhere; y has `cols` columns.
template <class T> Var<T> scatter_cols(const Var<T>& x, const Var<T>& index, int64_t cols);

// ---- selection ----
/// cond ? a : b elementwise (cond is a constant of 0/1 values; all three broadcast). No NaN leaks from the
/// branch not taken into the gradient.
template <class T> Var<T> where(const Var<T>& cond, const Var<T>& a, const Var<T>& b);
template <class T> Var<T> clamp(const Var<T>& x, double lo, double hi);
/// The same value with no gradient.
template <class T> Var<T> stop_gradient(const Var<T>& x);
/// Constants: 1 where x > threshold, else 0; and the sign of x (0 at 0).
template <class T> Var<T> greater(const Var<T>& x, double threshold);
template <class T> Var<T> sign(const Var<T>& x);

// ---- operators ----
template <class T> Var<T> operator+(const Var<T>& a, const Var<T>& b) { return add(a, b); }
template <class T> Var<T> operator-(const Var<T>& a, const Var<T>& b) { return sub(a, b); }
template <class T> Var<T> operator*(const Var<T>& a, const Var<T>& b) { return mul(a, b); }
template <class T> Var<T> operator/(const Var<T>& a, const Var<T>& b) { return div(a, b); }
template <class T> Var<T> operator-(const Var<T>& x) { return affine(x, -1.0, 0.0); }
template <class T> Var<T> operator+(const Var<T>& x, double c) { return affine(x, 1.0, c); }
template <class T> Var<T> operator+(double c, const Var<T>& x) { return affine(x, 1.0, c); }
template <class T> Var<T> operator-(const Var<T>& x, double c) { return affine(x, 1.0, -c); }
template <class T> Var<T> operator-(double c, const Var<T>& x) { return affine(x, -1.0, c); }
template <class T> Var<T> operator*(const Var<T>& x, double c) { return affine(x, c, 0.0); }
template <class T> Var<T> operator*(double c, const Var<T>& x) { return affine(x, c, 0.0); }
template <class T> Var<T> operator/(const Var<T>& x, double c) { return affine(x, 1.0 / c, 0.0); }
template <class T> Var<T> operator/(double c, const Var<T>& x) { return c * pow(x, -1.0); }

}  // namespace ad
