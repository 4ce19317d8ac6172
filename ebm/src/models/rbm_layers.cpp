#include "models/rbm_layers.hpp"

#include <autodiff/linalg.hpp>

#include <algorithm>
#include <cmath>
#include <xsimd/xsimd.hpp>

namespace ebm::detail {
namespace {

// Elementwise over whole SIMD batches, the tail padded into one (so every element runs the same instructions).
template <class T, class F>
void map_batches(const T* x, T* y, int64_t n, F f) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = B::size;
  int64_t i = 0;
  for (; i + W <= n; i += W) f(B::load_unaligned(x + i)).store_unaligned(y + i);
  if (i < n) {
    alignas(64) T buf[W] = {};
    std::copy(x + i, x + n, buf);
    f(B::load_aligned(buf)).store_aligned(buf);
    std::copy(buf, buf + (n - i), y + i);
  }
}

// σ(z) and softplus(z) from one exponential: e = exp(−|z|), σ = 1/(1 + e) for z ≥ 0 and e/(1 + e) below (no overflow,
// no loss of the small tail), softplus = max(z, 0) + log1p(e).
template <class B>
B sigmoid_batch(const B& z) {
  const B e = xsimd::exp(-xsimd::abs(z)), one(typename B::value_type(1));
  const B r = one / (one + e);
  return xsimd::select(z >= B(typename B::value_type(0)), r, e * r);
}

}  // namespace

template <class T>
void sigmoid_into(const T* z, T* p, int64_t n) {
  map_batches(z, p, n, [](const auto& v) { return sigmoid_batch(v); });
}

template <class T>
RbmLayers<T>::RbmLayers(const BernoulliRbm<T>& rbm)
    : w_(rbm.param("W").data()), b_(rbm.param("b").data()), c_(rbm.param("c").data()), nv_(rbm.visible()), nh_(rbm.hidden()) {}

template <class T>
ad::Tensor<T> RbmLayers<T>::hidden_pre(const ad::Tensor<T>& v, bool remember) const {
  if (v.rank() != 2 || v.cols() != nv_)
    throw ad::ShapeError("BernoulliRbm: expected visible states [B, " + std::to_string(nv_) + "], got " + v.shape().str());
  ad::Tensor<T> a(ad::Shape{v.rows(), nh_});
  BitRows bits;
  if (bits.assign(v.data(), v.rows(), nv_)) {
    const DeltaPlan plan = plan_tree<T>(bits, memo_bits_.rows ? &memo_bits_ : nullptr);
    delta_product<T>(plan, w_, false, nv_, nh_, c_, memo_rows_.data(), a.data());
    if (remember) {
      memo_bits_.append(bits);
      const T* base = memo_pre_.emplace_back(a).data();
      for (int64_t r = 0; r < v.rows(); ++r) memo_rows_.push_back(base + r * nh_);
    }
  } else {
    for (int64_t r = 0; r < v.rows(); ++r) std::copy(c_, c_ + nh_, a.data() + r * nh_);
    ad::matmul_into(false, false, v.rows(), nh_, nv_, v.data(), w_, a.data(), true);
  }
  return a;
}

template <class T>
ad::Tensor<T> RbmLayers<T>::visible_pre(const ad::Tensor<T>& h) const {
  if (h.rank() != 2 || h.cols() != nh_)
    throw ad::ShapeError("BernoulliRbm: expected hidden states [B, " + std::to_string(nh_) + "], got " + h.shape().str());
  ad::Tensor<T> a(ad::Shape{h.rows(), nv_});
  BitRows bits;
  if (bits.assign(h.data(), h.rows(), nh_)) {
    // Rows of Wᵀ: W is stored [V, H], i.e. transposed.
    delta_product<T>(plan_tree<T>(bits, nullptr), w_, true, nh_, nv_, b_, nullptr, a.data());
  } else {
    for (int64_t r = 0; r < h.rows(); ++r) std::copy(b_, b_ + nv_, a.data() + r * nv_);
    ad::matmul_into(false, true, h.rows(), nv_, nh_, h.data(), w_, a.data(), true);
  }
  return a;
}

template <class T>
ad::Tensor<T> RbmLayers<T>::hidden_mean(const ad::Tensor<T>& v) const {
  ad::Tensor<T> p = hidden_pre(v, true);
  sigmoid_into(p.data(), p.data(), p.numel());
  return p;
}

template <class T>
ad::Tensor<T> RbmLayers<T>::visible_mean(const ad::Tensor<T>& h) const {
  ad::Tensor<T> p = visible_pre(h);
  sigmoid_into(p.data(), p.data(), p.numel());
  return p;
}

template <class T>
std::vector<double> RbmLayers<T>::free_energy_grad(const std::vector<Part>& parts, std::vector<ad::Tensor<T>>& grads) const {
  using B = xsimd::batch<T>;
  constexpr int64_t W = B::size;
  if (grads.size() != 3 || grads[0].numel() != nv_ * nh_ || grads[1].numel() != nv_ || grads[2].numel() != nh_)
    throw ad::ShapeError("BernoulliRbm: gradients must be shaped like W, b, c");
  int64_t total = 0;
  for (const Part& p : parts) {
    if (p.v->rank() != 2 || p.v->cols() != nv_ || p.pre->rank() != 2 || p.pre->rows() != p.v->rows() || p.pre->cols() != nh_)
      throw ad::ShapeError("BernoulliRbm::free_energy_grad: rows and pre-activations do not match the model");
    total += p.v->rows();
  }
  // q_r = −coef σ(a_r), the parts' rows stacked; F per row from the same exponentials.
  std::vector<T, ad::detail::AlignedAllocator<T>> q(static_cast<size_t>(total * nh_));
  std::vector<double> f(parts.size(), 0.0);
  T* gb = grads[1].data();
  T* gc = grads[2].data();
  std::fill(gb, gb + nv_, T(0));
  std::fill(gc, gc + nh_, T(0));
  int64_t r0 = 0;
  for (size_t k = 0; k < parts.size(); ++k) {
    const Part& part = parts[k];
    const T neg_coef = static_cast<T>(-part.coef);
    for (int64_t r = 0; r < part.v->rows(); ++r) {
      const T* a = part.pre->data() + r * nh_;
      const T* v = part.v->data() + r * nv_;
      T* qr = q.data() + (r0 + r) * nh_;
      // −bᵀv, by lanes then across them (a fixed order).
      alignas(64) T lanes[W];
      B bv(T(0));
      int64_t i = 0;
      for (; i + W <= nv_; i += W) bv = xsimd::fma(B::load_unaligned(b_ + i), B::load_unaligned(v + i), bv);
      bv.store_aligned(lanes);
      double fr = 0;
      for (int64_t l = 0; l < W; ++l) fr -= double(lanes[l]);
      for (; i < nv_; ++i) fr -= double(b_[i]) * double(v[i]);
      // softplus summed per lane, then across lanes: a fixed order.
      B sp(T(0));
      int64_t j = 0;
      auto step = [&](const B& z) {
        const B e = xsimd::exp(-xsimd::abs(z)), one(T(1));
        const B s = xsimd::select(z >= B(T(0)), one / (one + e), e / (one + e));
        sp += xsimd::max(z, B(T(0))) + xsimd::log1p(e);
        return s * B(neg_coef);
      };
      for (; j + W <= nh_; j += W) step(B::load_unaligned(a + j)).store_unaligned(qr + j);
      sp.store_aligned(lanes);
      double spsum = 0;
      for (int64_t l = 0; l < W; ++l) spsum += double(lanes[l]);
      for (; j < nh_; ++j) {
        const T z = a[j], e = std::exp(-std::abs(z));
        qr[j] = neg_coef * (z >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e));
        spsum += double(std::max(z, T(0)) + std::log1p(e));
      }
      f[k] += fr - spsum;
      for (int64_t i = 0; i < nv_; ++i) gb[i] += neg_coef * v[i];
      for (int64_t jj = 0; jj < nh_; ++jj) gc[jj] += qr[jj];
    }
    r0 += part.v->rows();
  }
  // gW = Σ_r v_r q_rᵀ.
  std::vector<BitRows> bits(parts.size());
  bool binary = true;
  for (size_t k = 0; k < parts.size() && binary; ++k) binary = bits[k].assign(parts[k].v->data(), parts[k].v->rows(), nv_);
  T* gw = grads[0].data();
  if (total == 0) {
    std::fill(gw, gw + nv_ * nh_, T(0));
  } else if (binary) {
    std::vector<const BitRows*> ptrs;
    for (const BitRows& b : bits) ptrs.push_back(&b);
    const BitRows cols = BitRows::columns_of(ptrs);
    delta_product<T>(plan_chain<T>(cols), q.data(), false, total, nh_, nullptr, nullptr, gw);
  } else {
    r0 = 0;
    for (size_t k = 0; k < parts.size(); ++k) {
      const int64_t n = parts[k].v->rows();
      ad::matmul_into(true, false, nv_, nh_, n, parts[k].v->data(), q.data() + r0 * nh_, gw, k > 0);
      r0 += n;
    }
  }
  return f;
}

template class RbmLayers<float>;
template class RbmLayers<double>;
template void sigmoid_into(const float*, float*, int64_t);
template void sigmoid_into(const double*, double*, int64_t);

}  // namespace ebm::detail
