#include "ebm/models/boltzmann.hpp"

#include <cmath>
#include <stdexcept>

#include <autodiff/scalar.hpp>

namespace ebm {

template <class T>
BoltzmannMachine<T>::BoltzmannMachine(int64_t n, Units units) : n_(n), units_(units) {
  if (n < 1) throw std::invalid_argument("BoltzmannMachine: needs at least one unit");
  this->params_ = {{"W", ad::Tensor<T>(ad::Shape{n, n}, T(0))}, {"b", ad::Tensor<T>(ad::Shape{n}, T(0))}};
}

template <class T>
BoltzmannMachine<T>::BoltzmannMachine(const ad::Tensor<T>& w, const ad::Tensor<T>& b, Units units)
    : BoltzmannMachine(b.numel(), units) {
  if (w.rank() != 2 || w.rows() != n_ || w.cols() != n_) throw ad::ShapeError("BoltzmannMachine", w.shape(), b.shape());
  for (int64_t i = 0; i < n_; ++i) {
    this->params_[1].value[i] = b[i];
    for (int64_t j = 0; j < n_; ++j) this->params_[0].value.at(i, j) = i == j ? T(0) : T(0.5) * (w.at(i, j) + w.at(j, i));
  }
}

template <class T>
ad::Var<T> BoltzmannMachine<T>::energy(const std::vector<ad::Var<T>>& p, const ad::Var<T>& x) const {
  this->check_call(p, x);
  ad::Tensor<T> off(ad::Shape{n_, n_}, T(0.5));  // ½ for the symmetrisation, 0 on the diagonal
  for (int64_t i = 0; i < n_; ++i) off.at(i, i) = T(0);
  const ad::Var<T> w = (p[0] + ad::transpose(p[0])) * x.tape().constant(off);
  return -0.5 * ad::sum(ad::matmul(x, w) * x, 1) - ad::sum(x * p[1], 1);
}

template <class T>
ad::Tensor<T> BoltzmannMachine<T>::coupling() const {
  const ad::Tensor<T>& w = this->params_[0].value;
  ad::Tensor<T> out(w.shape());
  for (int64_t i = 0; i < n_; ++i)
    for (int64_t j = 0; j < n_; ++j) out.at(i, j) = i == j ? T(0) : T(0.5) * (w.at(i, j) + w.at(j, i));
  return out;
}

template <class T>
ad::Tensor<T> BoltzmannMachine<T>::local_fields(const ad::Tensor<T>& x) const {
  if (x.rank() != 2 || x.cols() != n_) throw ad::ShapeError("BoltzmannMachine::local_fields: x is " + x.shape().str());
  const ad::Tensor<T> w = coupling();
  const ad::Tensor<T>& b = this->params_[1].value;
  ad::Tensor<T> a(x.shape());
  for (int64_t r = 0; r < x.rows(); ++r)
    for (int64_t i = 0; i < n_; ++i) {
      double s = static_cast<double>(b[i]);
      for (int64_t j = 0; j < n_; ++j) s += static_cast<double>(w.at(i, j)) * static_cast<double>(x.at(r, j));
      a.at(r, i) = static_cast<T>(s);
    }
  return a;
}

template <class T>
ad::Tensor<T> BoltzmannMachine<T>::conditional_on(const ad::Tensor<T>& x) const {
  ad::Tensor<T> p = local_fields(x);
  const double k = units_ == Units::spin ? 2.0 : 1.0;  // E(on) − E(off) = −k a_i
  for (T& v : p) v = static_cast<T>(ad::scalar::sigmoid(k * static_cast<double>(v)));
  return p;
}

template <class T>
ad::Tensor<T> BoltzmannMachine<T>::gibbs_sweep(const ad::Tensor<T>& x0, ad::Rng& rng) const {
  if (x0.rank() != 2 || x0.cols() != n_) throw ad::ShapeError("BoltzmannMachine::gibbs_sweep: x is " + x0.shape().str());
  ad::Tensor<T> x = x0;
  const ad::Tensor<T> w = coupling();
  const ad::Tensor<T>& b = this->params_[1].value;
  const double k = units_ == Units::spin ? 2.0 : 1.0;
  const T off = units_ == Units::spin ? T(-1) : T(0);
  for (int64_t r = 0; r < x.rows(); ++r)
    for (int64_t i = 0; i < n_; ++i) {
      double a = static_cast<double>(b[i]);
      for (int64_t j = 0; j < n_; ++j) a += static_cast<double>(w.at(i, j)) * static_cast<double>(x.at(r, j));
      x.at(r, i) = rng.uniform() < ad::scalar::sigmoid(k * a) ? T(1) : off;
    }
  return x;
}

template <class T>
samplers::BinaryUnits BoltzmannMachine<T>::units() const {
  return units_ == Units::spin ? samplers::BinaryUnits::plus_minus_one : samplers::BinaryUnits::zero_one;
}

template <class T>
double BoltzmannMachine<T>::conditional_logit(const T* x, int64_t i) const {
  const ad::Tensor<T>& w = this->params_[0].value;
  double a = static_cast<double>(this->params_[1].value[i]);
  for (int64_t j = 0; j < n_; ++j)
    if (j != i) a += 0.5 * (static_cast<double>(w.at(i, j)) + static_cast<double>(w.at(j, i))) * static_cast<double>(x[j]);
  return units_ == Units::spin ? 2.0 * a : a;
}

template class BoltzmannMachine<float>;
template class BoltzmannMachine<double>;

}  // namespace ebm
