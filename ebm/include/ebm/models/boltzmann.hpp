#pragma once
// Fully visible Boltzmann machine: E(x) = −½ xᵀW x − bᵀx with W symmetric and zero on the diagonal,
// units in {0,1} (Units::binary) or {−1,+1} (Units::spin).
//
// Parameters "W" [n, n] and "b" [n]. Only the symmetric, off-diagonal part of the stored W acts:
// the energy uses W_eff = ½(W + Wᵀ) ∘ (1 − I). Hence ∇_W is itself symmetric with a zero diagonal, and an
// optimiser with elementwise updates (SGD, Adam) started from a symmetric W keeps it symmetric; no
// projection step is needed. With symmetric zero-diagonal W, −½ xᵀW x = −Σ_{i<j} W_ij x_i x_j.
//
// Conditionals (the local field a_i = Σ_j W_ij x_j + b_i does not involve x_i since W_ii = 0):
//   binary: p(x_i = 1 | x_rest) = sigmoid(a_i);   spin: p(x_i = +1 | x_rest) = sigmoid(2 a_i).
// The machine is a samplers::BinaryConditionals, so samplers::SingleSiteGibbs runs on it directly
// (conditional_logit reads the stored W in O(n) per call, no cached copies, so it stays valid while training).
#include <samplers/conditionals.hpp>

#include "ebm/models/energy.hpp"

namespace ebm {

enum class Units { binary, spin };

template <class T>
class BoltzmannMachine : public Energy<T>, public samplers::BinaryConditionals<T> {
 public:
  /// W = 0, b = 0.
  explicit BoltzmannMachine(int64_t n, Units units = Units::binary);
  /// From given couplings (symmetrised, diagonal dropped) and biases.
  BoltzmannMachine(const ad::Tensor<T>& w, const ad::Tensor<T>& b, Units units = Units::binary);

  std::string name() const override { return "boltzmann"; }
  int64_t dim() const override { return n_; }
  std::unique_ptr<Energy<T>> clone() const override { return std::make_unique<BoltzmannMachine>(*this); }
  ad::Var<T> energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const override;

  Units unit_kind() const { return units_; }
  /// W_eff = ½(W + Wᵀ) with a zero diagonal, [n, n].
  ad::Tensor<T> coupling() const;
  /// Local fields a = x W_eff + b, [B, n].
  ad::Tensor<T> local_fields(const ad::Tensor<T>& x) const;
  /// p(x_i = on | x_rest) for every row and unit, [B, n] (on = 1 or +1).
  ad::Tensor<T> conditional_on(const ad::Tensor<T>& x) const;
  /// One systematic-scan Gibbs sweep over units 0..n−1 of every row (rows independently).
  ad::Tensor<T> gibbs_sweep(const ad::Tensor<T>& x, ad::Rng& rng) const;

  // samplers::BinaryConditionals
  int64_t num_units() const override { return n_; }
  samplers::BinaryUnits units() const override;
  double conditional_logit(const T* x, int64_t i) const override;

 private:
  int64_t n_;
  Units units_;
};

extern template class BoltzmannMachine<float>;
extern template class BoltzmannMachine<double>;

}  // namespace ebm
