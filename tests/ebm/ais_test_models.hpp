#pragma once
// The models of the AIS tests (test_ais.cpp: forward; test_ais_reverse.cpp: reverse and the sandwich), whose exact
// log Z is known: a 12 × 6 Bernoulli RBM (enumeration) and a 2-D Gaussian mixture energy (log Z = log_c, checked
// by quadrature in test_ais.cpp).
#include <cmath>
#include <numbers>
#include <vector>

#include <autodiff/autodiff.hpp>
#include <ebm/eval/ais.hpp>
#include <ebm/models/rbm.hpp>
#include <samplers/energy.hpp>

namespace ais_test {

using ad::Shape;
using ad::Tensor;

// A 12 × 6 Bernoulli RBM with weights large enough for a rugged, correlated distribution (W ~ N(0, 1)).
inline ebm::BernoulliRbm<double> test_rbm() {
  ad::Rng rng(11);
  ebm::BernoulliRbm<double> rbm(12, 6, rng, 1.0);
  ad::fill_uniform(rbm.param("b"), rng, -1.0, 1.0);
  ad::fill_uniform(rbm.param("c"), rng, -1.0, 1.0);
  return rbm;
}

// A 2-D mixture of three Gaussians with unequal weights and covariances (isotropic per component).
struct Mixture {
  Tensor<double> means{Shape{3, 2}, {-2.0, 0.0, 2.0, 1.0, 0.5, -2.5}};
  Tensor<double> stds{Shape{3}, {0.5, 0.8, 0.4}};
  std::vector<double> weights{0.5, 0.3, 0.2};
  double log_c = 1.7;  // E = −log p − log_c, so log Z = log_c exactly

  // E(x) = −log Σ_k π_k N(x; μ_k, s_k² I) − log_c, on the tape.
  samplers::BatchEnergy<double> energy() const {
    return [this](ad::Tape<double>& tape, const ad::Var<double>& x) {
      const int64_t b = x.shape()[0];
      std::vector<ad::Var<double>> rows;
      for (int64_t k = 0; k < 3; ++k) {
        Tensor<double> mu(Shape{2}, {means.at(k, 0), means.at(k, 1)});
        const double s = stds[k];
        const double log_norm = std::log(weights[size_t(k)]) - std::log(2 * std::numbers::pi * s * s);
        const ad::Var<double> l = log_norm - 0.5 / (s * s) * ad::sum(ad::square(x - tape.constant(mu)), 1);
        rows.push_back(ad::reshape(l, Shape{1, b}));
      }
      return -ad::logsumexp(ad::concat_rows(rows), 0) - log_c;
    };
  }
};

inline ebm::ContinuousAisOptions mixture_options() {
  ebm::ContinuousAisOptions o;
  o.chains = 256;
  o.steps = 1000;
  o.base_mean = {0.0, 0.0};
  o.base_std = {2.5, 2.5};
  o.step_size = 0.5;
  o.seed = 3;
  return o;
}

}  // namespace ais_test
