#pragma once
// The energy interface of every gradient-based and Metropolis sampler, and the evaluator that turns an
// energy into per-chain values and gradients with one reusable tape.
//
// Convention: a sampler targets p(x) ∝ exp(−E(x)) (at temperature 1). An energy receives x of shape
// [B, d] as a Var on the given tape and returns per-sample energies of shape [B] (shape [B, 1] is
// accepted too). Rows must be independent (Note [Independent rows] in state.hpp). An energy may
// return NaN or ±inf for some rows; samplers reject such proposals and count them, and never throw.
#include <cstdint>
#include <functional>
#include <vector>

#include "autodiff/tape.hpp"
#include "autodiff/tensor.hpp"

namespace samplers {

template <class T>
using BatchEnergy = std::function<ad::Var<T>(ad::Tape<T>& tape, const ad::Var<T>& x)>;

/// An energy E(x; σ) conditioned on a noise level (NCSN-style models): for annealed Langevin.
template <class T>
using NoiseConditionedEnergy = std::function<ad::Var<T>(ad::Tape<T>& tape, const ad::Var<T>& x, double sigma)>;

/// Evaluates E (and ∇ₓE) for a batch. It keeps one tape and clears it before every evaluation, so after
/// the first call the arena is reused and a step allocates nothing on the tape. Not thread-safe: one
/// evaluator per sampler (samplers own theirs).
template <class T>
class EnergyEvaluator {
 public:
  EnergyEvaluator() = default;
  EnergyEvaluator(const EnergyEvaluator&) = delete;
  EnergyEvaluator& operator=(const EnergyEvaluator&) = delete;

  /// e[n] = E(x_n) for x of shape [B, d]; nothing is recorded for gradients.
  void energy(const BatchEnergy<T>& f, const ad::Tensor<T>& x, std::vector<T>& e);
  /// e[n] = E(x_n) and g[n, :] = ∇E(x_n): the gradient of Σ_n E_n, which is per-sample because rows are
  /// independent. `g` is resized to x's shape when needed.
  void energy_grad(const BatchEnergy<T>& f, const ad::Tensor<T>& x, std::vector<T>& e, ad::Tensor<T>& g);

  /// Number of evaluations so far (an evaluation is one batched call of the energy).
  int64_t evaluations() const { return evaluations_; }
  ad::Tape<T>& tape() { return tape_; }

 private:
  ad::Tape<T> tape_;
  int64_t evaluations_ = 0;
};

/// Step-size adaptation by dual averaging (Nesterov 2009; Hoffman & Gelman 2014, Algorithm 5), with
/// Stan's defaults. Fed one acceptance statistic per iteration during warm-up; afterwards the sampler uses
/// the averaged step `final_step()`, so the kernel is fixed (and the chain Markov) while sampling.
class DualAveraging {
 public:
  explicit DualAveraging(double initial_step, double target = 0.8, double gamma = 0.05, double t0 = 10,
                         double kappa = 0.75);
  /// Records an acceptance statistic in [0, 1] (NaN counts as 0) and returns the next step size.
  double update(double accept_stat);
  /// exp of the averaged log step: the step to use after warm-up.
  double final_step() const;
  int64_t iterations() const { return counter_; }

 private:
  double mu_, target_, gamma_, t0_, kappa_;
  double s_bar_ = 0, x_bar_ = 0;
  int64_t counter_ = 0;
};

extern template class EnergyEvaluator<float>;
extern template class EnergyEvaluator<double>;

}  // namespace samplers
