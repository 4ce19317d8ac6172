// Learned Stein discrepancy: the value at the optimal critic against the closed form Fisher/(4λ) for Gaussians
// (lsd.hpp, Note [LSD and the Fisher divergence]), an MLP critic trained by the inner steps approaching it, and
// gradient checks of both players' parts with the draws fixed.
#include <doctest/doctest.h>

#include "tape_helpers.hpp"

#include <cmath>
#include <string>

#include <autodiff/gradcheck.hpp>
#include <ebm/models/gaussian.hpp>
#include <ebm/models/mlp.hpp>
#include <ebm/objectives/lsd.hpp>

using ad::Shape;
using ad::Tensor;
using G = ebm::GaussianEnergy<double>;
using V = std::vector<ad::Var<double>>;

namespace {

using tape_helpers::constants;
using tape_helpers::values;



Tensor<double> gaussian_rows(int64_t n, double mean, double sd, uint64_t seed) {
  ad::Rng rng(seed, 7);
  Tensor<double> x(Shape{n, 1});
  ad::fill_normal(x, rng, mean, sd);
  return x;
}

// 1-D: p = N(mp, sp²) (the model), q = N(mq, sq²) (the data). With x = mq + sq z,
//   s_p − s_q = −(x − mp)/sp² + (x − mq)/sq² = (mp − mq)/sp² + z (1/sq − sq/sp²),
// so E_q (s_p − s_q)² = ((mp − mq)/sp²)² + (1/sq − sq/sp²)², and f* = (s_p − s_q)/(2λ) = a x + b with
// a = (1/sq² − 1/sp²)/(2λ), b = (mp/sp² − mq/sq²)/(2λ).
constexpr double kMp = 0.5, kSp = 1.0, kMq = 0.0, kSq = 1.5;
double fisher_1d() {
  const double shift = (kMp - kMq) / (kSp * kSp), scale = 1 / kSq - kSq / (kSp * kSp);
  return shift * shift + scale * scale;
}

// The standard error of the mean of the per-row values of J at f* (computed here from the closed-form scores).
double se_at_optimum_1d(const Tensor<double>& x, double lambda) {
  const double a = (1 / (kSq * kSq) - 1 / (kSp * kSp)) / (2 * lambda), b = (kMp / (kSp * kSp) - kMq / (kSq * kSq)) / (2 * lambda);
  const int64_t n = x.rows();
  double m = 0, m2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double f = a * x[i] + b, v = -(x[i] - kMp) / (kSp * kSp) * f + a - lambda * f * f;
    m += v / double(n), m2 += v * v / double(n);
  }
  return std::sqrt((m2 - m * m) / double(n));
}

}  // namespace

TEST_CASE("LSD at the optimal critic f* = (s_p − s_q)/(2λ) equals the Fisher divergence over 4λ (1-D Gaussians)") {
  const double lambda = 0.5;
  const Tensor<double> x = gaussian_rows(200000, kMq, kSq, 1);
  const G model = G::diagonal(Tensor<double>(Shape{1}, {kMp}), Tensor<double>(Shape{1}, {kSp}));
  const double expected = fisher_1d() / (4 * lambda), se = se_at_optimum_1d(x, lambda);
  const double a = (1 / (kSq * kSq) - 1 / (kSp * kSp)) / (2 * lambda), b = (kMp / (kSp * kSp) - kMq / (kSq * kSq)) / (2 * lambda);
  SUBCASE("the functional for a given f, exact trace and Hutchinson") {
    for (bool exact : {true, false}) {
      ad::Tape<double> tape;
      ad::Rng rng(3);
      const ad::Var<double> xv = tape.variable(x);
      const ad::Var<double> f = ad::affine(xv, a, b);
      const ebm::SteinRows<double> r =
          ebm::stein_rows(tape.constant(model.score(x)), f, xv, exact, 1, ad::Probe::rademacher, rng, false);
      const double j = ad::mean(r.stein).item() - lambda * ad::mean(r.penalty).item();
      MESSAGE(std::string(exact ? "exact" : "hutchinson") << ": J(f*) = " << j << ", Fisher/(4 lambda) = " << expected << ", SE " << se);
      CHECK(std::abs(j - expected) < 4 * se);
      // In 1-D a Rademacher probe is ±1, so Hutchinson's estimate of the 1×1 trace is exact: both agree.
      CHECK(ad::mean(r.trace).item() == doctest::Approx(a).epsilon(1e-12));
    }
  }
  SUBCASE("the objective with an affine critic set to f*") {
    ebm::LsdOptions o;
    o.lambda = lambda, o.hidden = {}, o.critic_steps = 1;
    ebm::LearnedSteinDiscrepancy<double> lsd(1, o);
    REQUIRE(lsd.extra_params().size() == 2);  // f(x) = x W + b
    lsd.extra_params()[0].value[0] = a;
    lsd.extra_params()[1].value[0] = b;
    ad::Tape<double> tape;
    ad::Rng rng(4);
    const ebm::LossAndGrad<double> lg = ebm::loss_and_grad(tape, model, lsd, x, rng);
    const double j = lg.terms.at(0).value;
    MESSAGE("objective: lsd = " << j << ", Fisher/(4 lambda) = " << expected << ", SE " << se);
    CHECK(lg.loss == doctest::Approx(j).epsilon(1e-12));
    CHECK(std::abs(j - expected) < 4 * se);
  }
}

TEST_CASE("LSD, 2-D Gaussians with full covariances: J(f*) = (tr(D Σq D) + ‖Σp⁻¹(μp − μq)‖²)/(4λ), D = Σq⁻¹ − Σp⁻¹") {
  const double lambda = 2.0;
  const Tensor<double> mp(Shape{2}, {0.4, -0.3}), cp(Shape{2, 2}, {1.0, 0.3, 0.3, 0.5});
  const Tensor<double> mq(Shape{2}, {0.0, 0.2}), cq(Shape{2, 2}, {1.5, -0.4, -0.4, 0.9});
  const auto inverse = [](const Tensor<double>& c) {
    const double det = c[0] * c[3] - c[1] * c[2];
    return Tensor<double>(Shape{2, 2}, {c[3] / det, -c[1] / det, -c[2] / det, c[0] / det});
  };
  const Tensor<double> pi = inverse(cp), qi = inverse(cq);
  double D[2][2], A[2][2], c[2], u[2];  // D = Σq⁻¹ − Σp⁻¹; f*(x) = A x + c; u = Σp⁻¹(μp − μq)
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) D[i][j] = qi.at(i, j) - pi.at(i, j), A[i][j] = D[i][j] / (2 * lambda);
    c[i] = 0, u[i] = 0;
    for (int j = 0; j < 2; ++j) c[i] += (pi.at(i, j) * mp[j] - qi.at(i, j) * mq[j]) / (2 * lambda), u[i] += pi.at(i, j) * (mp[j] - mq[j]);
  }
  double tr = 0;  // tr(D Σq D)
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k) tr += D[i][j] * cq.at(j, k) * D[k][i];
  const double expected = (tr + u[0] * u[0] + u[1] * u[1]) / (4 * lambda);

  const int64_t n = 200000;
  ad::Rng rng(5);
  Tensor<double> z(Shape{n, 2}), x(Shape{n, 2});
  ad::fill_normal(z, rng);
  const double l00 = std::sqrt(cq[0]), l10 = cq[2] / l00, l11 = std::sqrt(cq[3] - l10 * l10);
  for (int64_t r = 0; r < n; ++r) x.at(r, 0) = mq[0] + l00 * z.at(r, 0), x.at(r, 1) = mq[1] + l10 * z.at(r, 0) + l11 * z.at(r, 1);
  // Per-row values of J at f*, from the closed-form scores, for the standard error.
  double m = 0, m2 = 0;
  for (int64_t r = 0; r < n; ++r) {
    double v = A[0][0] + A[1][1];  // tr ∇ₓf* = tr A
    for (int i = 0; i < 2; ++i) {
      double sp = 0, f = c[i];
      for (int j = 0; j < 2; ++j) sp -= pi.at(i, j) * (x.at(r, j) - mp[j]), f += A[i][j] * x.at(r, j);
      v += sp * f - lambda * f * f;
    }
    m += v / double(n), m2 += v * v / double(n);
  }
  const double se = std::sqrt((m2 - m * m) / double(n));

  const G model = G::full(mp, cp);
  for (ebm::SteinTrace trace : {ebm::SteinTrace::exact, ebm::SteinTrace::hutchinson}) {
    ebm::LsdOptions o;
    o.lambda = lambda, o.hidden = {}, o.critic_steps = 1, o.trace = trace, o.probe = ad::Probe::rademacher;
    ebm::LearnedSteinDiscrepancy<double> lsd(2, o);
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 2; ++j) lsd.extra_params()[0].value.at(j, i) = A[i][j];  // row-vector layer: f = x W + b, W = Aᵀ
      lsd.extra_params()[1].value[i] = c[i];
    }
    ad::Tape<double> tape;
    ad::Rng draws(6);
    const ebm::LossAndGrad<double> lg = ebm::loss_and_grad(tape, model, lsd, x, draws);
    const double j = lg.terms.at(0).value;
    // Hutchinson adds the probes' variance: with Rademacher probes vᵀAv − tr A = 2 A01 v0 v1, of sd 2|A01|/√n.
    const double tol = 4 * std::sqrt(se * se + (trace == ebm::SteinTrace::exact ? 0.0 : 4 * A[0][1] * A[0][1] / double(n)));
    MESSAGE("2-D " << std::string(trace == ebm::SteinTrace::exact ? "exact" : "hutchinson") << ": lsd = " << j << ", closed form " << expected
                   << ", tolerance " << tol);
    CHECK(std::abs(j - expected) < tol);
  }
}

TEST_CASE("LSD: an MLP critic trained by the inner steps approaches Fisher/(4λ) from below") {
  // 1000 inner Adam steps on 4000 rows, then J evaluated on fresh rows: the MLP cannot beat the optimum beyond
  // sampling noise, and a trained one gets within 5% of it (an approximation error, not a sampling one: the tanh
  // network has to bend into the line f*).
  const double lambda = 0.5;
  const G model = G::diagonal(Tensor<double>(Shape{1}, {kMp}), Tensor<double>(Shape{1}, {kSp}));
  ebm::LsdOptions o;
  o.lambda = lambda, o.hidden = {16}, o.activation = ebm::Activation::tanh, o.critic_steps = 1000, o.critic_lr = 0.01;
  ebm::LearnedSteinDiscrepancy<double> lsd(1, o);
  const Tensor<double> train = gaussian_rows(4000, kMq, kSq, 11);
  ad::Tape<double> tape;
  ad::Rng rng(12);
  (void)ebm::loss_and_grad(tape, model, lsd, train, rng);
  REQUIRE(!lsd.critic_offset().empty());
  const Tensor<double> fresh = gaussian_rows(200000, kMq, kSq, 13);
  ad::Tape<double> t2;
  const V theta = constants(t2, values(model.params())), omega = constants(t2, values(lsd.extra_params()));
  ad::Rng unused(0);
  const double j = lsd.gradcheck_value(ebm::LossInput<double>{t2, model, theta, omega, fresh, unused}).item();
  const double expected = fisher_1d() / (4 * lambda), se = se_at_optimum_1d(fresh, lambda);
  MESSAGE("trained MLP critic: J = " << j << " on fresh rows, Fisher/(4 lambda) = " << expected << ", SE " << se);
  CHECK(j < expected + 4 * se);
  CHECK(j > 0.95 * expected - 4 * se);
}

TEST_CASE("LSD gradients: ∇θ and ∇ω of J pass gradcheck; the surrogate gives (∇θ J, −∇ω J) at the critic f_{ω+Δ}") {
  ad::Rng rng(21);
  Tensor<double> x(Shape{7, 2});
  ad::fill_normal(x, rng);
  std::vector<std::unique_ptr<ebm::Energy<double>>> models;
  models.push_back(std::make_unique<G>(G::full(Tensor<double>(Shape{2}, {0.3, -0.2}), Tensor<double>(Shape{2, 2}, {1.2, 0.3, 0.3, 0.7}))));
  models.push_back(std::make_unique<ebm::MlpEnergy<double>>(2, std::vector<int64_t>{6, 5}, ebm::Activation::silu, rng));
  for (const auto& model : models)
    for (ebm::SteinTrace trace : {ebm::SteinTrace::exact, ebm::SteinTrace::hutchinson})
      for (int steps : {1, 3}) {
        ebm::LsdOptions o;
        o.lambda = 0.7, o.hidden = {5}, o.activation = ebm::Activation::tanh, o.trace = trace, o.probes = 2, o.critic_steps = steps;
        o.critic_lr = 0.05;
        ebm::LearnedSteinDiscrepancy<double> lsd(2, o);
        // The surrogate's gradient, after the inner steps have moved the critic's offset Δ.
        ad::Tape<double> tape;
        ad::Rng draws(1234);
        const ebm::LossAndGrad<double> lg = ebm::loss_and_grad(tape, *model, lsd, x, draws);
        CHECK(lsd.critic_offset().empty() == (steps == 1));
        // J as a function of θ and of ω (Δ now fixed), with the joint step's probes: the inner steps drew theirs
        // first (Hutchinson), so the function replays the generator up to where the joint step began.
        ad::Rng replay(1234);
        if (trace == ebm::SteinTrace::hutchinson)
          for (int s = 1; s < steps; ++s) {
            Tensor<double> skip(Shape{7, 2});
            for (int p = 0; p < o.probes; ++p) ad::fill_normal(skip, replay);
          }
        const std::vector<Tensor<double>> theta = values(model->params()), omega = values(lsd.extra_params());
        const auto j = [&](ad::Tape<double>& t, const V& th, const V& om) {
          ad::Rng r = replay;
          return lsd.gradcheck_value(ebm::LossInput<double>{t, *model, th, om, x, r});
        };
        const auto of_theta = [&](ad::Tape<double>& t, const V& th) { return j(t, th, constants(t, omega)); };
        const auto of_omega = [&](ad::Tape<double>& t, const V& om) { return j(t, constants(t, theta), om); };
        const ad::GradcheckReport rt = ad::gradcheck(of_theta, theta), ro = ad::gradcheck(of_omega, omega);
        INFO(model->name() << (trace == ebm::SteinTrace::exact ? " exact" : " hutchinson") << " critic_steps " << steps << "\nθ: " << rt.str()
                           << "\nω: " << ro.str());
        CHECK(rt.passed);
        CHECK(ro.passed);
        ad::Tape<double> t2;
        const V th = constants(t2, theta);
        V om;
        for (const auto& w : omega) om.push_back(t2.variable(w));
        const ad::Var<double> jo = j(t2, th, om);
        const auto go = ad::grad<double>({jo}, om);
        for (size_t i = 0; i < go.size(); ++i)
          for (int64_t k = 0; k < go[i].numel(); ++k) CHECK(lg.grad_extra[i][k] == doctest::Approx(-go[i].value()[k]).epsilon(1e-10));
        ad::Tape<double> t3;
        V tv;
        for (const auto& w : theta) tv.push_back(t3.variable(w));
        const ad::Var<double> jt = j(t3, tv, constants(t3, omega));
        const auto gt = ad::grad<double>({jt}, tv);
        for (size_t i = 0; i < gt.size(); ++i)
          for (int64_t k = 0; k < gt[i].numel(); ++k) CHECK(lg.grad_theta[i][k] == doctest::Approx(gt[i].value()[k]).epsilon(1e-10));
        CHECK(lg.loss == doctest::Approx(jt.item()).epsilon(1e-12));  // value = J
      }
}

TEST_CASE("LSD state: the critic offset and the inner optimiser survive save/load; a resumed objective continues exactly") {
  ad::Rng rng(31);
  Tensor<double> x(Shape{6, 2});
  ad::fill_normal(x, rng);
  const G model = G::full(Tensor<double>(Shape{2}, {0.1, 0.2}), Tensor<double>(Shape{2, 2}, {1.0, 0.2, 0.2, 0.6}));
  ebm::LsdOptions o;
  o.hidden = {4}, o.critic_steps = 3, o.critic_lr = 0.05, o.trace = ebm::SteinTrace::hutchinson;
  ebm::LearnedSteinDiscrepancy<double> a(2, o);
  CHECK(a.save_state().empty());
  ad::Tape<double> tape;
  ad::Rng r1(1);
  (void)ebm::loss_and_grad(tape, model, a, x, r1);
  const std::vector<uint8_t> blob = a.save_state();
  CHECK(!blob.empty());
  ebm::LearnedSteinDiscrepancy<double> b(2, o);
  b.load_state(blob);
  ad::Rng r2(2), r3(2);
  const ebm::LossAndGrad<double> la = ebm::loss_and_grad(tape, model, a, x, r2), lb = ebm::loss_and_grad(tape, model, b, x, r3);
  CHECK(la.loss == lb.loss);
  for (size_t i = 0; i < la.grad_extra.size(); ++i)
    for (int64_t k = 0; k < la.grad_extra[i].numel(); ++k) CHECK(la.grad_extra[i][k] == lb.grad_extra[i][k]);
  std::vector<uint8_t> cut(blob.begin(), blob.end() - 8);
  CHECK_THROWS_AS(b.load_state(cut), std::runtime_error);
  b.load_state({});
  CHECK(b.critic_offset().empty());
}

TEST_CASE("LSD argument checks") {
  ebm::LsdOptions o;
  CHECK_THROWS_AS(ebm::LearnedSteinDiscrepancy<double>(0, o), std::invalid_argument);
  o.lambda = 0;
  CHECK_THROWS_AS(ebm::LearnedSteinDiscrepancy<double>(2, o), std::invalid_argument);
  o.lambda = 1, o.critic_steps = 0;
  CHECK_THROWS_AS(ebm::LearnedSteinDiscrepancy<double>(2, o), std::invalid_argument);
  o.critic_steps = 1, o.probes = 0;
  CHECK_THROWS_AS(ebm::LearnedSteinDiscrepancy<double>(2, o), std::invalid_argument);
  o.probes = 1;
  CHECK(o.exact_trace(ebm::kLsdExactTraceMaxDim));
  CHECK(!o.exact_trace(ebm::kLsdExactTraceMaxDim + 1));
}
