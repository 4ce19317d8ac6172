#pragma once
// Restricted Boltzmann machines, as energies of the visible units (free energies, hidden units summed out),
// plus their conditionals as plain tensor functions for block Gibbs sampling.
//
// Bernoulli–Bernoulli, v ∈ {0,1}^V, h ∈ {0,1}^H, params "W" [V, H], "b" [V], "c" [H]:
//   E(v, h) = −bᵀv − cᵀh − vᵀW h
//   F(v)    = −log Σ_h e^{−E(v,h)} = −bᵀv − Σ_j softplus(c_j + (vᵀW)_j)
//   p(h_j = 1 | v) = sigmoid(c_j + (vᵀW)_j),   p(v_i = 1 | h) = sigmoid(b_i + (W h)_i)
//
// Gaussian–Bernoulli (the parameterisation of Cho, Ilin & Raiko 2011), v ∈ R^V, per-unit σ_i:
//   E(v, h) = Σ_i (v_i − b_i)² / (2σ_i²) − Σ_ij (v_i / σ_i²) W_ij h_j − cᵀh
//   F(v)    = Σ_i (v_i − b_i)² / (2σ_i²) − Σ_j softplus(c_j + Σ_i W_ij v_i / σ_i²)
//   p(h_j = 1 | v) = sigmoid(c_j + Σ_i W_ij v_i / σ_i²),   p(v | h) = N(b + W h, diag σ²)
// Derivation of p(v | h): the v_i-terms of E are (v_i² − 2 v_i b_i − 2 v_i (W h)_i) / (2σ_i²), i.e. a square
// centred on b_i + (W h)_i with variance σ_i². Summing h_j ∈ {0,1} out of e^{−E} gives the softplus.
// σ is either fixed (constructor argument) or learnt through the extra parameter "log_sigma" [V].
//
// Both are samplers::RbmConditionals, so samplers::BlockGibbs (many chains, one stream per chain) runs on
// them directly. A Bernoulli RBM's conditionals and free-energy gradients skip the tape (closed forms over
// delta products, ebm/src/models/rbm_layers.hpp); CD uses them through Objective::direct_loss_and_grad. The sample_* / gibbs_step functions here are simpler single-stream versions (randomness
// consumed in row-major element order from the Rng passed in).
#include <samplers/conditionals.hpp>

#include "ebm/models/energy.hpp"

namespace ebm {

template <class T>
class BernoulliRbm : public Energy<T>, public samplers::RbmConditionals<T> {
 public:
  /// W ~ N(0, init_std²), b = c = 0.
  BernoulliRbm(int64_t visible, int64_t hidden, ad::Rng& rng, double init_std = 0.01);

  std::string name() const override { return "rbm_bernoulli"; }
  int64_t dim() const override { return nv_; }
  std::unique_ptr<Energy<T>> clone() const override { return std::make_unique<BernoulliRbm>(*this); }
  /// The free energy F(v), [B].
  ad::Var<T> energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& v) const override;
  /// The joint energy E(v, h), [B].
  ad::Var<T> joint_energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& v, const ad::Var<T>& h) const;

  int64_t visible() const { return nv_; }
  int64_t hidden() const { return nh_; }
  /// c + vᵀW per row, [B, H], without the tape: for 0/1 rows by additions of W's rows, rows starting from similar
  /// rows (Note [Delta products], ebm/src/models/binary_products.hpp); otherwise by a dense product (ad::matmul_into).
  ad::Tensor<T> hidden_preactivation(const ad::Tensor<T>& v) const;
  /// p(h = 1 | v), [B, H].
  ad::Tensor<T> hidden_probs(const ad::Tensor<T>& v) const;
  /// p(v = 1 | h), [B, V].
  ad::Tensor<T> visible_probs(const ad::Tensor<T>& h) const;
  ad::Tensor<T> sample_hidden(const ad::Tensor<T>& v, ad::Rng& rng) const;
  ad::Tensor<T> sample_visible(const ad::Tensor<T>& h, ad::Rng& rng) const;
  /// The free energy's closed-form gradients without the tape, for training: adds coef · Σ_rows ∂F(v_r)/∂θ to
  /// grads (shaped like W, b, c, in that order) and returns Σ_rows F(v_r).
  double accumulate_free_energy_grad(const ad::Tensor<T>& v, double coef, std::vector<ad::Tensor<T>>& grads) const;
  /// One block Gibbs sweep v → h → v'.
  ad::Tensor<T> gibbs_step(const ad::Tensor<T>& v, ad::Rng& rng) const;

  // samplers::RbmConditionals
  int64_t num_visible() const override { return nv_; }
  int64_t num_hidden() const override { return nh_; }
  samplers::VisibleUnits visible_units() const override { return samplers::VisibleUnits::bernoulli; }
  ad::Tensor<T> hidden_mean(const ad::Tensor<T>& v) const override { return hidden_probs(v); }
  ad::Tensor<T> visible_mean(const ad::Tensor<T>& h) const override { return visible_probs(h); }

 private:
  int64_t nv_, nh_;
};

template <class T>
class GaussianBernoulliRbm : public Energy<T>, public samplers::RbmConditionals<T> {
 public:
  /// W ~ N(0, init_std²), b = c = 0, σ_i = sigma; σ is a parameter ("log_sigma") iff learn_sigma.
  GaussianBernoulliRbm(int64_t visible, int64_t hidden, ad::Rng& rng, double sigma = 1.0, bool learn_sigma = false,
                       double init_std = 0.01);

  std::string name() const override { return "rbm_gaussian_bernoulli"; }
  int64_t dim() const override { return nv_; }
  std::unique_ptr<Energy<T>> clone() const override { return std::make_unique<GaussianBernoulliRbm>(*this); }
  ad::Var<T> energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& v) const override;
  ad::Var<T> joint_energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& v, const ad::Var<T>& h) const;

  int64_t visible() const { return nv_; }
  int64_t hidden() const { return nh_; }
  bool learns_sigma() const { return learn_sigma_; }
  /// σ_i, [V] (from log_sigma when learnt).
  ad::Tensor<T> sigma() const;
  ad::Tensor<T> hidden_probs(const ad::Tensor<T>& v) const;
  /// E[v | h] = b + W h, [B, V].
  ad::Tensor<T> visible_mean(const ad::Tensor<T>& h) const override;
  ad::Tensor<T> sample_hidden(const ad::Tensor<T>& v, ad::Rng& rng) const;
  ad::Tensor<T> sample_visible(const ad::Tensor<T>& h, ad::Rng& rng) const;
  ad::Tensor<T> gibbs_step(const ad::Tensor<T>& v, ad::Rng& rng) const;

  // samplers::RbmConditionals
  int64_t num_visible() const override { return nv_; }
  int64_t num_hidden() const override { return nh_; }
  samplers::VisibleUnits visible_units() const override { return samplers::VisibleUnits::gaussian; }
  ad::Tensor<T> hidden_mean(const ad::Tensor<T>& v) const override { return hidden_probs(v); }
  ad::Tensor<T> visible_stddev() const override { return sigma(); }

 private:
  /// 1/σ² as a Var on the tape: from the parameter when learnt, else a constant.
  ad::Var<T> inv_var(const std::vector<ad::Var<T>>& params, ad::Tape<T>& tape) const;
  int64_t nv_, nh_;
  bool learn_sigma_;
  double fixed_sigma_;
};

extern template class BernoulliRbm<float>;
extern template class BernoulliRbm<double>;
extern template class GaussianBernoulliRbm<float>;
extern template class GaussianBernoulliRbm<double>;

}  // namespace ebm
