#include "samplers/energy.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "autodiff/ops.hpp"
#include "autodiff/transforms.hpp"

namespace samplers {
namespace {

template <class T>
ad::Var<T> call(const BatchEnergy<T>& f, ad::Tape<T>& tape, const ad::Var<T>& x, const ad::Tensor<T>& xv) {
  if (xv.rank() != 2) throw std::invalid_argument("samplers: positions must have shape [B, d], got " + xv.shape().str());
  if (!f) throw std::invalid_argument("samplers: empty energy function");
  ad::Var<T> e = f(tape, x);
  const ad::Shape s = e.shape();
  const int64_t b = xv.rows();
  const bool ok = (s.rank() == 1 && s[0] == b) || (s.rank() == 2 && s[0] == b && s[1] == 1);
  if (!ok)
    throw std::invalid_argument("samplers: the energy must return one value per sample, shape [" + std::to_string(b) +
                                "] (or [" + std::to_string(b) + ", 1]), for x of shape " + xv.shape().str() +
                                "; it returned " + s.str());
  return e;
}

}  // namespace

template <class T>
void EnergyEvaluator<T>::energy(const BatchEnergy<T>& f, const ad::Tensor<T>& x, std::vector<T>& e) {
  tape_.clear();  // reuse the arena: Note [No global tape] lets the tape live as long as the sampler
  ++evaluations_;
  typename ad::Tape<T>::NoGrad no_grad(tape_);
  const ad::Var<T> xv = tape_.constant(x);
  const ad::Var<T> ev = call(f, tape_, xv, x);
  e.assign(ev.data(), ev.data() + x.rows());
}

template <class T>
void EnergyEvaluator<T>::energy_grad(const BatchEnergy<T>& f, const ad::Tensor<T>& x, std::vector<T>& e,
                                     ad::Tensor<T>& g) {
  tape_.clear();
  ++evaluations_;
  const ad::Var<T> xv = tape_.variable(x);
  const ad::Var<T> ev = call(f, tape_, xv, x);
  e.assign(ev.data(), ev.data() + x.rows());
  // ∇ₓ Σ_n E_n: row n is ∇E_n(x_n) because E_n does not depend on the other rows.
  const ad::Var<T> gv = ad::grad(ad::sum(ev), xv);
  if (g.shape() != x.shape()) g = ad::Tensor<T>(x.shape());
  const T* src = gv.data();
  std::copy(src, src + x.numel(), g.data());
}

DualAveraging::DualAveraging(double initial_step, double target, double gamma, double t0, double kappa)
    : mu_(std::log(10 * initial_step)), target_(target), gamma_(gamma), t0_(t0), kappa_(kappa) {
  if (!(initial_step > 0) || !std::isfinite(initial_step))
    throw std::invalid_argument("samplers::DualAveraging: the initial step must be positive and finite");
  if (!(target > 0 && target < 1)) throw std::invalid_argument("samplers::DualAveraging: target must lie in (0, 1)");
  x_bar_ = std::log(initial_step);
}

double DualAveraging::update(double accept_stat) {
  if (std::isnan(accept_stat)) accept_stat = 0;
  accept_stat = std::clamp(accept_stat, 0.0, 1.0);
  ++counter_;
  const double t = double(counter_);
  const double eta = 1.0 / (t + t0_);
  s_bar_ = (1 - eta) * s_bar_ + eta * (target_ - accept_stat);
  const double x = mu_ - s_bar_ * std::sqrt(t) / gamma_;
  const double w = std::pow(t, -kappa_);
  x_bar_ = (1 - w) * x_bar_ + w * x;
  return std::exp(x);
}

double DualAveraging::final_step() const { return std::exp(x_bar_); }

template class EnergyEvaluator<float>;
template class EnergyEvaluator<double>;

}  // namespace samplers
