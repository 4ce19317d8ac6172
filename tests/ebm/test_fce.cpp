// Flow contrastive estimation: the coupling flow's inverse (round trip, log-dets, gradients of the inverse's
// log-density), FCE's value against NCE's with the same Gaussian noise, gradient checks of θ, c and φ with the
// surrogate's sign convention, and a Gaussian model fitted by FCE.
#include <doctest/doctest.h>

#include "tape_helpers.hpp"

#include <cmath>
#include <functional>
#include <numbers>

#include <ebm/models/gaussian.hpp>
#include <ebm/objectives/fce.hpp>
#include <ebm/objectives/nce.hpp>
#include <ebm/optim/adam.hpp>
#include <ebm/optim/train_step.hpp>

using ad::Shape;
using ad::Tensor;
using G = ebm::GaussianEnergy<double>;
using V = std::vector<ad::Var<double>>;

namespace {

using tape_helpers::constants;
using tape_helpers::values;
using tape_helpers::gradient;




// A flow far from its identity start: every parameter moved by 0.5 N(0, 1).
std::vector<Tensor<double>> jittered(const ebm::CouplingFlow<double>& flow, ad::Rng& rng) {
  std::vector<Tensor<double>> params = values(flow.initial_params());
  for (auto& p : params)
    for (double& v : p) v += 0.5 * rng.normal();
  return params;
}

double term_of(const std::vector<ebm::Term>& terms, const std::string& name) {
  for (const ebm::Term& t : terms)
    if (t.name == name) return t.value;
  FAIL("no term " << name);
  return 0;
}

}  // namespace

TEST_CASE("coupling flow inverse: g⁻¹(g(z)) = z, g(g⁻¹(y)) = y and both report log|det ∂g/∂z| at z") {
  ad::Rng rng(21);
  for (int64_t d : {2, 3}) {
    const ebm::CouplingFlow<double> flow(d, 3, {8}, ebm::Activation::tanh, rng);
    const std::vector<Tensor<double>> params = jittered(flow, rng);
    Tensor<double> z(Shape{6, d});
    ad::fill_normal(z, rng);
    ad::Tape<double> tape;
    const V p = constants(tape, params);
    const ebm::FlowOutput<double> fwd = flow.forward(p, 0, tape.constant(z));
    const ebm::FlowOutput<double> inv = flow.inverse(p, 0, fwd.y);
    for (int64_t r = 0; r < z.rows(); ++r) {
      for (int64_t k = 0; k < d; ++k) CHECK(std::abs(inv.y.value().at(r, k) - z.at(r, k)) < 1e-12);
      CHECK(std::abs(inv.log_det.value()[r] - fwd.log_det.value()[r]) < 1e-12);
    }
    // The other way round, from arbitrary points y.
    Tensor<double> y(Shape{6, d});
    ad::fill_normal(y, rng);
    const ebm::FlowOutput<double> back = flow.inverse(p, 0, tape.constant(y));
    const ebm::FlowOutput<double> again = flow.forward(p, 0, back.y);
    for (int64_t r = 0; r < y.rows(); ++r) {
      for (int64_t k = 0; k < d; ++k) CHECK(std::abs(again.y.value().at(r, k) - y.at(r, k)) < 1e-12);
      CHECK(std::abs(again.log_det.value()[r] - back.log_det.value()[r]) < 1e-12);
    }
  }
}

TEST_CASE("coupling flow inverse: the log-density log N(g⁻¹(y)) − log|det| passes gradcheck in φ and in y") {
  ad::Rng rng(22);
  const ebm::CouplingFlow<double> flow(2, 2, {5}, ebm::Activation::tanh, rng);
  const std::vector<Tensor<double>> params = jittered(flow, rng);
  Tensor<double> y(Shape{4, 2});
  ad::fill_normal(y, rng);
  const auto log_q = [&](const V& p, const ad::Var<double>& pts) {
    const ebm::FlowOutput<double> inv = flow.inverse(p, 0, pts);
    return ad::sum(ad::sum(ad::square(inv.y), 1) * -0.5 - inv.log_det);
  };
  const ad::GradcheckReport rp = ad::gradcheck([&](ad::Tape<double>& tape, const V& p) { return log_q(p, tape.constant(y)); }, params);
  const ad::GradcheckReport ry = ad::gradcheck([&](ad::Tape<double>& tape, const V& in) { return log_q(constants(tape, params), in[0]); }, {y});
  INFO("φ: " << rp.str() << "\ny: " << ry.str());
  CHECK(rp.passed);
  CHECK(ry.passed);
}

TEST_CASE("fce with an affine flow is NCE with that Gaussian noise: the same loss on the same draws") {
  // With no couplings q_φ = N(loc, diag exp(2 log_scale)); NCE draws its noise as mean + L z from the same normal
  // stream, so both losses see the same points and must agree.
  ad::Rng rng(23);
  Tensor<double> x(Shape{10, 2});
  ad::fill_normal(x, rng);
  const G model = G::full(Tensor<double>(Shape{2}, {0.3, -0.2}), Tensor<double>(Shape{2, 2}, {1.2, 0.3, 0.3, 0.7}));
  ebm::FceOptions o;
  o.flow_layers = 0, o.noise_ratio = 2, o.init_log_z = 1.7;
  ebm::FlowContrastiveEstimation<double> fce(2, o);
  auto& extra = fce.extra_params();
  extra[1].value = Tensor<double>(Shape{2}, {0.5, -1.0});  // loc
  extra[2].value = Tensor<double>(Shape{2}, {0.2, -0.4});  // log_scale
  const Tensor<double> cov(Shape{2, 2}, {std::exp(0.4), 0.0, 0.0, std::exp(-0.8)});
  ebm::NoiseContrastiveEstimation<double> nce(ebm::GaussianNoise(Tensor<double>(Shape{2}, {0.5, -1.0}), cov), 2, 1.7);
  ad::Tape<double> tape;
  ad::Rng a(99), b(99);
  const ebm::LossAndGrad<double> lf = ebm::loss_and_grad(tape, model, fce, x, a);
  const ebm::LossAndGrad<double> ln = ebm::loss_and_grad(tape, model, nce, x, b);
  CHECK(lf.loss == doctest::Approx(ln.loss).epsilon(1e-12));
  for (const char* term : {"data_term", "noise_term", "accuracy"})
    CHECK(term_of(lf.terms, term) == doctest::Approx(term_of(ln.terms, term)).epsilon(1e-12));
  for (size_t i = 0; i < lf.grad_theta.size(); ++i)
    for (int64_t k = 0; k < lf.grad_theta[i].numel(); ++k) CHECK(lf.grad_theta[i][k] == doctest::Approx(ln.grad_theta[i][k]).epsilon(1e-10));
  CHECK(lf.grad_extra[0].item() == doctest::Approx(ln.grad_extra[0].item()).epsilon(1e-10));  // ∂/∂c
}

TEST_CASE("fce gradients: θ, c and φ pass gradcheck of L; the surrogate gives (∇θ L, ∇c L, −∇φ L) and the value L") {
  ad::Rng rng(24);
  Tensor<double> x(Shape{9, 2});
  ad::fill_normal(x, rng);
  const G model = G::full(Tensor<double>(Shape{2}, {0.3, -0.2}), Tensor<double>(Shape{2, 2}, {1.2, 0.3, 0.3, 0.7}));
  ebm::FceOptions o;
  o.noise_ratio = 7.0 / 9.0, o.flow_layers = 2, o.flow_hidden = {5}, o.init_seed = 4;
  ebm::FlowContrastiveEstimation<double> obj(2, o, &x);
  ad::Rng jitter(25);
  for (auto& p : obj.extra_params())
    for (double& v : p.value) v += 0.3 * jitter.normal();  // the couplings' last layers start at zero
  const std::vector<Tensor<double>> theta = values(model.params()), omega = values(obj.extra_params());
  ad::Rng draw(1234);
  Tensor<double> z(Shape{7, 2});
  ad::fill_normal(z, draw);  // what loss() draws first from the same seed: ν B = 7 rows
  const auto l = [&](ad::Tape<double>& tape, const V& th, const V& om) {
    ad::Rng unused(0);
    return obj.value(ebm::LossInput<double>{tape, model, th, om, x, unused}, z);
  };
  const auto of_theta = [&](ad::Tape<double>& tape, const V& th) { return l(tape, th, constants(tape, omega)); };
  const auto of_omega = [&](ad::Tape<double>& tape, const V& om) { return l(tape, constants(tape, theta), om); };
  const ad::GradcheckReport rt = ad::gradcheck(of_theta, theta), ro = ad::gradcheck(of_omega, omega);
  INFO("θ: " << rt.str() << "\n(c, φ): " << ro.str());
  CHECK(rt.passed);
  CHECK(ro.passed);

  ad::Tape<double> tape;
  ad::Rng same(1234);
  const ebm::LossAndGrad<double> lg = ebm::loss_and_grad(tape, model, obj, x, same);
  const auto gt = gradient(of_theta, theta), go = gradient(of_omega, omega);
  for (size_t i = 0; i < gt.size(); ++i)
    for (int64_t k = 0; k < gt[i].numel(); ++k) CHECK(lg.grad_theta[i][k] == doctest::Approx(gt[i][k]).epsilon(1e-10));
  CHECK(lg.grad_extra[0].item() == doctest::Approx(go[0].item()).epsilon(1e-10));  // c descends
  for (size_t i = 1; i < go.size(); ++i)
    for (int64_t k = 0; k < go[i].numel(); ++k) CHECK(lg.grad_extra[i][k] == doctest::Approx(-go[i][k]).epsilon(1e-10));  // φ ascends
  ad::Tape<double> t2;
  CHECK(lg.loss == doctest::Approx(l(t2, constants(t2, theta), constants(t2, omega)).item()).epsilon(1e-12));
  // gradcheck_value is L on the same draws.
  ad::Tape<double> t3;
  ad::Rng again(1234);
  const V th = constants(t3, theta), om = constants(t3, omega);
  CHECK(obj.gradcheck_value(ebm::LossInput<double>{t3, model, th, om, x, again}).item() == doctest::Approx(lg.loss).epsilon(1e-12));
}

TEST_CASE("fce fits a Gaussian model: mean, covariance and log Z of the data's N(m, Σ)" * doctest::test_suite("long")) {
  // Data from N(m, Σ) with correlation 0.6; a full-covariance Gaussian model, c learnt alongside. At the optimum
  // p_θ = p_data and c = log Z_θ whatever the flow (NCE is consistent for any noise covering the data).
  const Tensor<double> mean(Shape{2}, {1.0, -0.5}), cov(Shape{2, 2}, {1.0, 0.6, 0.6, 0.8});
  ad::Rng rng(26);
  const int64_t n = 4000;
  Tensor<double> x(Shape{n, 2});
  ad::fill_normal(x, rng);
  for (int64_t r = 0; r < n; ++r) {  // x = m + L u with L the Cholesky factor of Σ
    const double u0 = x.at(r, 0), u1 = x.at(r, 1), l11 = std::sqrt(0.8 - 0.36);
    x.at(r, 0) = mean[0] + u0, x.at(r, 1) = mean[1] + 0.6 * u0 + l11 * u1;
  }
  G model(2, G::Form::full);
  ebm::FceOptions o;
  o.flow_layers = 2, o.flow_hidden = {16}, o.init_seed = 5;
  ebm::FlowContrastiveEstimation<double> obj(2, o, &x);
  const int steps = 2000;
  ebm::AdamOptions ao;
  ao.beta1 = 0.5, ao.beta2 = 0.9;
  ebm::Adam<double> adam(ebm::cosine_lr(0.01, steps, 1e-4), ao);
  ebm::ShardedObjective<double> step(obj, 1);
  const ad::Rng step_rng(27);
  ad::Rng batch_rng(28);
  Tensor<double> batch(Shape{256, 2});
  for (int t = 0; t < steps; ++t) {
    for (int64_t r = 0; r < batch.rows(); ++r) {
      const int64_t i = static_cast<int64_t>(batch_rng.below(static_cast<uint64_t>(n)));
      batch.at(r, 0) = x.at(i, 0), batch.at(r, 1) = x.at(i, 1);
    }
    ebm::train_step(step, model, adam, batch, step_rng.split(static_cast<uint64_t>(t)));
  }
  const Tensor<double> m = model.mean(), c = model.covariance();
  MESSAGE("mean (" << m[0] << ", " << m[1] << "), cov (" << c.at(0, 0) << ", " << c.at(0, 1) << ", " << c.at(1, 1) << "), c "
                   << obj.log_z() << " vs log Z " << model.log_partition());
  // Tolerances: with n = 4000 the sample moments' SE is √(Σ_kk/n) ≤ 0.016 (means) and ≤ √(2/n) Σ_kk = 0.022
  // (covariances); NCE's estimator is less efficient than the MLE and the last steps' minibatches add noise, so
  // 0.1 (≈ 5 SE) on each; a model left at its N(0, I) start is ≥ 0.4 away in every checked quantity but one.
  for (int i = 0; i < 2; ++i) {
    CHECK(std::abs(m[i] - mean[i]) < 0.1);
    for (int k = 0; k < 2; ++k) CHECK(std::abs(c.at(i, k) - cov.at(i, k)) < 0.1);
  }
  // c estimates log Z_θ of the model it was trained with; 0.1 nats allows the same ≈ 5 SE.
  CHECK(std::abs(obj.log_z() - model.log_partition()) < 0.1);
}
