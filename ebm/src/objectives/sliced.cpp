#include "ebm/objectives/sliced.hpp"

#include <cmath>
#include <stdexcept>

namespace ebm {

template <class T>
ad::Tensor<T> draw_projections(const ad::Shape& shape, Projection kind, ad::Rng& rng) {
  ad::Tensor<T> v(shape);
  if (kind == Projection::rademacher) {
    ad::fill_rademacher(v, rng);
    return v;
  }
  ad::fill_normal(v, rng);
  if (kind == Projection::sphere) {
    const int64_t d = v.cols();
    const double scale = std::sqrt(static_cast<double>(d));
    for (int64_t r = 0; r < v.rows(); ++r) {
      double n2 = 0;
      for (int64_t k = 0; k < d; ++k) n2 += static_cast<double>(v.at(r, k)) * static_cast<double>(v.at(r, k));
      const double f = scale / std::sqrt(n2);
      for (int64_t k = 0; k < d; ++k) v.at(r, k) = static_cast<T>(static_cast<double>(v.at(r, k)) * f);
    }
  }
  return v;
}

template <class T>
SlicedScoreMatching<T>::SlicedScoreMatching(int projections, Projection kind, bool variance_reduced)
    : m_(projections), kind_(kind), vr_(variance_reduced) {
  if (projections < 1) throw std::invalid_argument("SlicedScoreMatching: needs at least one projection");
  if (variance_reduced && kind == Projection::sphere)
    throw std::invalid_argument("SlicedScoreMatching: the variance-reduced form needs gaussian or rademacher projections");
}

template <class T>
Loss<T> SlicedScoreMatching<T>::loss(const LossInput<T>& in) {
  const ad::Var<T> x = in.tape.variable(in.x);
  const ad::Var<T> f = ad::sum(in.model.energy(in.theta, x));
  const ad::Var<T> g = ad::grad(f, x, true);
  ad::Var<T> first, hess;
  for (int m = 0; m < m_; ++m) {
    const ad::Var<T> v = in.tape.constant(draw_projections<T>(in.x.shape(), kind_, in.rng));
    const ad::Var<T> hv = ad::vjp<T>({g}, {x}, {v}, true)[0];  // rows: ∇²E(x_n) v_n (block-diagonal Hessian)
    const ad::Var<T> vhv = ad::sum(v * hv, 1);
    hess = hess.defined() ? hess + vhv : vhv;
    if (!vr_) {
      const ad::Var<T> proj = 0.5 * ad::square(ad::sum(v * g, 1));
      first = first.defined() ? first + proj : proj;
    }
  }
  const double inv_m = 1.0 / m_;
  first = vr_ ? 0.5 * ad::sum(ad::square(g), 1) : first * inv_m;
  hess = hess * inv_m;
  return {ad::mean(first - hess), {mean_term("grad_term", first), mean_term("hessian_term", hess)}};
}

template ad::Tensor<float> draw_projections(const ad::Shape&, Projection, ad::Rng&);
template ad::Tensor<double> draw_projections(const ad::Shape&, Projection, ad::Rng&);
template class SlicedScoreMatching<float>;
template class SlicedScoreMatching<double>;

}  // namespace ebm
