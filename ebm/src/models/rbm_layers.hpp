#pragma once
// A Bernoulli RBM at fixed parameter values, for one training step (or one query): its layer products, computed
// as delta products when the states are 0/1 (Note [Delta products]) and as dense products otherwise, its
// conditionals for samplers::BlockGibbs, and the free energy's closed-form gradient.
//
// It remembers the visible batches it has multiplied (hidden_pre with remember, and every hidden_mean call), and
// later 0/1 batches start from them: in a PCD step through samplers::BlockGibbs (the whole-step shards of
// rbm_gibbs_step.hpp keep their own references instead) the chains' states before the sweep are remembered when
// the sampler asks for p(h | v), so that the states after the sweep, which differ in a fraction of the pixels,
// cost only those pixels when the gradient needs p(h | v⁻). That memory makes it stateful: it is not for
// concurrent calls (BlockGibbs makes one call per half-sweep, from one thread), and W, b, c must not change while
// it is alive.
#include <deque>
#include <utility>
#include <vector>

#include <samplers/conditionals.hpp>

#include "ebm/models/rbm.hpp"
#include "models/binary_products.hpp"

namespace ebm::detail {

/// A buffer borrowed from a per-thread pool and returned to it on destruction: the packed weights (1.6 MB for
/// 784 × 256 doubles) would otherwise be fresh pages, faulted in and zeroed, at every training step.
template <class T>
class Scratch {
 public:
  using Buffer = std::vector<T, ad::detail::AlignedAllocator<T>>;
  Scratch() {
    std::vector<Buffer>& p = pool();
    if (!p.empty()) {
      buf_ = std::move(p.back());
      p.pop_back();
    }
  }
  ~Scratch() { pool().push_back(std::move(buf_)); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  /// At least n values (contents unspecified).
  T* get(size_t n) {
    if (buf_.size() < n) buf_.resize(n);
    return buf_.data();
  }

 private:
  static std::vector<Buffer>& pool() {
    thread_local std::vector<Buffer> p;
    return p;
  }
  Buffer buf_;
};

template <class T>
class RbmLayers final : public samplers::RbmConditionals<T> {
 public:
  explicit RbmLayers(const BernoulliRbm<T>& rbm);

  /// c + vW, [B, H]; `remember` keeps v and the result as starting points for later 0/1 batches.
  ad::Tensor<T> hidden_pre(const ad::Tensor<T>& v, bool remember) const;
  /// b + hWᵀ, [B, V].
  ad::Tensor<T> visible_pre(const ad::Tensor<T>& h) const;

  // samplers::RbmConditionals. hidden_mean remembers v (see above).
  int64_t num_visible() const override { return nv_; }
  int64_t num_hidden() const override { return nh_; }
  samplers::VisibleUnits visible_units() const override { return samplers::VisibleUnits::bernoulli; }
  ad::Tensor<T> hidden_mean(const ad::Tensor<T>& v) const override;
  ad::Tensor<T> visible_mean(const ad::Tensor<T>& h) const override;

  /// Rows v with their pre-activations c + vW (from hidden_pre) and a weight.
  struct Part {
    const ad::Tensor<T>* v;
    const ad::Tensor<T>* pre;
    double coef;
  };
  /// Writes (=) to grads (shaped like W, b, c) the gradient of Σ_parts coef · Σ_rows F(v_r), and returns each
  /// part's Σ_rows F(v_r). F(v) = −bᵀv − Σ_j softplus(a_j): ∂F/∂W = −v σ(a)ᵀ, ∂F/∂b = −v, ∂F/∂c = −σ(a). The weight
  /// gradient Σ_r v_r q_rᵀ (q_r = −coef σ(a_r)) is a delta product over the columns of the stacked 0/1 rows.
  std::vector<double> free_energy_grad(const std::vector<Part>& parts, std::vector<ad::Tensor<T>>& grads) const;
  /// The rest of free_energy_grad for 0/1 rows: writes ∂/∂W and ∂/∂b (grads[0], grads[1]) from the bits of the
  /// stacked rows (bits in stack order; part k is stacked rows [start[k], start[k + 1])) and their q rows.
  void binary_weight_grads(const std::vector<const BitRows*>& bits, const std::vector<int64_t>& start,
                           const std::vector<double>& coefs, const T* q, std::vector<ad::Tensor<T>>& grads) const;

  /// The operands of the delta products: W for c + vW (in place with in_place_cols = H when its rows are whole
  /// panels, else packed with 0; built on first use: call from one thread), W as stored for b + hWᵀ by
  /// delta_product_transposed, and the biases.
  std::pair<const T*, int64_t> hidden_matrix() const;
  /// W, [V, H] row-major: Wᵀ stored transposed, for delta_product_transposed.
  const T* weights() const { return w_; }
  const T* visible_bias() const { return b_; }
  const T* hidden_bias() const { return c_; }

 private:
  const T* w_;
  const T* b_;
  const T* c_;
  int64_t nv_, nh_;
  // Remembered 0/1 visible batches: their bits, and pointers to the rows of their pre-activations (kept alive in
  // memo_pre_; a deque, so that earlier tensors do not move).
  mutable BitRows memo_bits_;
  // W and Wᵀ packed for delta products (binary_products.hpp), each on first use.
  const T* w_panels() const;
  // out (n × N) = bias + x M for 0/1 rows x (n × K), M packed or in place (plan_tree); false (out unspecified) if x is not 0/1. Appends
  // x's bits to bits_out when given.
  bool binary_product(const ad::Tensor<T>& x, int64_t K, int64_t N, const T* m, int64_t in_place_cols, const T* bias,
                      const BitRows* refs, T* out, BitRows* bits_out) const;
  const T* wt_panels() const;
  mutable Scratch<T> w_scratch_, wt_scratch_;
  mutable const T* w_panels_ = nullptr;
  mutable const T* wt_panels_ = nullptr;
  mutable std::deque<ad::Tensor<T>> memo_pre_;
  mutable std::vector<const T*> memo_rows_;
};

/// The per-row half of free_energy_grad: for rows v_r (row-major, nv values) with pre-activations a_r (nh values):
/// q_r = −coef σ(a_r) written to q, Σ_r q_r added to gc; returns Σ_r F(v_r). b is the visible bias.
template <class T>
double free_energy_rows(const T* b, int64_t nv, int64_t nh, const T* v, const T* pre, int64_t rows, double coef, T* q, T* gc);

extern template class RbmLayers<float>;
extern template class RbmLayers<double>;

}  // namespace ebm::detail
