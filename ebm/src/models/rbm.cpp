#include "ebm/models/rbm.hpp"

#include "models/rbm_layers.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace ebm {
namespace {

template <class T>
ad::Tensor<T> bernoulli(const ad::Tensor<T>& p, ad::Rng& rng) {
  ad::Tensor<T> s(p.shape());
  for (int64_t i = 0; i < p.numel(); ++i) s[i] = rng.uniform() < static_cast<double>(p[i]) ? T(1) : T(0);
  return s;
}

template <class T>
void check_cols(const char* what, const ad::Tensor<T>& t, int64_t cols) {
  if (t.rank() != 2 || t.cols() != cols)
    throw ad::ShapeError(std::string(what) + ": expected [B, " + std::to_string(cols) + "], got " + t.shape().str());
}

template <class T>
std::vector<Param<T>> rbm_params(int64_t nv, int64_t nh, ad::Rng& rng, double init_std) {
  if (nv < 1 || nh < 1) throw std::invalid_argument("RBM: needs at least one visible and one hidden unit");
  ad::Tensor<T> w(ad::Shape{nv, nh});
  ad::fill_normal(w, rng, T(0), static_cast<T>(init_std));
  return {{"W", std::move(w)}, {"b", ad::Tensor<T>(ad::Shape{nv}, T(0))}, {"c", ad::Tensor<T>(ad::Shape{nh}, T(0))}};
}

}  // namespace

// ---- Bernoulli–Bernoulli ----

template <class T>
BernoulliRbm<T>::BernoulliRbm(int64_t visible, int64_t hidden, ad::Rng& rng, double init_std) : nv_(visible), nh_(hidden) {
  this->params_ = rbm_params<T>(visible, hidden, rng, init_std);
}

template <class T>
ad::Var<T> BernoulliRbm<T>::energy(const std::vector<ad::Var<T>>& p, const ad::Var<T>& v) const {
  this->check_call(p, v);
  return -ad::sum(v * p[1], 1) - ad::sum(ad::softplus(ad::matmul(v, p[0]) + p[2]), 1);
}

template <class T>
ad::Var<T> BernoulliRbm<T>::joint_energy(const std::vector<ad::Var<T>>& p, const ad::Var<T>& v, const ad::Var<T>& h) const {
  this->check_call(p, v);
  return -ad::sum(v * p[1], 1) - ad::sum(h * p[2], 1) - ad::sum(ad::matmul(v, p[0]) * h, 1);
}

// The layer products: delta products for 0/1 states, dense ones otherwise (models/rbm_layers.hpp).
template <class T>
ad::Tensor<T> BernoulliRbm<T>::hidden_preactivation(const ad::Tensor<T>& v) const {
  check_cols("BernoulliRbm::hidden_preactivation", v, nv_);
  return detail::RbmLayers<T>(*this).hidden_pre(v, false);
}

template <class T>
ad::Tensor<T> BernoulliRbm<T>::hidden_probs(const ad::Tensor<T>& v) const {
  check_cols("BernoulliRbm::hidden_probs", v, nv_);
  return detail::RbmLayers<T>(*this).hidden_mean(v);
}

template <class T>
ad::Tensor<T> BernoulliRbm<T>::visible_probs(const ad::Tensor<T>& h) const {
  check_cols("BernoulliRbm::visible_probs", h, nh_);
  return detail::RbmLayers<T>(*this).visible_mean(h);
}

template <class T>
double BernoulliRbm<T>::accumulate_free_energy_grad(const ad::Tensor<T>& v, double coef, std::vector<ad::Tensor<T>>& grads) const {
  if (grads.size() != 3 || grads[0].shape() != this->param("W").shape() || grads[1].numel() != nv_ || grads[2].numel() != nh_)
    throw ad::ShapeError("BernoulliRbm::accumulate_free_energy_grad: grads must be shaped like W, b, c");
  check_cols("BernoulliRbm::accumulate_free_energy_grad", v, nv_);
  const detail::RbmLayers<T> layers(*this);
  const ad::Tensor<T> a = layers.hidden_pre(v, false);
  std::vector<ad::Tensor<T>> g;
  for (const ad::Tensor<T>& t : grads) g.emplace_back(t.shape());
  const double total = layers.free_energy_grad({{&v, &a, coef}}, g)[0];
  for (size_t k = 0; k < 3; ++k)
    for (int64_t i = 0; i < g[k].numel(); ++i) grads[k][i] += g[k][i];
  return total;
}

template <class T>
ad::Tensor<T> BernoulliRbm<T>::sample_hidden(const ad::Tensor<T>& v, ad::Rng& rng) const {
  return bernoulli(hidden_probs(v), rng);
}

template <class T>
ad::Tensor<T> BernoulliRbm<T>::sample_visible(const ad::Tensor<T>& h, ad::Rng& rng) const {
  return bernoulli(visible_probs(h), rng);
}

template <class T>
ad::Tensor<T> BernoulliRbm<T>::gibbs_step(const ad::Tensor<T>& v, ad::Rng& rng) const {
  return sample_visible(sample_hidden(v, rng), rng);
}

// ---- Gaussian–Bernoulli ----

template <class T>
GaussianBernoulliRbm<T>::GaussianBernoulliRbm(int64_t visible, int64_t hidden, ad::Rng& rng, double sigma,
                                              bool learn_sigma, double init_std)
    : nv_(visible), nh_(hidden), learn_sigma_(learn_sigma), fixed_sigma_(sigma) {
  if (!(sigma > 0)) throw std::invalid_argument("GaussianBernoulliRbm: sigma must be positive");
  this->params_ = rbm_params<T>(visible, hidden, rng, init_std);
  if (learn_sigma) this->params_.push_back({"log_sigma", ad::Tensor<T>(ad::Shape{visible}, static_cast<T>(std::log(sigma)))});
}

template <class T>
ad::Var<T> GaussianBernoulliRbm<T>::inv_var(const std::vector<ad::Var<T>>& p, ad::Tape<T>& tape) const {
  if (learn_sigma_) return ad::exp(-2.0 * p[3]);
  return tape.constant(ad::Shape{nv_}, static_cast<T>(1.0 / (fixed_sigma_ * fixed_sigma_)));
}

template <class T>
ad::Var<T> GaussianBernoulliRbm<T>::energy(const std::vector<ad::Var<T>>& p, const ad::Var<T>& v) const {
  this->check_call(p, v);
  const ad::Var<T> iv = inv_var(p, v.tape());
  const ad::Var<T> quad = 0.5 * ad::sum(ad::square(v - p[1]) * iv, 1);
  return quad - ad::sum(ad::softplus(ad::matmul(v * iv, p[0]) + p[2]), 1);
}

template <class T>
ad::Var<T> GaussianBernoulliRbm<T>::joint_energy(const std::vector<ad::Var<T>>& p, const ad::Var<T>& v,
                                                 const ad::Var<T>& h) const {
  this->check_call(p, v);
  const ad::Var<T> iv = inv_var(p, v.tape());
  const ad::Var<T> quad = 0.5 * ad::sum(ad::square(v - p[1]) * iv, 1);
  return quad - ad::sum(ad::matmul(v * iv, p[0]) * h, 1) - ad::sum(h * p[2], 1);
}

template <class T>
ad::Tensor<T> GaussianBernoulliRbm<T>::sigma() const {
  if (!learn_sigma_) return ad::Tensor<T>(ad::Shape{nv_}, static_cast<T>(fixed_sigma_));
  ad::Tensor<T> s = this->param("log_sigma");
  for (T& x : s) x = static_cast<T>(std::exp(static_cast<double>(x)));
  return s;
}

template <class T>
ad::Tensor<T> GaussianBernoulliRbm<T>::hidden_probs(const ad::Tensor<T>& v) const {
  check_cols("GaussianBernoulliRbm::hidden_probs", v, nv_);
  ad::Tape<T> tape;
  typename ad::Tape<T>::NoGrad no_grad(tape);
  const auto p = bind_params(tape, this->params_, Bind::constant);
  return ad::sigmoid(ad::matmul(tape.constant(v) * inv_var(p, tape), p[0]) + p[2]).value();
}

template <class T>
ad::Tensor<T> GaussianBernoulliRbm<T>::visible_mean(const ad::Tensor<T>& h) const {
  check_cols("GaussianBernoulliRbm::visible_mean", h, nh_);
  ad::Tape<T> tape;
  typename ad::Tape<T>::NoGrad no_grad(tape);
  const auto p = bind_params(tape, this->params_, Bind::constant);
  return (ad::matmul(tape.constant(h), p[0], false, true) + p[1]).value();
}

template <class T>
ad::Tensor<T> GaussianBernoulliRbm<T>::sample_hidden(const ad::Tensor<T>& v, ad::Rng& rng) const {
  return bernoulli(hidden_probs(v), rng);
}

template <class T>
ad::Tensor<T> GaussianBernoulliRbm<T>::sample_visible(const ad::Tensor<T>& h, ad::Rng& rng) const {
  ad::Tensor<T> v = visible_mean(h);
  const ad::Tensor<T> s = sigma();
  for (int64_t r = 0; r < v.rows(); ++r)
    for (int64_t i = 0; i < nv_; ++i) v.at(r, i) += static_cast<T>(static_cast<double>(s[i]) * rng.normal());
  return v;
}

template <class T>
ad::Tensor<T> GaussianBernoulliRbm<T>::gibbs_step(const ad::Tensor<T>& v, ad::Rng& rng) const {
  return sample_visible(sample_hidden(v, rng), rng);
}

template class BernoulliRbm<float>;
template class BernoulliRbm<double>;
template class GaussianBernoulliRbm<float>;
template class GaussianBernoulliRbm<double>;

}  // namespace ebm
