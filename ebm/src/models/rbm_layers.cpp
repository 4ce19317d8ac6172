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

// σ in place over the rows of p, in row shards.
template <class T>
void sigmoid_rows(ad::Tensor<T>& p) {
  const int64_t cols = p.cols();
  const Shards sh = shards_of(p.rows());
  ad::for_each_shard(static_cast<int>(sh.count), [&](int64_t s) {
    T* first = p.data() + sh.begin(s) * cols;
    map_batches(first, first, (sh.begin(s + 1) - sh.begin(s)) * cols, [](const auto& v) { return sigmoid_batch(v); });
  });
}

}  // namespace

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

// Both layer products: 0/1 rows as delta products in row shards (Note [Row shards]), each shard's rows planned
// against each other and the references; any other value makes it a dense product.
template <class T>
bool RbmLayers<T>::binary_product(const ad::Tensor<T>& x, int64_t K, int64_t N, const T* packed, int64_t in_place_cols,
                                  const T* bias, const BitRows* refs, T* out, BitRows* bits_out) const {
  const int64_t n = x.rows();
  // Row shards when the columns make few panels (Note [Row shards]); otherwise one plan, panels in parallel.
  const Shards sh = panels<T>(N) < 4 ? shards_of(n) : Shards{1, n};
  std::vector<BitRows> bits(static_cast<size_t>(sh.count));
  std::vector<char> binary(static_cast<size_t>(sh.count), 1);
  ad::for_each_shard(static_cast<int>(sh.count), [&](int64_t s) {
    const int64_t r0 = sh.begin(s), r1 = sh.begin(s + 1);
    BitRows& b = bits[static_cast<size_t>(s)];
    if (!b.assign(x.data() + r0 * K, r1 - r0, K)) {
      binary[static_cast<size_t>(s)] = 0;
      return;
    }
    const DeltaPlan plan = plan_tree<T>(b, refs, in_place_cols);
    delta_product<T>(plan, packed, K, N, bias, memo_rows_.data(), out + r0 * N, sh.count == 1);
  });
  if (std::find(binary.begin(), binary.end(), 0) != binary.end()) return false;
  if (bits_out)
    for (const BitRows& b : bits) bits_out->append(b);
  return true;
}

template <class T>
ad::Tensor<T> RbmLayers<T>::hidden_pre(const ad::Tensor<T>& v, bool remember) const {
  if (v.rank() != 2 || v.cols() != nv_)
    throw ad::ShapeError("BernoulliRbm: expected visible states [B, " + std::to_string(nv_) + "], got " + v.shape().str());
  ad::Tensor<T> a(ad::Shape{v.rows(), nh_}, ad::uninitialized);  // every value is written
  BitRows bits;
  const auto [m, in_place_cols] = hidden_matrix();  // packed before the shards start
  if (binary_product(v, nv_, nh_, m, in_place_cols, c_, memo_bits_.rows ? &memo_bits_ : nullptr, a.data(), remember ? &bits : nullptr)) {
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
  ad::Tensor<T> a(ad::Shape{h.rows(), nv_}, ad::uninitialized);  // every value is written
  const T* panels = wt_panels();
  if (!binary_product(h, nh_, nv_, panels, 0, b_, nullptr, a.data(), nullptr)) {
    for (int64_t r = 0; r < h.rows(); ++r) std::copy(b_, b_ + nv_, a.data() + r * nv_);
    ad::matmul_into(false, true, h.rows(), nv_, nh_, h.data(), w_, a.data(), true);
  }
  return a;
}

template <class T>
ad::Tensor<T> RbmLayers<T>::hidden_mean(const ad::Tensor<T>& v) const {
  ad::Tensor<T> p = hidden_pre(v, true);
  sigmoid_rows(p);
  return p;
}

template <class T>
ad::Tensor<T> RbmLayers<T>::visible_mean(const ad::Tensor<T>& h) const {
  ad::Tensor<T> p = visible_pre(h);
  sigmoid_rows(p);
  return p;
}

template <class T>
double free_energy_rows(const T* b, int64_t nv, int64_t nh, const T* v, const T* pre, int64_t rows, double coef, T* q, T* gc) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = B::size;
  const T neg_coef = static_cast<T>(-coef);
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T* a = pre + r * nh;
    const T* vr = v + r * nv;
    T* qr = q + r * nh;
    // −bᵀv, by lanes then across them (a fixed order); four accumulators, as one chain of dependent FMAs would
    // wait on the FMA latency at every vector.
    alignas(64) T lanes[W];
    B bv[4] = {B(T(0)), B(T(0)), B(T(0)), B(T(0))};
    int64_t i = 0;
    for (; i + 4 * W <= nv; i += 4 * W)
      for (int u = 0; u < 4; ++u) bv[u] = xsimd::fma(B::load_unaligned(b + i + u * W), B::load_unaligned(vr + i + u * W), bv[u]);
    for (; i + W <= nv; i += W) bv[0] = xsimd::fma(B::load_unaligned(b + i), B::load_unaligned(vr + i), bv[0]);
    ((bv[0] + bv[1]) + (bv[2] + bv[3])).store_aligned(lanes);
    double fr = 0;
    for (int64_t l = 0; l < W; ++l) fr -= double(lanes[l]);
    for (; i < nv; ++i) fr -= double(b[i]) * double(vr[i]);
    // Σ_j softplus(a_j) = Σ_j max(a_j, 0) + log Π_j (1 + e_j): the products (per lane, each factor in (1, 2]) need
    // one logarithm per lane and 64 factors instead of a log1p per unit; rounding adds ~64 ulp to the logarithm's
    // argument, ~1e-14 absolute, while an e_j below the ulp of 1 (a_j beyond ±37) contributes less than 1e-16.
    B relu(T(0)), prod(T(1));
    double spsum = 0;
    int64_t j = 0, factors = 0;
    for (; j + W <= nh; j += W) {
      const B z = B::load_unaligned(a + j), one(T(1));
      const B e = xsimd::exp(-xsimd::abs(z)), den = one + e, rcp = one / den;
      const B qj = xsimd::select(z >= B(T(0)), rcp, e * rcp) * B(neg_coef);
      qj.store_unaligned(qr + j);
      (B::load_unaligned(gc + j) + qj).store_unaligned(gc + j);
      relu += xsimd::max(z, B(T(0)));
      prod *= den;
      if (++factors == 64) {
        spsum += xsimd::hadd(xsimd::log(prod));
        prod = B(T(1)), factors = 0;
      }
    }
    spsum += double(xsimd::hadd(relu)) + double(xsimd::hadd(xsimd::log(prod)));
    for (; j < nh; ++j) {
      const T z = a[j], e = std::exp(-std::abs(z));
      qr[j] = neg_coef * (z >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e));
      gc[j] += qr[j];
      spsum += double(std::max(z, T(0)) + std::log1p(e));
    }
    total += fr - spsum;
  }
  return total;
}

template <class T>
std::vector<double> RbmLayers<T>::free_energy_grad(const std::vector<Part>& parts, std::vector<ad::Tensor<T>>& grads) const {
  if (grads.size() != 3 || grads[0].numel() != nv_ * nh_ || grads[1].numel() != nv_ || grads[2].numel() != nh_)
    throw ad::ShapeError("BernoulliRbm: gradients must be shaped like W, b, c");
  // The parts' rows stacked: stacked row R is row R − start[k] of part k.
  std::vector<int64_t> start{0};
  std::vector<double> coefs;
  for (const Part& p : parts) {
    if (p.v->rank() != 2 || p.v->cols() != nv_ || p.pre->rank() != 2 || p.pre->rows() != p.v->rows() || p.pre->cols() != nh_)
      throw ad::ShapeError("BernoulliRbm::free_energy_grad: rows and pre-activations do not match the model");
    start.push_back(start.back() + p.v->rows());
    coefs.push_back(p.coef);
  }
  const int64_t total = start.back();
  const size_t np = parts.size();
  // Per stacked row, in row shards: q_r = −coef σ(a_r), F(v_r) from the same exponentials, and v_r's bits. Each
  // shard sums its own F per part and its own share of ∂/∂c; the shards' sums are added in shard order (a fixed
  // order, whatever the thread count).
  Scratch<T> q_scratch;
  T* q = q_scratch.get(static_cast<size_t>(total * nh_));
  const Shards sh = shards_of(total);
  const auto ns = static_cast<size_t>(sh.count);
  std::vector<double> f_shard(ns * np, 0.0);
  std::vector<T> gc_shard(ns * static_cast<size_t>(nh_), T(0));
  std::vector<BitRows> bits(ns);
  std::vector<char> binary(ns, 1);
  ad::for_each_shard(static_cast<int>(sh.count), [&](int64_t s) {
    const int64_t R0 = sh.begin(s), R1 = sh.begin(s + 1);
    for (size_t k = 0; k < np; ++k) {
      const int64_t lo = std::max(R0, start[k]), hi = std::min(R1, start[k + 1]);
      if (lo >= hi) continue;
      const Part& part = parts[k];
      BitRows b;
      if (!b.assign(part.v->data() + (lo - start[k]) * nv_, hi - lo, nv_)) binary[static_cast<size_t>(s)] = 0;
      bits[static_cast<size_t>(s)].append(b);
      f_shard[static_cast<size_t>(s) * np + k] +=
          free_energy_rows(b_, nv_, nh_, part.v->data() + (lo - start[k]) * nv_, part.pre->data() + (lo - start[k]) * nh_, hi - lo,
                           part.coef, q + lo * nh_, gc_shard.data() + s * nh_);
    }
  });
  std::vector<double> f(np, 0.0);
  T* gc = grads[2].data();
  std::fill(gc, gc + nh_, T(0));
  for (size_t s = 0; s < ns; ++s) {
    for (size_t k = 0; k < np; ++k) f[k] += f_shard[s * np + k];
    for (int64_t j = 0; j < nh_; ++j) gc[j] += gc_shard[s * static_cast<size_t>(nh_) + static_cast<size_t>(j)];
  }
  if (std::find(binary.begin(), binary.end(), 0) == binary.end()) {
    std::vector<const BitRows*> ptrs;
    for (const BitRows& b : bits) ptrs.push_back(&b);
    binary_weight_grads(ptrs, start, coefs, q, grads);
    return f;
  }
  T* gb = grads[1].data();
  T* gw = grads[0].data();
  std::fill(gb, gb + nv_, T(0));
  if (total == 0) std::fill(gw, gw + nv_ * nh_, T(0));
  for (size_t k = 0; k < np; ++k) {
    const Part& part = parts[k];
    const T neg_coef = static_cast<T>(-part.coef);
    for (int64_t r = 0; r < part.v->rows(); ++r) {
      const T* v = part.v->data() + r * nv_;
      for (int64_t i = 0; i < nv_; ++i) gb[i] += neg_coef * v[i];
    }
    ad::matmul_into(true, false, nv_, nh_, part.v->rows(), part.v->data(), q + start[k] * nh_, gw, k > 0);
  }
  return f;
}

template <class T>
void RbmLayers<T>::binary_weight_grads(const std::vector<const BitRows*>& bits, const std::vector<int64_t>& start,
                                       const std::vector<double>& coefs, const T* q, std::vector<ad::Tensor<T>>& grads) const {
  T* gb = grads[1].data();
  T* gw = grads[0].data();
  if (start.back() == 0) {
    std::fill(gb, gb + nv_, T(0));
    std::fill(gw, gw + nv_ * nh_, T(0));
    return;
  }
  // gW = Σ_r v_r q_rᵀ as a chain product over the columns of the stack (Note [Chain products]), and
  // ∂/∂b_i = Σ_k −coef_k · (ones in column i of part k) from its counts.
  const size_t np = coefs.size();
  std::vector<int64_t> counts(static_cast<size_t>(nv_) * np);
  chain_product(bits, start, q, nh_, gw, counts.data());
  for (int64_t i = 0; i < nv_; ++i) {
    double g = 0;
    for (size_t k = 0; k < np; ++k) g -= coefs[k] * double(counts[k * static_cast<size_t>(nv_) + static_cast<size_t>(i)]);
    gb[i] = static_cast<T>(g);
  }
}

template <class T>
std::pair<const T*, int64_t> RbmLayers<T>::hidden_matrix() const {
  // W is read in place when its rows are whole panels (packing it would copy W at every step for nothing: its
  // rows are already contiguous), else packed.
  if (nh_ % DeltaLayout<T>::width() == 0) return {w_, nh_};
  return {w_panels(), 0};
}

template class RbmLayers<float>;
template class RbmLayers<double>;
template double free_energy_rows(const float*, int64_t, int64_t, const float*, const float*, int64_t, double, float*, float*);
template double free_energy_rows(const double*, int64_t, int64_t, const double*, const double*, int64_t, double, double*, double*);

}  // namespace ebm::detail
