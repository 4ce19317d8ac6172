#pragma once
// Sliced score matching (Song, Garg, Shi & Ermon 2019).
//
// Projecting both scores on random directions v with E[vvᵀ] = I and integrating by parts:
//   J(θ) = E_p E_v[ vᵀ∇ₓs v + ½ (vᵀs)² ] + const,   s = −∇ₓE,
//        = E_p E_v[ ½ (vᵀ∇ₓE)² − vᵀ∇²ₓE v ]                                    (SSM)
// SSM-VR replaces E_v ½(vᵀ∇E)² by its closed form ½‖∇E‖², valid when E[vvᵀ] = I exactly term by term, i.e.
// for Gaussian or Rademacher v (the sphere projections are also isotropic, but the library follows the paper
// in allowing VR only for those two, and throws otherwise):
//   J_VR(θ) = E_p[ ½‖∇ₓE‖² − E_v vᵀ∇²ₓE v ].
// vᵀ∇²E v comes from a Hessian-vector product with create_graph: H v is the reverse-over-reverse HVP (the
// engine's default, what ad::hvp computes) taken as a VJP of the already recorded ∇ₓE, so ∇ₓE is computed once
// for all M projections. With M projections per sample the terms are averaged over them.
// Projections: gaussian N(0, I); rademacher ±1; sphere √d·u/‖u‖ (uniform direction, scaled so E[vvᵀ] = I).
// Terms: "grad_term" (mean of the first part), "hessian_term" (mean of vᵀ∇²E v).
#include "ebm/objectives/objective.hpp"

namespace ebm {

enum class Projection { gaussian, rademacher, sphere };

/// A [rows, d] tensor of projections of the given kind.
template <class T>
ad::Tensor<T> draw_projections(const ad::Shape& shape, Projection kind, ad::Rng& rng);

template <class T>
class SlicedScoreMatching : public Objective<T> {
 public:
  /// Throws std::invalid_argument for variance_reduced with sphere projections, or projections < 1.
  explicit SlicedScoreMatching(int projections = 1, Projection kind = Projection::gaussian, bool variance_reduced = false);
  std::string name() const override { return vr_ ? "ssm_vr" : "ssm"; }
  std::unique_ptr<Objective<T>> clone() const override { return std::make_unique<SlicedScoreMatching>(*this); }
  bool uses_second_derivatives() const override { return true; }
  Loss<T> loss(const LossInput<T>& in) override;

 private:
  int m_;
  Projection kind_;
  bool vr_;
};

extern template class SlicedScoreMatching<float>;
extern template class SlicedScoreMatching<double>;

}  // namespace ebm
