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
const T* RbmLayers<T>::w_panels() const {
  if (!w_panels_) {
    T* buf = w_scratch_.get(static_cast<size_t>(panels<T>(nh_) * nv_ * DeltaLayout<T>::width()));
    pack_panels(w_, false, nv_, nh_, buf);
    w_panels_ = buf;
  }
  return w_panels_;
}

template <class T>
const T* RbmLayers<T>::wt_panels() const {
  if (!wt_panels_) {  // rows of Wᵀ: W is stored [V, H], i.e. transposed
    T* buf = wt_scratch_.get(static_cast<size_t>(panels<T>(nv_) * nh_ * DeltaLayout<T>::width()));
    pack_panels(w_, true, nh_, nv_, buf);
    wt_panels_ = buf;
  }
  return wt_panels_;
}

template <class T>
ad::Tensor<T> RbmLayers<T>::hidden_pre(const ad::Tensor<T>& v, bool remember) const {
  if (v.rank() != 2 || v.cols() != nv_)
    throw ad::ShapeError("BernoulliRbm: expected visible states [B, " + std::to_string(nv_) + "], got " + v.shape().str());
  ad::Tensor<T> a(ad::Shape{v.rows(), nh_});
  BitRows bits;
  if (bits.assign(v.data(), v.rows(), nv_)) {
    const DeltaPlan plan = plan_tree<T>(bits, memo_bits_.rows ? &memo_bits_ : nullptr);
    delta_product<T>(plan, w_panels(), nv_, nh_, c_, memo_rows_.data(), a.data());
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
    delta_product<T>(plan_tree<T>(bits, nullptr), wt_panels(), nh_, nv_, b_, nullptr, a.data());
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
  Scratch<T> q_scratch, q_panel_scratch;
  T* q = q_scratch.get(static_cast<size_t>(total * nh_));
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
      T* qr = q + (r0 + r) * nh_;
      // −bᵀv, by lanes then across them (a fixed order).
      // Four accumulators: one chain of dependent FMAs would wait on the FMA latency at every vector.
      alignas(64) T lanes[W];
      B bv[4] = {B(T(0)), B(T(0)), B(T(0)), B(T(0))};
      int64_t i = 0;
      for (; i + 4 * W <= nv_; i += 4 * W)
        for (int u = 0; u < 4; ++u) bv[u] = xsimd::fma(B::load_unaligned(b_ + i + u * W), B::load_unaligned(v + i + u * W), bv[u]);
      for (; i + W <= nv_; i += W) bv[0] = xsimd::fma(B::load_unaligned(b_ + i), B::load_unaligned(v + i), bv[0]);
      ((bv[0] + bv[1]) + (bv[2] + bv[3])).store_aligned(lanes);
      double fr = 0;
      for (int64_t l = 0; l < W; ++l) fr -= double(lanes[l]);
      for (; i < nv_; ++i) fr -= double(b_[i]) * double(v[i]);
      // Σ_j softplus(a_j) = Σ_j max(a_j, 0) + log Π_j (1 + e_j): the products (per lane, each factor in (1, 2]) need
      // one logarithm per lane and 64 factors instead of a log1p per unit; rounding adds ~64 ulp to the logarithm's
      // argument, ~1e-14 absolute, while an e_j below the ulp of 1 (a_j beyond ±37) contributes less than 1e-16.
      B relu(T(0)), prod(T(1));
      double spsum = 0;
      int64_t j = 0, factors = 0;
      for (; j + W <= nh_; j += W) {
        const B z = B::load_unaligned(a + j), one(T(1));
        const B e = xsimd::exp(-xsimd::abs(z)), den = one + e, r = one / den;
        (xsimd::select(z >= B(T(0)), r, e * r) * B(neg_coef)).store_unaligned(qr + j);
        relu += xsimd::max(z, B(T(0)));
        prod *= den;
        if (++factors == 64) {
          spsum += xsimd::hadd(xsimd::log(prod));
          prod = B(T(1)), factors = 0;
        }
      }
      spsum += double(xsimd::hadd(relu)) + double(xsimd::hadd(xsimd::log(prod)));
      for (; j < nh_; ++j) {
        const T z = a[j], e = std::exp(-std::abs(z));
        qr[j] = neg_coef * (z >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e));
        spsum += double(std::max(z, T(0)) + std::log1p(e));
      }
      f[k] += fr - spsum;
      {
        const B c(neg_coef);
        int64_t i = 0;
        for (; i + W <= nv_; i += W) xsimd::fma(c, B::load_unaligned(v + i), B::load_unaligned(gb + i)).store_unaligned(gb + i);
        for (; i < nv_; ++i) gb[i] += neg_coef * v[i];
      }
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
    T* q_panels = q_panel_scratch.get(static_cast<size_t>(panels<T>(nh_) * total * DeltaLayout<T>::width()));
    pack_panels(q, false, total, nh_, q_panels);
    delta_product<T>(plan_chain<T>(cols), q_panels, total, nh_, nullptr, nullptr, gw);
  } else {
    r0 = 0;
    for (size_t k = 0; k < parts.size(); ++k) {
      const int64_t n = parts[k].v->rows();
      ad::matmul_into(true, false, nv_, nh_, n, parts[k].v->data(), q + r0 * nh_, gw, k > 0);
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
