#pragma once
// Exact score matching (Hyvärinen 2005).
//
// With the model score s = −∇ₓE, integration by parts turns the Fisher divergence ½ E_p‖s − ∇log p‖² into
//   J(θ) = E_p[ ½‖s‖² + tr ∇ₓs ] + const = E_p[ ½‖∇ₓE‖² − tr ∇²ₓE ] + const,
// estimated by the batch mean. tr ∇²ₓE uses d forward-over-reverse HVPs (ad::hessian_trace, with
// create_graph so the loss can be differentiated in θ), or Hutchinson's estimator when probes > 0.
// Terms: "grad_sq" = mean ½‖∇ₓE‖², "trace" = mean tr ∇²ₓE.
#include "ebm/objectives/objective.hpp"

namespace ebm {

template <class T>
class ScoreMatching : public Objective<T> {
 public:
  /// probes = 0: exact trace; probes > 0: Hutchinson with that many Rademacher probes (unbiased, noisier).
  explicit ScoreMatching(int hutchinson_probes = 0);
  std::string name() const override { return "sm"; }
  std::unique_ptr<Objective<T>> clone() const override { return std::make_unique<ScoreMatching>(*this); }
  bool uses_second_derivatives() const override { return true; }
  Loss<T> loss(const LossInput<T>& in) override;

 private:
  int probes_;
};

extern template class ScoreMatching<float>;
extern template class ScoreMatching<double>;

}  // namespace ebm
