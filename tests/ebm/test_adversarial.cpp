// Adversarial (variational) training: gradient checks of both players' parts, the coupling flow's log-det
// against a numerical Jacobian, the sampler's fit to a fixed Gaussian energy (known answers: mean-field for the
// diagonal Gaussian, the full Gaussian for the flow), and joint training of a Gaussian model.
#include <doctest/doctest.h>

#include "tape_helpers.hpp"

#include <cmath>
#include <functional>
#include <numbers>

#include <ebm/models/gaussian.hpp>
#include <ebm/objectives/adversarial.hpp>
#include <ebm/optim/adam.hpp>
#include <ebm/optim/train_step.hpp>

using ad::Shape;
using ad::Tensor;
using G = ebm::GaussianEnergy<double>;
using V = std::vector<ad::Var<double>>;
using ebm::SamplerFamily;

namespace {

using tape_helpers::constants;
using tape_helpers::values;
using tape_helpers::gradient;

// The target: N(m, Σ) with correlation 0.6/√0.8 ≈ 0.67, so a diagonal q cannot match it.
const Tensor<double> kMean(Shape{2}, {1.0, -0.5});
const Tensor<double> kCov(Shape{2, 2}, {1.0, 0.6, 0.6, 0.8});

ebm::AdversarialOptions options(SamplerFamily family) {
  ebm::AdversarialOptions o;
  o.family = family;
  o.flow_layers = 4;
  o.flow_hidden = {16, 16};
  o.samples = 256;
  o.init_seed = 3;
  return o;
}




// Trains only the sampler's parameters against a fixed model (the inner max of the game: min_φ KL(q_φ‖p_θ)).
void fit_sampler(ebm::AdversarialTraining<double>& obj, const G& model, int steps, double lr) {
  ebm::Adam<double> adam(ebm::cosine_lr(lr, steps, 1e-4));
  ad::Tape<double> tape;
  ad::Rng rng(17);
  const Tensor<double> x(Shape{4, 2}, 0.0);  // the data term does not involve φ
  for (int t = 0; t < steps; ++t) {
    const ebm::LossAndGrad<double> lg = ebm::loss_and_grad(tape, model, obj, x, rng);
    std::vector<Tensor<double>*> ps;
    for (auto& p : obj.extra_params()) ps.push_back(&p.value);
    adam.step(ps, lg.grad_extra);
  }
}

struct Moments {
  Tensor<double> mean{Shape{2}, 0.0}, cov{Shape{2, 2}, 0.0};
};
Moments moments(const Tensor<double>& y) {
  Moments m;
  const double n = double(y.rows());
  for (int64_t r = 0; r < y.rows(); ++r)
    for (int i = 0; i < 2; ++i) m.mean[i] += y.at(r, i) / n;
  for (int64_t r = 0; r < y.rows(); ++r)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) m.cov.at(i, j) += (y.at(r, i) - m.mean[i]) * (y.at(r, j) - m.mean[j]) / n;
  return m;
}

}  // namespace

TEST_CASE("adversarial gradients: ∇θ and ∇φ of J pass gradcheck; the surrogate gives (∇θ J, −∇φ J)") {
  ad::Rng rng(5);
  Tensor<double> x(Shape{9, 2});
  ad::fill_normal(x, rng);
  const G model = G::full(kMean, kCov);
  for (SamplerFamily family : {SamplerFamily::gaussian, SamplerFamily::flow}) {
    ebm::AdversarialOptions o = options(family);
    o.samples = 7;
    o.flow_layers = 2;
    o.flow_hidden = {5};
    ebm::AdversarialTraining<double> obj(2, o, &x);
    // Move every parameter off its start (the flow's last layers start at zero) so no derivative is trivially 0.
    ad::Rng jitter(6);
    for (auto& p : obj.extra_params())
      for (double& v : p.value) v += 0.3 * jitter.normal();
    const std::vector<Tensor<double>> theta = values(model.params()), phi = values(obj.extra_params());
    ad::Rng draw(1234);
    Tensor<double> z(Shape{7, 2});
    ad::fill_normal(z, draw);  // what loss() draws first from the same seed
    const auto j = [&](ad::Tape<double>& tape, const V& th, const V& ph) {
      ad::Rng unused(0);
      return obj.bound(ebm::LossInput<double>{tape, model, th, ph, x, unused}, z);
    };
    const auto of_theta = [&](ad::Tape<double>& tape, const V& th) { return j(tape, th, constants(tape, phi)); };
    const auto of_phi = [&](ad::Tape<double>& tape, const V& ph) { return j(tape, constants(tape, theta), ph); };
    const ad::GradcheckReport rt = ad::gradcheck(of_theta, theta), rp = ad::gradcheck(of_phi, phi);
    INFO((family == SamplerFamily::gaussian ? "gaussian" : "flow") << "\nθ: " << rt.str() << "\nφ: " << rp.str());
    CHECK(rt.passed);
    CHECK(rp.passed);

    ad::Tape<double> tape;
    ad::Rng same(1234);
    const ebm::LossAndGrad<double> lg = ebm::loss_and_grad(tape, model, obj, x, same);
    const auto gt = gradient(of_theta, theta), gp = gradient(of_phi, phi);
    for (size_t i = 0; i < gt.size(); ++i)
      for (int64_t k = 0; k < gt[i].numel(); ++k) CHECK(lg.grad_theta[i][k] == doctest::Approx(gt[i][k]).epsilon(1e-10));
    for (size_t i = 0; i < gp.size(); ++i)
      for (int64_t k = 0; k < gp[i].numel(); ++k) CHECK(lg.grad_extra[i][k] == doctest::Approx(-gp[i][k]).epsilon(1e-10));
    ad::Tape<double> t2;
    CHECK(lg.loss == doctest::Approx(j(t2, constants(t2, theta), constants(t2, phi)).item()).epsilon(1e-12));  // value = J
  }
}

TEST_CASE("coupling flow: log|det ∂y/∂z| equals the log-determinant of a finite-difference Jacobian") {
  ad::Rng rng(11);
  const ebm::CouplingFlow<double> flow(2, 3, {8}, ebm::Activation::tanh, rng);
  std::vector<Tensor<double>> params = values(flow.initial_params());
  for (auto& p : params)
    for (double& v : p) v += 0.5 * rng.normal();  // a flow far from the identity
  Tensor<double> z(Shape{5, 2});
  ad::fill_normal(z, rng);
  const auto push = [&](const Tensor<double>& pts) {
    ad::Tape<double> tape;
    const ebm::FlowOutput<double> out = flow.forward(constants(tape, params), 0, tape.constant(pts));
    return std::pair{out.y.value(), out.log_det.value()};
  };
  const auto [y, log_det] = push(z);
  const double h = 1e-6;
  for (int64_t r = 0; r < z.rows(); ++r) {
    double jac[2][2];
    for (int c = 0; c < 2; ++c) {
      Tensor<double> zp = z, zm = z;
      zp.at(r, c) += h, zm.at(r, c) -= h;
      const Tensor<double> yp = push(zp).first, ym = push(zm).first;
      for (int i = 0; i < 2; ++i) jac[i][c] = (yp.at(r, i) - ym.at(r, i)) / (2 * h);
    }
    const double det = jac[0][0] * jac[1][1] - jac[0][1] * jac[1][0];
    CHECK(det > 0);  // each coupling is orientation-preserving
    CHECK(log_det[r] == doctest::Approx(std::log(std::abs(det))).epsilon(1e-7));  // central differences: O(h²) ≈ 1e-12
  }
  ad::Rng bad(1);
  CHECK_THROWS_AS(ebm::CouplingFlow<double>(1, 2, {4}, ebm::Activation::tanh, bad), std::invalid_argument);
}

TEST_CASE("adversarial sampler fits a fixed Gaussian energy: mean-field answer (diagonal), full answer (flow)" *
          doctest::test_suite("long")) {
  const G model = G::full(kMean, kCov);
  const Tensor<double> prec = model.precision();
  // Entropy of N(m, Σ): ½ log det(2πe Σ).
  const double det = kCov.at(0, 0) * kCov.at(1, 1) - kCov.at(0, 1) * kCov.at(1, 0);
  const double entropy = 0.5 * std::log(std::pow(2 * std::numbers::pi * std::numbers::e, 2) * det);

  SUBCASE("diagonal Gaussian q: mean m, variances 1/P_kk (the reverse-KL mean-field solution)") {
    ebm::AdversarialTraining<double> obj(2, options(SamplerFamily::gaussian));
    fit_sampler(obj, model, 1500, 0.05);
    const Tensor<double>& mean = obj.extra_params()[0].value;
    const Tensor<double>& log_std = obj.extra_params()[1].value;
    // Tolerance 0.02: the reparameterised gradient is unbiased, so what is left is the optimiser's noise from
    // the last few hundred steps of 256 draws each (observed offsets ≤ 0.008; 0.02 allows 2.5×). The answer differs from the marginal standard
    // deviations √Σ_kk (1, 0.89) by 0.26 and 0.23, so a q that fitted the marginals would fail.
    for (int k = 0; k < 2; ++k) {
      const double sd = std::exp(log_std[k]), target = 1 / std::sqrt(prec.at(k, k));
      MESSAGE("q dim " << k << ": mean " << mean[k] << " (target " << kMean[k] << "), sd " << sd << " (target " << target << ")");
      CHECK(std::abs(mean[k] - kMean[k]) < 0.02);
      CHECK(std::abs(sd - target) < 0.02);
    }
    ad::Rng rng(2);
    CHECK(obj.entropy(1, rng) == doctest::Approx(std::log(2 * std::numbers::pi * std::numbers::e) +
                                                 std::log(std::exp(log_std[0] + log_std[1]))));
  }

  SUBCASE("coupling flow q: the full Gaussian, correlation included") {
    ebm::AdversarialTraining<double> obj(2, options(SamplerFamily::flow));
    fit_sampler(obj, model, 1500, 0.01);
    ad::Rng rng(4);
    const int64_t n = 20000;
    const Moments m = moments(obj.sample(n, rng));
    const double h = obj.entropy(n, rng);
    // Sampling error of the checks with n = 20000: SE(mean) ≤ √(1/n) = 0.007, SE(cov_ij) ≤ √(2/n) = 0.01;
    // the flow is fitted by stochastic gradients with a finite network, so we allow 0.06 on means and
    // covariances and 0.05 nats on the entropy. The diagonal answer (covariance 0 off the diagonal, entropy
    // log(2πe) + log(0.742·0.663) = 2.35 vs 2.43) is outside these bounds, so the test tells them apart.
    std::string report = "flow q: mean (" + std::to_string(m.mean[0]) + ", " + std::to_string(m.mean[1]) + "), cov (" +
                         std::to_string(m.cov.at(0, 0)) + ", " + std::to_string(m.cov.at(0, 1)) + ", " + std::to_string(m.cov.at(1, 1)) +
                         "), entropy " + std::to_string(h) + " (target " + std::to_string(entropy) + ")";
    MESSAGE(report);
    for (int i = 0; i < 2; ++i) {
      CHECK(std::abs(m.mean[i] - kMean[i]) < 0.06);
      for (int k = 0; k < 2; ++k) CHECK(std::abs(m.cov.at(i, k) - kCov.at(i, k)) < 0.06);
    }
    CHECK(std::abs(h - entropy) < 0.05);
  }
}

TEST_CASE("adversarial joint training: a diagonal Gaussian model and q converge to the data's MLE") {
  // Data from N(m, diag(1, 0.8)). At the game's equilibrium q = p_θ and E_p[∇θE] = E_q[∇θE], i.e. θ matches the
  // data's moments: μ = x̄, σ_k = the sample sd (the MLE).
  ad::Rng rng(8);
  const int64_t n = 4000;
  Tensor<double> x(Shape{n, 2});
  ad::fill_normal(x, rng);
  for (int64_t r = 0; r < n; ++r) x.at(r, 0) = kMean[0] + x.at(r, 0), x.at(r, 1) = kMean[1] + std::sqrt(0.8) * x.at(r, 1);
  const Moments mle = moments(x);
  G model(2);
  ebm::AdversarialTraining<double> obj(2, options(SamplerFamily::gaussian));  // q starts at N(0, I), not at the data
  // The game is rotational in the means (μ moves along x̄ − m_q, m_q moves towards μ): Adam with β₁ = 0.9
  // spirals out (seen: μ ends 1.7 away), so as in GAN practice we use β₁ = 0.5, β₂ = 0.9.
  ebm::AdamOptions ao;
  ao.beta1 = 0.5;
  ao.beta2 = 0.9;
  ebm::Adam<double> adam(ebm::cosine_lr(0.01, 1500, 1e-4), ao);
  ebm::ShardedObjective<double> step(obj, 1);
  const ad::Rng step_rng(9);
  for (int t = 0; t < 1500; ++t) ebm::train_step(step, model, adam, x, step_rng.split(static_cast<uint64_t>(t)));
  // Tolerance: 5 SE of the MLE (SE(μ_k) = √(Σ_kk/n), SE(σ_k) = σ_k/√(2n)) plus the sampler's noise, which the
  // full-batch data term does not average: with 256 draws per step the θ-gradient's noise has SE √(Σ_kk/256),
  // but the decayed rate averages it over the last few hundred steps (≥ 16× fewer), so it adds < 1 SE.
  for (int k = 0; k < 2; ++k) {
    const double mu = model.param("mu")[k], sd = std::exp(model.param("log_sigma")[k]);
    const double sd_mle = std::sqrt(mle.cov.at(k, k));
    const double q_mean = obj.extra_params()[0].value[k], q_sd = std::exp(obj.extra_params()[1].value[k]);
    MESSAGE("dim " << k << ": model (" << mu << ", " << sd << "), q (" << q_mean << ", " << q_sd << "), MLE (" << mle.mean[k] << ", " << sd_mle << ")");
    const double se_mu = sd_mle / std::sqrt(double(n)), se_sd = sd_mle / std::sqrt(2.0 * n);
    CHECK(std::abs(mu - mle.mean[k]) < 6 * se_mu);
    CHECK(std::abs(sd - sd_mle) < 6 * se_sd);
    CHECK(std::abs(q_mean - mu) < 6 * se_mu);  // q tracks p_θ
    CHECK(std::abs(q_sd - sd) < 6 * se_sd);
  }
}
