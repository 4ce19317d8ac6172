// Statistical recovery: Gaussian energies fitted with Adam by every objective recover the generating
// parameters within tolerances derived from the sample size.
//
// Reference scales (N samples): the MLE's standard errors are SE(μ_k) = √(Σ_kk/N), SE(σ) = σ/√(2N) in 1-D,
// SE(Σ̂_ij) = √((Σ_ii Σ_jj + Σ_ij²)/N). Every estimator here is consistent and asymptotically normal with a
// variance at most a small multiple of the MLE's:
//   * exact SM on a Gaussian is the MLE (its stationarity conditions are x̄ = μ and S = Σ);
//   * SSM with fresh projections each step is at worst SM weighted by v² (with v fixed, variance ×E[v⁴] = 3
//     for Gaussian v, i.e. SE ×√3); SSM-VR with Rademacher projections in 1-D is exactly SM;
//   * DSM with the control variate targets Σ + σ²I (it fits the noised data) with SE ×√2 at most for
//     the scale (the ‖z‖² fluctuation adds a relative variance 2/N to the fitted variance);
//   * CD with an exact MCMC kernel (MALA) started at the data: the negatives' mean gradient vanishes exactly
//     when the model equals the data's law, so its fixed point is the MLE's; the negatives add sampling noise
//     of the same size as the data's, which the decaying rate averages over hundreds of steps;
//   * NCE with noise equal to the data distribution has asymptotic covariance (1 + 1/ν)× the MLE's
//     (Gutmann & Hyvärinen 2012), ×2 for ν = 1, i.e. SE ×√2;
//   * LSD with an affine critic f(x) = Wᵀx + b: the critic's best reply on the data is the empirical projection f̂
//     of s_θ − s_q on affine maps, and max_f J = λ mean‖f̂‖², which is 0 iff mean[s_θᵀ f + tr ∇ₓf] = 0 for every
//     affine f: f = e_k gives mean s_θ = 0 (μ = x̄), f = x_j e_k gives Σ⁻¹ S = I (Σ = S), score matching's
//     stationarity conditions; so the game's minimiser is the MLE, and what is left is optimisation error.
// Hence a bound of 5 SE leaves ≥ 2.9 standard deviations of the estimator for the worst case (√3), a false
// alarm rate below 0.4% per check; the seeds are fixed, so the test is deterministic.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include <ebm/models/gaussian.hpp>
#include <ebm/objectives/contrastive_divergence.hpp>
#include <ebm/objectives/denoising.hpp>
#include <ebm/objectives/lsd.hpp>
#include <ebm/objectives/nce.hpp>
#include <ebm/objectives/score_matching.hpp>
#include <ebm/objectives/sliced.hpp>
#include <ebm/optim/adam.hpp>
#include <ebm/optim/train_step.hpp>

using ad::Shape;
using ad::Tensor;
using G = ebm::GaussianEnergy<double>;

namespace {

constexpr int64_t kN = 4000;
constexpr double kMu = 1.5, kSigma = 0.7;
const Tensor<double> kMu2(Shape{2}, {1.0, -0.5});
const Tensor<double> kCov2(Shape{2, 2}, {1.0, 0.6, 0.6, 0.8});

Tensor<double> data_1d() {
  ad::Rng rng(2024, 1);
  Tensor<double> x(Shape{kN, 1});
  ad::fill_normal(x, rng, kMu, kSigma);
  return x;
}

Tensor<double> data_2d() {
  ad::Rng rng(2024, 2);
  Tensor<double> z(Shape{kN, 2}), x(Shape{kN, 2});
  ad::fill_normal(z, rng);
  const Tensor<double> c = ebm::cholesky(kCov2);
  for (int64_t n = 0; n < kN; ++n)
    for (int i = 0; i < 2; ++i) x.at(n, i) = kMu2[i] + c.at(i, 0) * z.at(n, 0) + (i == 1 ? c.at(1, 1) * z.at(n, 1) : 0.0);
  return x;
}

// Full-batch Adam with a cosine-decayed rate (the decay averages out the objectives' own noise at the end).
void fit(ebm::Energy<double>& model, ebm::Objective<double>& obj, const Tensor<double>& x, int steps, double lr,
         uint64_t seed) {
  ebm::Adam<double> adam(ebm::cosine_lr(lr, steps));
  ebm::ShardedObjective<double> step(obj, 1);
  const ad::Rng rng(seed);
  for (int t = 0; t < steps; ++t) ebm::train_step(step, model, adam, x, rng.split(static_cast<uint64_t>(t)));
}

struct Moments1 {
  double mean, sd;  // the MLE
};
Moments1 moments(const Tensor<double>& x) {
  double m = 0, v = 0;
  for (int64_t n = 0; n < x.rows(); ++n) m += x[n];
  m /= double(x.rows());
  for (int64_t n = 0; n < x.rows(); ++n) v += (x[n] - m) * (x[n] - m);
  return {m, std::sqrt(v / double(x.rows()))};
}

// Fits the diagonal 1-D model, checks μ and σ against the truth (σ_target for DSM) within 5 SE.
G check_1d(ebm::Objective<double>& obj, double sigma_target, int steps = 600) {
  const Tensor<double> x = data_1d();
  G model(1);
  fit(model, obj, x, steps, 0.05, 7);
  const double mu = model.param("mu")[0], sd = std::exp(model.param("log_sigma")[0]);
  const double se_mu = kSigma / std::sqrt(double(kN)), se_sd = kSigma / std::sqrt(2.0 * kN);
  const Moments1 mle = moments(x);
  MESSAGE(obj.name() << " 1-D: mu = " << mu << " (truth " << kMu << ", MLE " << mle.mean << ", SE " << se_mu << "), sigma = "
                     << sd << " (target " << sigma_target << ", MLE " << mle.sd << ", SE " << se_sd << ")");
  CHECK(std::abs(mu - kMu) < 5 * se_mu);
  CHECK(std::abs(sd - sigma_target) < 5 * se_sd);
  return model;
}

// Fits the full 2-D model, checks μ and Σ entrywise against the truth (+σ²I for DSM) within 5 SE.
G check_2d(ebm::Objective<double>& obj, double dsm_sigma, int steps = 800) {
  const Tensor<double> x = data_2d();
  G model(2, G::Form::full);
  fit(model, obj, x, steps, 0.05, 8);
  const Tensor<double> mu = model.mean(), cov = model.covariance();
  std::string report = obj.name() + " 2-D:";
  for (int i = 0; i < 2; ++i) {
    const double se = std::sqrt(kCov2.at(i, i) / double(kN));
    report += " mu" + std::to_string(i) + " = " + std::to_string(mu[i]) + " (SE " + std::to_string(se) + ")";
    CHECK(std::abs(mu[i] - kMu2[i]) < 5 * se);
    for (int j = 0; j < 2; ++j) {
      const double target = kCov2.at(i, j) + (i == j ? dsm_sigma * dsm_sigma : 0.0);
      const double se_c = std::sqrt((kCov2.at(i, i) * kCov2.at(j, j) + kCov2.at(i, j) * kCov2.at(i, j)) / double(kN));
      report += " cov" + std::to_string(i) + std::to_string(j) + " = " + std::to_string(cov.at(i, j)) + " (target " +
                std::to_string(target) + ", SE " + std::to_string(se_c) + ")";
      CHECK(std::abs(cov.at(i, j) - target) < 5 * se_c);
    }
  }
  MESSAGE(report);
  return model;
}

}  // namespace

TEST_CASE("sign convention: the score −∇ₓE of the Gaussian energy is −(x − μ)/σ²") {
  const G g = G::diagonal(Tensor<double>(Shape{1}, {kMu}), Tensor<double>(Shape{1}, {kSigma}));
  const Tensor<double> x(Shape{2, 1}, {0.2, 3.0});
  const Tensor<double> s = g.score(x);
  for (int n = 0; n < 2; ++n) CHECK(s[n] == doctest::Approx(-(x[n] - kMu) / (kSigma * kSigma)).epsilon(1e-14));
}

TEST_CASE("recovery: exact score matching (= the MLE for a Gaussian)") {
  ebm::ScoreMatching<double> sm;
  const G m = check_1d(sm, kSigma);
  // SM's minimiser is the MLE itself; what is left is optimisation error, required to be < 0.1 SE.
  const Moments1 mle = moments(data_1d());
  CHECK(std::abs(m.param("mu")[0] - mle.mean) < 0.1 * kSigma / std::sqrt(double(kN)));
  CHECK(std::abs(std::exp(m.param("log_sigma")[0]) - mle.sd) < 0.1 * kSigma / std::sqrt(2.0 * kN));
  ebm::ScoreMatching<double> sm2;
  check_2d(sm2, 0.0);
}

TEST_CASE("recovery: sliced score matching (Gaussian projections) and SSM-VR (Rademacher)" * doctest::test_suite("long")) {
  ebm::SlicedScoreMatching<double> ssm(1, ebm::Projection::gaussian, false);
  check_1d(ssm, kSigma);
  check_2d(ssm, 0.0);
  ebm::SlicedScoreMatching<double> vr(1, ebm::Projection::rademacher, true);
  check_1d(vr, kSigma);
  check_2d(vr, 0.0);
}

TEST_CASE("recovery: denoising score matching at σ = 0.02 with the control variate") {
  const double s = 0.02;
  ebm::DenoisingScoreMatching<double> dsm(s, true);
  check_1d(dsm, std::sqrt(kSigma * kSigma + s * s));
  check_2d(dsm, s);
}

TEST_CASE("DSM control variate: the θ-gradient variance at σ = 0.02 drops by orders of magnitude") {
  // 1-D Gaussian model at the truth: per sample ∂ℓ/∂μ = −(1/s²)[(x̃ − μ)/s² − z/σ] without the variate, whose
  // variance is ≈ 1/(s⁴σ²); with it, −(x̃ − μ)/s⁴, variance ≈ (s² + σ²)/s⁸. The ratio is ≈ s²/σ² ≈ 1225 here;
  // require > 100 from 40 gradient draws of the full batch.
  const Tensor<double> x = data_1d();
  const G g = G::diagonal(Tensor<double>(Shape{1}, {kMu}), Tensor<double>(Shape{1}, {kSigma}));
  double var[2];
  for (int cv = 0; cv < 2; ++cv) {
    ebm::DenoisingScoreMatching<double> dsm(0.02, cv == 1);
    ad::Tape<double> tape;
    ad::Rng rng(99);
    double s1 = 0, s2 = 0;
    for (int k = 0; k < 40; ++k) {
      const double d = ebm::loss_and_grad(tape, g, dsm, x, rng).grad_theta[0][0];
      s1 += d, s2 += d * d;
    }
    var[cv] = s2 / 40 - (s1 / 40) * (s1 / 40);
  }
  CHECK(var[0] > 100 * var[1]);
}

TEST_CASE("recovery: NCE with noise fitted to the data, and its learnt log Z" * doctest::test_suite("long")) {
  // log Z checks. Truth: 1-D log Z = log σ + ½ log 2π, whose MLE SE is SE(log σ̂) = 1/√(2N); 2-D
  // log Z = log 2π + ½ log det Σ with SE(½ log det Σ̂) = √(d/(2N)) (Var log det S ≈ 2d/N). The ×√2 of NCE and
  // the 5-SE margin as above.
  // Self-consistency: c − log Z(θ̂). Linearising the NCE estimating equations with g = ∇_(η,c) log p_model =
  // (T(x), −1) and M = E[ggᵀ]: M e_c = −E[g], so the first-order variance of c − log Z(η̂) (direction
  // a = −E[g]) is (1 + 1/ν)(aᵀM⁻¹a − (aᵀM⁻¹a)²)/N = 0. The error is O(1/N); 1/√N (one SE of a log-density
  // scale) is therefore a conservative bound.
  const Tensor<double> x1 = data_1d();
  ebm::NoiseContrastiveEstimation<double> nce1(x1, 1.0);
  const G m1 = check_1d(nce1, kSigma, 800);
  const double lz1_true = std::log(kSigma) + 0.5 * std::log(2 * std::numbers::pi);
  MESSAGE("nce 1-D: learnt log Z = " << nce1.log_z() << ", analytic at fit = " << m1.log_partition() << ", truth = " << lz1_true);
  CHECK(std::abs(nce1.log_z() - m1.log_partition()) < 1 / std::sqrt(double(kN)));
  CHECK(std::abs(nce1.log_z() - lz1_true) < 5 * std::sqrt(2.0) / std::sqrt(2.0 * kN));

  const Tensor<double> x2 = data_2d();
  ebm::NoiseContrastiveEstimation<double> nce2(x2, 1.0);
  const G m2 = check_2d(nce2, 0.0, 1000);
  const double det = kCov2.at(0, 0) * kCov2.at(1, 1) - kCov2.at(0, 1) * kCov2.at(0, 1);
  const double lz2_true = std::log(2 * std::numbers::pi) + 0.5 * std::log(det);
  MESSAGE("nce 2-D: learnt log Z = " << nce2.log_z() << ", analytic at fit = " << m2.log_partition() << ", truth = " << lz2_true);
  CHECK(std::abs(nce2.log_z() - m2.log_partition()) < 1 / std::sqrt(double(kN)));
  CHECK(std::abs(nce2.log_z() - lz2_true) < 5 * std::sqrt(2.0) * std::sqrt(2.0 / (2.0 * kN)));
}

TEST_CASE("recovery: contrastive divergence with MALA (CD-5 from the data) and PCD" * doctest::test_suite("long")) {
  samplers::MalaOptions mala;
  mala.step_size = 0.3;
  ebm::NegativeOptions o;
  o.steps = 5;
  ebm::ContrastiveDivergence<double> cd(ebm::NegativePhase<double>(ebm::mala_sampler<double>(mala), o, 1));
  check_1d(cd, kSigma);
  check_2d(cd, 0.0);
  // PCD: 4000 persistent chains from N(0, 2²), five MALA steps per update.
  o.start = ebm::ChainStart::persistent;
  o.buffer.noise = samplers::InitNoise::normal, o.buffer.sd = 2.0;
  ebm::ContrastiveDivergence<double> pcd(ebm::NegativePhase<double>(ebm::mala_sampler<double>(mala), o, 2));
  check_1d(pcd, kSigma);
}

TEST_CASE("recovery: learned Stein discrepancy with an affine critic (its minimiser is the MLE)") {
  // λ = 0.5 and an inner rate equal to the run's: the critic (5 updates per model update) tracks its best reply.
  ebm::LsdOptions o;
  o.hidden = {}, o.lambda = 0.5, o.critic_lr = 0.05;
  ebm::LearnedSteinDiscrepancy<double> lsd(1, o);
  check_1d(lsd, kSigma);
  ebm::LearnedSteinDiscrepancy<double> lsd2(2, o);
  check_2d(lsd2, 0.0);
}
