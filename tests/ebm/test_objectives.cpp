// Objectives: values against closed forms on a Gaussian, and ∇θ of every objective against finite differences
// with the random draws held fixed (a fresh Rng with the same seed on every evaluation).
#include <doctest/doctest.h>

#include <cmath>

#include <ebm/models/classifier.hpp>
#include <ebm/models/composite.hpp>
#include <ebm/models/gaussian.hpp>
#include <ebm/models/mlp.hpp>
#include <ebm/models/rbm.hpp>
#include <ebm/objectives/contrastive_divergence.hpp>
#include <ebm/objectives/denoising.hpp>
#include <ebm/objectives/jem.hpp>
#include <ebm/objectives/nce.hpp>
#include <ebm/objectives/score_matching.hpp>
#include <ebm/objectives/sliced.hpp>

using ad::Shape;
using ad::Tensor;
using ad::Var;
using V = std::vector<Var<double>>;

namespace {

Tensor<double> normal(const Shape& s, uint64_t seed) {
  ad::Rng rng(seed, 3);
  Tensor<double> t(s);
  ad::fill_normal(t, rng);
  return t;
}

// gradcheck of θ ↦ loss(θ) (model parameters, then the objective's extra parameters), order 1 in float64.
// Stateful objectives (persistent chains) are reset to the same state before every evaluation.
void check_objective_gradient(const ebm::Energy<double>& model, ebm::Objective<double>& obj, const Tensor<double>& x,
                              const std::vector<int64_t>* labels = nullptr) {
  const std::vector<uint8_t> state = obj.save_state();
  std::vector<Tensor<double>> inputs;
  for (const auto& p : model.params()) inputs.push_back(p.value);
  for (const auto& p : obj.extra_params()) inputs.push_back(p.value);
  const size_t n_theta = model.params().size();
  const ad::GradcheckReport r = ad::gradcheck(
      [&](ad::Tape<double>& tape, const V& in) {
        ad::Rng rng(1234);  // the same noise/projections on every call: a deterministic function of θ
        obj.load_state(state);
        const V theta(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n_theta));
        const V extra(in.begin() + static_cast<std::ptrdiff_t>(n_theta), in.end());
        return obj.loss(ebm::LossInput<double>{tape, model, theta, extra, x, rng, labels}).value;
      },
      inputs);
  INFO(obj.name() << " on " << model.name() << "\n" << r.str());
  CHECK(r.passed);
}

std::vector<std::unique_ptr<ebm::Energy<double>>> gradcheck_models() {
  ad::Rng rng(21);
  std::vector<std::unique_ptr<ebm::Energy<double>>> m;
  auto g = std::make_unique<ebm::GaussianEnergy<double>>(2);
  g->param("mu") = Tensor<double>(Shape{2}, {0.3, -0.2});
  g->param("log_sigma") = Tensor<double>(Shape{2}, {0.1, -0.3});
  m.push_back(std::move(g));
  auto f = std::make_unique<ebm::GaussianEnergy<double>>(2, ebm::GaussianEnergy<double>::Form::full);
  f->param("L") = Tensor<double>(Shape{2, 2}, {1.1, 0.0, 0.3, 0.8});
  m.push_back(std::move(f));
  m.push_back(std::make_unique<ebm::MlpEnergy<double>>(2, std::vector<int64_t>{6, 5}, ebm::Activation::silu, rng));
  m.push_back(std::make_unique<ebm::GaussianBernoulliRbm<double>>(2, 3, rng, 0.9, true, 0.5));
  return m;
}

}  // namespace

TEST_CASE("score matching loss of a Gaussian equals its closed form") {
  // E = (x − μ)²/(2s²): ∇E = (x − μ)/s², ∇²E = 1/s², so J = mean[(x − μ)²/(2s⁴)] − 1/s².
  auto g = ebm::GaussianEnergy<double>::diagonal(Tensor<double>(Shape{1}, {0.4}), Tensor<double>(Shape{1}, {0.8}));
  const Tensor<double> x = normal(Shape{50, 1}, 1);
  double expect = 0;
  for (int64_t n = 0; n < 50; ++n) expect += (x[n] - 0.4) * (x[n] - 0.4) / (2 * std::pow(0.8, 4));
  expect = expect / 50 - 1 / 0.64;
  ad::Tape<double> tape;
  ad::Rng rng(0);
  ebm::ScoreMatching<double> sm;
  CHECK(ebm::loss_and_grad(tape, g, sm, x, rng).loss == doctest::Approx(expect).epsilon(1e-12));
  // SSM-VR with any projections: ½‖∇E‖² − vᵀHv, and vᵀHv = ‖v‖²/s²; with Rademacher v in 1-D, v² = 1 exactly.
  ebm::SlicedScoreMatching<double> vr(3, ebm::Projection::rademacher, true);
  CHECK(ebm::loss_and_grad(tape, g, vr, x, rng).loss == doctest::Approx(expect).epsilon(1e-12));
  ebm::SlicedScoreMatching<double> ssm(2, ebm::Projection::rademacher, false);
  CHECK(ebm::loss_and_grad(tape, g, ssm, x, rng).loss == doctest::Approx(expect).epsilon(1e-12));
  // Hutchinson with Rademacher probes is exact in 1-D as well.
  ebm::ScoreMatching<double> hutch(2);
  CHECK(ebm::loss_and_grad(tape, g, hutch, x, rng).loss == doctest::Approx(expect).epsilon(1e-12));
}

TEST_CASE("DSM: the control variate has zero mean and leaves the SM loss plus d/(2σ²)") {
  // For a Gaussian energy ∇E is linear, so the bracket of the control-variate estimator is exactly
  // ½[d/σ² + ‖∇E(x)‖² − 2 zᵀ∇²E z + σ²zᵀH²z] per sample (no O(σ) remainder beyond the last term):
  // its mean over z is the SM loss + d/(2σ²) + σ² tr(H²)/2.
  auto g = ebm::GaussianEnergy<double>::diagonal(Tensor<double>(Shape{2}, {0.4, -1.0}), Tensor<double>(Shape{2}, {0.8, 1.5}));
  const int64_t n = 20000;
  const Tensor<double> x = normal(Shape{n, 2}, 2);
  const double sigma = 0.05;
  ebm::DenoisingScoreMatching<double> cv(sigma, true);
  ad::Tape<double> tape;
  ad::Rng rng(5);
  const auto r = ebm::loss_and_grad(tape, g, cv, x, rng);
  ebm::ScoreMatching<double> sm;
  const double sm_loss = ebm::loss_and_grad(tape, g, sm, x, rng).loss;
  const double h0 = 1 / 0.64, h1 = 1 / 2.25;
  const double expect = sm_loss + 2 / (2 * sigma * sigma) + sigma * sigma * (h0 * h0 + h1 * h1) / 2;
  // The per-sample variance of −zᵀHz + σ²zᵀH²z/2 about its mean is Σ_k 2 h_k² (to O(σ²)) ≈ 6.3;
  // so the mean of n samples has SE √(6.3/n) ≈ 0.018; allow 5 SE.
  CHECK(std::abs(r.loss - expect) < 5 * std::sqrt(2 * (h0 * h0 + h1 * h1) / double(n)));
  // The variate itself: mean ½c has SE ≈ √(2 E‖∇E‖²/σ² + 2d/σ⁴)/(2√n) ≈ 0.09 here; allow 5 SE.
  CHECK(std::abs(r.terms[1].value) < 5 * std::sqrt(2 * 2.5 / (sigma * sigma) + 4 / std::pow(sigma, 4)) / (2 * std::sqrt(double(n))));
}

TEST_CASE("every objective's θ-gradient passes gradcheck with fixed random draws") {
  const Tensor<double> x = normal(Shape{6, 2}, 4);
  for (const auto& model : gradcheck_models()) {
    ebm::ScoreMatching<double> sm;
    check_objective_gradient(*model, sm, x);
    ebm::ScoreMatching<double> hutch(2);
    check_objective_gradient(*model, hutch, x);
    ebm::DenoisingScoreMatching<double> dsm(0.3), dsm_cv(0.05, true);
    check_objective_gradient(*model, dsm, x);
    check_objective_gradient(*model, dsm_cv, x);
    for (auto kind : {ebm::Projection::gaussian, ebm::Projection::rademacher, ebm::Projection::sphere}) {
      ebm::SlicedScoreMatching<double> ssm(2, kind, false);
      check_objective_gradient(*model, ssm, x);
    }
    ebm::SlicedScoreMatching<double> vr(2, ebm::Projection::gaussian, true);
    check_objective_gradient(*model, vr, x);
    ebm::NoiseContrastiveEstimation<double> nce(x, 1.5, 1.2, 0.3);
    check_objective_gradient(*model, nce, x);
    // Maximum likelihood: the negatives are drawn with θ's current values as constants, so with the draws
    // fixed the surrogate's gradient is E_data ∇θE − E_samples ∇θE (+ the regulariser's).
    ebm::NegativeOptions cd_k;
    cd_k.steps = 3;
    ebm::ContrastiveDivergence<double> cd(ebm::NegativePhase<double>(ebm::mala_sampler<double>({.step_size = 0.1}), cd_k, 1), 0.1);
    check_objective_gradient(*model, cd, x);
    ebm::ContrastiveDivergence<double> cd_hmc(ebm::NegativePhase<double>(ebm::hmc_sampler<double>({.step_size = 0.1, .leapfrog_steps = 3}), cd_k, 1));
    check_objective_gradient(*model, cd_hmc, x);
    ebm::NegativeOptions pcd = cd_k;
    pcd.start = ebm::ChainStart::persistent, pcd.count = 4, pcd.buffer.capacity = 9, pcd.buffer.reinit_prob = 0.3;
    ebm::ContrastiveDivergence<double> replay(ebm::NegativePhase<double>(ebm::langevin_sampler<double>({.step_size = 0.05}), pcd, 2), 0.2);
    ad::Tape<double> warm;
    ad::Rng warm_rng(3);
    ebm::loss_and_grad(warm, *model, replay, x, warm_rng);  // chains in mid-flight, not at their start
    check_objective_gradient(*model, replay, x);
    // Improved CD: the last Langevin step is on the tape, so ∇θ also flows through x_K(θ) into E_{sg θ}(x_K) and
    // the nearest-neighbour entropy (neighbours: the other chains from the data, or the pool before the draw).
    ebm::ContrastiveDivergence<double> icd(ebm::NegativePhase<double>(ebm::langevin_sampler<double>({.step_size = 0.05}), cd_k, 1), 0.1,
                                           {.enabled = true, .weight = 0.7, .entropy = true});
    check_objective_gradient(*model, icd, x);
    ebm::ContrastiveDivergence<double> icd_pool(ebm::NegativePhase<double>(ebm::langevin_sampler<double>({.step_size = 0.05}), pcd, 2), 0.0,
                                                {.enabled = true, .weight = 1.3, .entropy = true});
    ebm::loss_and_grad(warm, *model, icd_pool, x, warm_rng);
    check_objective_gradient(*model, icd_pool, x);
  }
  {  // An RBM with Gibbs negatives on binary data; JEM with labels.
    ad::Rng rng(5);
    ebm::BernoulliRbm<double> rbm(3, 2, rng, 0.5);
    const Tensor<double> v(Shape{5, 3}, {1, 0, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0});
    ebm::NegativeOptions o;
    o.steps = 2;
    ebm::ContrastiveDivergence<double> cd(ebm::NegativePhase<double>(ebm::gibbs_sampler<double>(), o, 1));
    check_objective_gradient(rbm, cd, v);
    ebm::ClassifierEnergy<double> clf(2, {5}, 3, ebm::Activation::silu, rng);
    const std::vector<int64_t> y = {0, 2, 1, 1, 0, 2};
    ebm::JointEnergyModel<double> jem(ebm::NegativePhase<double>(ebm::langevin_sampler<double>({.step_size = 0.05}), o, 1), 0.7, 0.1);
    check_objective_gradient(clf, jem, x, &y);
  }
  // The ladder, on noise-conditional energies of both kinds.
  ad::Rng rng(8);
  using NC = ebm::NoiseConditionalEnergy<double>;
  NC col(std::make_unique<ebm::MlpEnergy<double>>(3, std::vector<int64_t>{5}, ebm::Activation::softplus, rng), NC::Conditioning::input_column, 0.1);
  NC scale(std::make_unique<ebm::MlpEnergy<double>>(2, std::vector<int64_t>{5}, ebm::Activation::tanh, rng), NC::Conditioning::scale, 0.1);
  ebm::MultiScaleDenoisingScoreMatching<double> ladder(ebm::geometric_sigmas(1.0, 0.1, 4));
  NC both(std::make_unique<ebm::MlpEnergy<double>>(3, std::vector<int64_t>{5}, ebm::Activation::silu, rng), NC::Conditioning::column_and_scale, 0.1);
  check_objective_gradient(col, ladder, x);
  check_objective_gradient(scale, ladder, x);
  check_objective_gradient(both, ladder, x);
}

TEST_CASE("objective argument checks") {
  CHECK_THROWS_AS(ebm::SlicedScoreMatching<double>(1, ebm::Projection::sphere, true), std::invalid_argument);
  CHECK_NOTHROW(ebm::SlicedScoreMatching<double>(1, ebm::Projection::rademacher, true));
  CHECK_THROWS_AS(ebm::DenoisingScoreMatching<double>(0.0), std::invalid_argument);
  ebm::GaussianEnergy<double> g(2);
  ebm::MultiScaleDenoisingScoreMatching<double> ladder({1.0, 0.5});
  ad::Tape<double> tape;
  ad::Rng rng(0);
  CHECK_THROWS_AS(ebm::loss_and_grad(tape, g, ladder, normal(Shape{3, 2}, 1), rng), std::invalid_argument);
  const auto s = ebm::geometric_sigmas(1.0, 0.01, 3);
  CHECK(s[1] == doctest::Approx(0.1).epsilon(1e-14));
  // Sphere projections have norm √d.
  ad::Rng r2(3);
  const Tensor<double> v = ebm::draw_projections<double>(Shape{4, 3}, ebm::Projection::sphere, r2);
  for (int64_t n = 0; n < 4; ++n)
    CHECK(v.at(n, 0) * v.at(n, 0) + v.at(n, 1) * v.at(n, 1) + v.at(n, 2) * v.at(n, 2) == doctest::Approx(3.0).epsilon(1e-13));
}

TEST_CASE("NCE: the fitted noise reproduces the data moments, and its density is normalised") {
  const Tensor<double> x = normal(Shape{1000, 2}, 9);
  const ebm::GaussianNoise q = ebm::GaussianNoise::fit(x, 2.0);
  double m0 = 0;
  for (int64_t n = 0; n < 1000; ++n) m0 += x.at(n, 0);
  CHECK(q.mean()[0] == doctest::Approx(m0 / 1000).epsilon(1e-12));
  // log q of the fitted Gaussian equals that of the same GaussianEnergy normalised analytically.
  const auto g = ebm::GaussianEnergy<double>::full(q.mean(), q.covariance());
  const Tensor<double> pts = normal(Shape{3, 2}, 10);
  const Tensor<double> lq = q.log_density(pts), e = g.evaluate(pts);
  for (int64_t n = 0; n < 3; ++n) CHECK(lq[n] == doctest::Approx(-e[n] - g.log_partition()).epsilon(1e-12));
}

TEST_CASE("objectives in float32 agree with float64") {
  // Same data, parameters and random draws (the Rng produces doubles, rounded to float): the losses and
  // gradients agree to float32 rounding, amplified by the O(10) condition of the losses here; 1e-4 relative.
  ad::Rng r1(3), r2(3);
  ebm::MlpEnergy<double> md(2, {8}, ebm::Activation::softplus, r1);
  ebm::MlpEnergy<float> mf(2, {8}, ebm::Activation::softplus, r2);
  const Tensor<double> x = normal(Shape{16, 2}, 5);
  const auto run = [&](auto& model, auto& obj, const auto& data) {
    using T = typename std::decay_t<decltype(data)>::value_type;
    ad::Tape<T> tape;
    ad::Rng rng(77);
    return ebm::loss_and_grad(tape, model, obj, data, rng);
  };
  ebm::ScoreMatching<double> smd;
  ebm::ScoreMatching<float> smf;
  const auto a = run(md, smd, x);
  const auto b = run(mf, smf, x.cast<float>());
  CHECK(double(b.loss) == doctest::Approx(a.loss).epsilon(1e-4));
  CHECK(double(b.grad_theta[0][3]) == doctest::Approx(a.grad_theta[0][3]).epsilon(1e-4));
  ebm::SlicedScoreMatching<double> ssd(1, ebm::Projection::gaussian);
  ebm::SlicedScoreMatching<float> ssf(1, ebm::Projection::gaussian);
  CHECK(double(run(mf, ssf, x.cast<float>()).loss) == doctest::Approx(run(md, ssd, x).loss).epsilon(1e-4));
  ebm::DenoisingScoreMatching<double> dd(0.1, true);
  ebm::DenoisingScoreMatching<float> df(0.1, true);
  CHECK(double(run(mf, df, x.cast<float>()).loss) == doctest::Approx(run(md, dd, x).loss).epsilon(1e-4));
}
