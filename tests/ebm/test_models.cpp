// Models: sign conventions, closed forms (Gaussian score and log Z, RBM free energy and conditionals, Boltzmann
// conditionals, classifier energies), and derivatives of every energy in x and θ against finite differences.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include <ebm/models/boltzmann.hpp>
#include <ebm/models/classifier.hpp>
#include <ebm/models/composite.hpp>
#include <ebm/models/gaussian.hpp>
#include <ebm/models/mlp.hpp>
#include <ebm/models/rbm.hpp>
#include <ebm/models/sampling.hpp>
#include <samplers/gibbs.hpp>
#include <samplers/langevin.hpp>

using ad::Shape;
using ad::Tensor;
using ad::Var;
using V = std::vector<Var<double>>;

namespace {

Tensor<double> uniform(const Shape& s, double lo, double hi, uint64_t seed) {
  ad::Rng rng(seed, 7);
  Tensor<double> t(s);
  ad::fill_uniform(t, rng, lo, hi);
  return t;
}

// ∇ in x and θ (orders 1 and 2, so also the mixed ∂²E/∂x∂θ that score matching differentiates) of Σ_n E(x_n).
void check_energy_derivatives(const ebm::Energy<double>& model, const Tensor<double>& x, int order = 2) {
  std::vector<Tensor<double>> inputs{x};
  for (const auto& p : model.params()) inputs.push_back(p.value);
  ad::GradcheckOptions opt;
  opt.order = order;
  const ad::GradcheckReport r = ad::gradcheck(
      [&](ad::Tape<double>&, const V& in) { return ad::sum(model.energy(V(in.begin() + 1, in.end()), in[0])); }, inputs, opt);
  INFO(model.name() << "\n" << r.str());
  CHECK(r.passed);
}

}  // namespace

TEST_CASE("Gaussian energy: score sign, closed forms") {
  // μ = 1.5, σ = 0.7: E = (x − μ)²/(2σ²), so −∇E = −(x − μ)/σ² (the model score points back to μ).
  const auto g = ebm::GaussianEnergy<double>::diagonal(Tensor<double>(Shape{1}, {1.5}), Tensor<double>(Shape{1}, {0.7}));
  const Tensor<double> x(Shape{3, 1}, {-1.0, 1.5, 2.3});
  const Tensor<double> s = g.score(x);
  for (int64_t n = 0; n < 3; ++n) CHECK(s[n] == doctest::Approx(-(x[n] - 1.5) / 0.49).epsilon(1e-14));
  const Tensor<double> e = g.evaluate(x);
  CHECK(e[0] == doctest::Approx(6.25 / 0.98).epsilon(1e-14));
  CHECK(g.log_partition() == doctest::Approx(std::log(0.7) + 0.5 * std::log(2 * std::numbers::pi)).epsilon(1e-14));

  // Full form: the given covariance comes back, and the score is −Σ⁻¹(x − μ).
  const Tensor<double> cov(Shape{2, 2}, {1.0, 0.6, 0.6, 0.8});
  const auto f = ebm::GaussianEnergy<double>::full(Tensor<double>(Shape{2}, {1.0, -0.5}), cov);
  const Tensor<double> c = f.covariance();
  for (int64_t i = 0; i < 4; ++i) CHECK(c[i] == doctest::Approx(cov[i]).epsilon(1e-12));
  const Tensor<double> p = ebm::spd_inverse(cov);
  const Tensor<double> xf(Shape{1, 2}, {0.3, 0.4});
  const Tensor<double> sf = f.score(xf);
  const double r0 = 0.3 - 1.0, r1 = 0.4 + 0.5;
  CHECK(sf[0] == doctest::Approx(-(p.at(0, 0) * r0 + p.at(0, 1) * r1)).epsilon(1e-12));
  CHECK(sf[1] == doctest::Approx(-(p.at(1, 0) * r0 + p.at(1, 1) * r1)).epsilon(1e-12));
  const double det = 1.0 * 0.8 - 0.36;  // log Z = log 2π + ½ log det Σ
  CHECK(f.log_partition() == doctest::Approx(std::log(2 * std::numbers::pi) + 0.5 * std::log(det)).epsilon(1e-12));
  // The upper triangle of L does not act.
  auto f2 = f;
  f2.param("L").at(0, 1) = 5.0;
  CHECK(f2.evaluate(xf)[0] == doctest::Approx(f.evaluate(xf)[0]).epsilon(1e-15));
}

TEST_CASE("energies: derivatives in x and θ match finite differences") {
  ad::Rng rng(11);
  const Tensor<double> x2 = uniform(Shape{4, 2}, -1.5, 1.5, 1);
  check_energy_derivatives(ebm::GaussianEnergy<double>(2), x2);
  auto full = ebm::GaussianEnergy<double>(2, ebm::GaussianEnergy<double>::Form::full);
  full.param("L") = Tensor<double>(Shape{2, 2}, {1.2, 0.0, -0.4, 0.9});
  check_energy_derivatives(full, x2);
  for (auto act : {ebm::Activation::tanh, ebm::Activation::silu, ebm::Activation::softplus, ebm::Activation::sigmoid})
    check_energy_derivatives(ebm::MlpEnergy<double>(2, {5, 4}, act, rng), x2);
  check_energy_derivatives(ebm::GaussianBernoulliRbm<double>(2, 3, rng, 0.8, true, 0.5), x2);
  check_energy_derivatives(ebm::BernoulliRbm<double>(2, 3, rng, 0.5), x2);
  check_energy_derivatives(ebm::ClassifierEnergy<double>(2, {6}, 3, ebm::Activation::silu, rng), x2);
  ebm::BoltzmannMachine<double> bm(Tensor<double>(Shape{2, 2}, {0, 0.7, 0.7, 0}), Tensor<double>(Shape{2}, {0.1, -0.3}));
  check_energy_derivatives(bm, x2);
}

TEST_CASE("MLP: relu warning for second-order objectives only") {
  CHECK(ebm::score_matching_warning(ebm::Activation::relu, true).has_value());
  CHECK_FALSE(ebm::score_matching_warning(ebm::Activation::relu, false).has_value());
  CHECK_FALSE(ebm::score_matching_warning(ebm::Activation::silu, true).has_value());
  ad::Rng rng(1);
  CHECK(ebm::score_matching_warning<double>(ebm::MlpEnergy<double>(2, {4}, ebm::Activation::relu, rng), true).has_value());
  CHECK_FALSE(ebm::score_matching_warning<double>(ebm::GaussianEnergy<double>(2), true).has_value());
  CHECK(ebm::activation_from_string("softplus") == ebm::Activation::softplus);
  CHECK_THROWS_AS(ebm::activation_from_string("gelu"), std::invalid_argument);
}

TEST_CASE("Bernoulli RBM: free energy is −log Σ_h exp(−E(v, h)); conditionals are joint-energy ratios") {
  ad::Rng rng(3);
  ebm::BernoulliRbm<double> rbm(3, 2, rng, 0.8);
  rbm.param("b") = Tensor<double>(Shape{3}, {0.2, -0.4, 0.1});
  rbm.param("c") = Tensor<double>(Shape{2}, {-0.3, 0.5});
  const Tensor<double> v(Shape{2, 3}, {1, 0, 1, 0, 1, 1});
  const Tensor<double> f = rbm.evaluate(v);
  const Tensor<double> ph = rbm.hidden_probs(v);
  ad::Tape<double> tape;
  const auto p = ebm::bind_params(tape, rbm.params(), ebm::Bind::constant);
  for (int64_t n = 0; n < 2; ++n) {
    const Var<double> vn = tape.constant(Tensor<double>(Shape{1, 3}, v.data() + 3 * n));
    double z = 0, on0 = 0;
    for (int s = 0; s < 4; ++s) {
      const Tensor<double> h(Shape{1, 2}, {double(s & 1), double(s >> 1)});
      const double w = std::exp(-rbm.joint_energy(p, vn, tape.constant(h)).item());
      z += w;
      on0 += (s & 1) ? w : 0.0;
    }
    CHECK(f[n] == doctest::Approx(-std::log(z)).epsilon(1e-13));
    CHECK(ph.at(n, 0) == doctest::Approx(on0 / z).epsilon(1e-13));
  }
  // p(v_i = 1 | h) = sigmoid(b_i + (W h)_i)
  const Tensor<double> h(Shape{1, 2}, {1, 0});
  const Tensor<double> pv = rbm.visible_probs(h);
  for (int64_t i = 0; i < 3; ++i)
    CHECK(pv[i] == doctest::Approx(1 / (1 + std::exp(-(rbm.param("b")[i] + rbm.param("W").at(i, 0))))).epsilon(1e-13));
}

TEST_CASE("Gaussian-Bernoulli RBM: free energy by summing h out, and p(v | h) centred on b + W h") {
  ad::Rng rng(5);
  ebm::GaussianBernoulliRbm<double> rbm(2, 2, rng, 0.8, true, 0.6);
  rbm.param("log_sigma") = Tensor<double>(Shape{2}, {std::log(0.7), std::log(1.3)});
  rbm.param("b") = Tensor<double>(Shape{2}, {0.5, -0.2});
  const Tensor<double> v(Shape{1, 2}, {0.3, 1.1});
  ad::Tape<double> tape;
  const auto p = ebm::bind_params(tape, rbm.params(), ebm::Bind::constant);
  double z = 0;
  for (int s = 0; s < 4; ++s)
    z += std::exp(-rbm.joint_energy(p, tape.constant(v), tape.constant(Tensor<double>(Shape{1, 2}, {double(s & 1), double(s >> 1)}))).item());
  CHECK(rbm.evaluate(v)[0] == doctest::Approx(-std::log(z)).epsilon(1e-13));
  // E(v, h) is quadratic in v with minimum at b + W h: its v-gradient vanishes there.
  const Tensor<double> h(Shape{1, 2}, {1, 1});
  const Tensor<double> mean = rbm.visible_mean(h);
  const Var<double> mv = tape.variable(mean);
  const Tensor<double> g = ad::grad(ad::sum(rbm.joint_energy(p, mv, tape.constant(h))), mv).value();
  CHECK(std::abs(g[0]) < 1e-13);
  CHECK(std::abs(g[1]) < 1e-13);
  CHECK(rbm.sigma()[1] == doctest::Approx(1.3).epsilon(1e-14));
}

TEST_CASE("Boltzmann machine: symmetric zero-diagonal couplings and conditionals") {
  // Stored W is not symmetric: only ½(W + Wᵀ) off the diagonal acts.
  ebm::BoltzmannMachine<double> bm(3, ebm::Units::spin);
  bm.param("W") = Tensor<double>(Shape{3, 3}, {5, -1, 0, -1, 5, 3, -2, 1, 5});
  bm.param("b") = Tensor<double>(Shape{3}, {0, 1, 0});
  const Tensor<double> w = bm.coupling();
  CHECK(w.at(0, 0) == 0);
  CHECK(w.at(1, 2) == doctest::Approx(2.0));
  CHECK(w.at(0, 2) == doctest::Approx(-1.0));
  const Tensor<double> x(Shape{1, 3}, {1, -1, 1});
  // E = −Σ_{i<j} W_ij x_i x_j − bᵀx = −(−1·−1 + −1·1 + 2·−1) − (−1) = 2 + 1 = 3
  CHECK(bm.evaluate(x)[0] == doctest::Approx(3.0).epsilon(1e-14));
  // p(x_1 = +1 | rest) = e^{−E(+)} / (e^{−E(+)} + e^{−E(−)})
  const Tensor<double> xp(Shape{1, 3}, {1, 1, 1});
  const double ep = bm.evaluate(xp)[0], em = bm.evaluate(x)[0];
  CHECK(bm.conditional_on(x).at(0, 1) == doctest::Approx(1 / (1 + std::exp(ep - em))).epsilon(1e-13));
  // ∇_W is symmetric with a zero diagonal, so Adam/SGD keep W symmetric.
  ad::Tape<double> tape;
  const auto p = ebm::bind_params(tape, bm.params(), ebm::Bind::variable);
  const Tensor<double> gw = ad::grad(ad::sum(bm.energy(p, tape.constant(x))), p[0]).value();
  for (int i = 0; i < 3; ++i) {
    CHECK(gw.at(i, i) == 0);
    for (int j = 0; j < 3; ++j) CHECK(gw.at(i, j) == doctest::Approx(gw.at(j, i)).epsilon(1e-15));
  }
}

TEST_CASE("classifier energy: E(x) = −logsumexp f, E(x, y) = −f[y], p(y|x) = softmax f") {
  ad::Rng rng(9);
  ebm::ClassifierEnergy<double> clf(2, {4}, 3, ebm::Activation::tanh, rng);
  const Tensor<double> x = uniform(Shape{2, 2}, -1, 1, 4);
  ad::Tape<double> tape;
  const auto p = ebm::bind_params(tape, clf.params(), ebm::Bind::constant);
  const Tensor<double> f = clf.logits(p, tape.constant(x)).value();
  const Tensor<double> e = clf.energy(p, tape.constant(x)).value();
  const Tensor<double> exy = clf.energy_xy(p, tape.constant(x), {2, 0}).value();
  const Tensor<double> probs = clf.class_probabilities(x);
  for (int64_t n = 0; n < 2; ++n) {
    const double lse = std::log(std::exp(f.at(n, 0)) + std::exp(f.at(n, 1)) + std::exp(f.at(n, 2)));
    CHECK(e[n] == doctest::Approx(-lse).epsilon(1e-13));
    CHECK(probs.at(n, 1) == doctest::Approx(std::exp(f.at(n, 1) - lse)).epsilon(1e-13));
  }
  CHECK(exy[0] == doctest::Approx(-f.at(0, 2)).epsilon(1e-15));
  CHECK(exy[1] == doctest::Approx(-f.at(1, 0)).epsilon(1e-15));
  CHECK_THROWS_AS(clf.energy_xy(p, tape.constant(x), {3, 0}), std::out_of_range);
}

TEST_CASE("sum of energies and noise-conditional energy") {
  using G = ebm::GaussianEnergy<double>;
  std::vector<std::unique_ptr<ebm::Energy<double>>> experts;
  experts.push_back(std::make_unique<G>(G::diagonal(Tensor<double>(Shape{1}, {0.0}), Tensor<double>(Shape{1}, {1.0}))));
  experts.push_back(std::make_unique<G>(G::diagonal(Tensor<double>(Shape{1}, {2.0}), Tensor<double>(Shape{1}, {1.0}))));
  ebm::SumEnergy<double> poe(std::move(experts), {1.0, 3.0}, 2.0);
  CHECK(poe.params().size() == 4);
  CHECK(poe.params()[2].name == "e1.mu");
  const Tensor<double> x(Shape{1, 1}, {0.5});
  CHECK(poe.evaluate(x)[0] == doctest::Approx((0.125 + 3 * 1.125) / 2).epsilon(1e-14));
  poe.param("e1.mu")[0] = 1.0;  // the sum's values are authoritative
  CHECK(poe.expert_snapshot(1)->param("mu")[0] == 1.0);
  const auto copy = poe.clone();
  CHECK(copy->evaluate(x)[0] == doctest::Approx(poe.evaluate(x)[0]).epsilon(1e-15));

  ad::Rng rng(2);
  ebm::NoiseConditionalEnergy<double> nc_scale(std::make_unique<G>(1), ebm::NoiseConditionalEnergy<double>::Conditioning::scale, 0.5);
  CHECK(nc_scale.evaluate(x)[0] == doctest::Approx(0.125 / 0.5).epsilon(1e-14));
  ebm::NoiseConditionalEnergy<double> nc_col(std::make_unique<ebm::MlpEnergy<double>>(3, std::vector<int64_t>{4}, ebm::Activation::silu, rng),
                                             ebm::NoiseConditionalEnergy<double>::Conditioning::input_column, 0.1);
  CHECK(nc_col.dim() == 2);
  const Tensor<double> x2 = uniform(Shape{3, 2}, -1, 1, 6);
  ad::Tape<double> tape;
  const auto p = ebm::bind_params(tape, nc_col.params(), ebm::Bind::variable);
  const Tensor<double> sig(Shape{3}, {0.1, 0.5, 1.0});
  const Tensor<double> e = nc_col.energy_at(p, tape.constant(x2), tape.constant(sig)).value();
  // The inner MLP sees [x, log σ].
  ebm::MlpEnergy<double> inner(3, {4}, ebm::Activation::silu, rng);
  inner.params() = nc_col.params();
  Tensor<double> xs(Shape{3, 3});
  for (int n = 0; n < 3; ++n) xs.at(n, 0) = x2.at(n, 0), xs.at(n, 1) = x2.at(n, 1), xs.at(n, 2) = std::log(sig[n]);
  const Tensor<double> ei = inner.evaluate(xs);
  for (int n = 0; n < 3; ++n) CHECK(e[n] == doctest::Approx(ei[n]).epsilon(1e-13));
  // column_and_scale: the same inner output divided by σ.
  ebm::NoiseConditionalEnergy<double> nc_both(inner.clone(), ebm::NoiseConditionalEnergy<double>::Conditioning::column_and_scale, 0.1);
  const auto pb = ebm::bind_params(tape, nc_both.params(), ebm::Bind::variable);
  const Tensor<double> eb = nc_both.energy_at(pb, tape.constant(x2), tape.constant(sig)).value();
  for (int n = 0; n < 3; ++n) CHECK(eb[n] == doctest::Approx(ei[n] / sig[n]).epsilon(1e-13));
}

TEST_CASE("models in float32 evaluate close to float64") {
  ad::Rng r1(4), r2(4);
  ebm::MlpEnergy<float> mf(2, {8}, ebm::Activation::silu, r1);
  ebm::MlpEnergy<double> md(2, {8}, ebm::Activation::silu, r2);
  const Tensor<double> x = uniform(Shape{5, 2}, -1, 1, 8);
  const Tensor<float> ef = mf.evaluate(x.cast<float>());
  const Tensor<double> ed = md.evaluate(x);
  for (int64_t n = 0; n < 5; ++n) CHECK(double(ef[n]) == doctest::Approx(ed[n]).epsilon(1e-5));  // float32 rounding of O(1) values
}

TEST_CASE("models plug into the samplers: single-site Gibbs on a Boltzmann machine, block Gibbs on an RBM") {
  // Weak couplings (|W_ij|, |b_i| <= 0.5, 5 units, so every conditional lies in [σ(−2.5), σ(2.5)] and the
  // chains mix within a few sweeps; 50 are run). Marginals p(x_i = +1) from 4000 chains are binomial
  // proportions with SE <= √(0.25/4000) ≈ 0.0079; allow 5 SE against exact enumeration.
  ad::Rng wr(3);
  Tensor<double> w(Shape{5, 5}), b(Shape{5});
  ad::fill_uniform(w, wr, -0.5, 0.5);
  ad::fill_uniform(b, wr, -0.5, 0.5);
  ebm::BoltzmannMachine<double> bm(w, b, ebm::Units::spin);
  const Tensor<double> x3(Shape{5}, {1, -1, 1, 1, -1});
  double a1 = b[1];
  for (int j = 0; j < 5; ++j) a1 += j == 1 ? 0.0 : bm.coupling().at(1, j) * x3[j];
  CHECK(bm.conditional_logit(x3.data(), 1) == doctest::Approx(2 * a1).epsilon(1e-14));
  std::vector<double> exact(5, 0.0);
  double z = 0;
  for (int s = 0; s < 32; ++s) {
    Tensor<double> x(Shape{1, 5});
    for (int i = 0; i < 5; ++i) x[i] = (s >> i) & 1 ? 1.0 : -1.0;
    const double p = std::exp(-bm.evaluate(x)[0]);
    z += p;
    for (int i = 0; i < 5; ++i) exact[static_cast<size_t>(i)] += (s >> i) & 1 ? p : 0.0;
  }
  samplers::ChainState<double> st(4000, 5, 17);
  samplers::fill_binary(st, samplers::BinaryUnits::plus_minus_one);
  samplers::SingleSiteGibbs<double> gibbs(bm);
  gibbs.run(st, 50);
  for (int i = 0; i < 5; ++i) {
    double on = 0;
    for (int64_t c = 0; c < st.chains(); ++c) on += st.row(c)[i] > 0;
    CHECK(std::abs(on / 4000 - exact[static_cast<size_t>(i)] / z) < 5 * std::sqrt(0.25 / 4000));
  }

  // Block Gibbs on a Gaussian-Bernoulli RBM with W = 0: v ~ N(b, σ²) exactly after one sweep.
  ad::Rng rng(1);
  ebm::GaussianBernoulliRbm<double> rbm(2, 3, rng, 0.5, false, 0.0);
  rbm.param("b") = Tensor<double>(Shape{2}, {1.0, -2.0});
  samplers::ChainState<double> vs(2000, 2, 5);
  samplers::BlockGibbs<double> block(rbm);
  block.run(vs, 2);
  double m0 = 0;
  for (int64_t c = 0; c < vs.chains(); ++c) m0 += vs.row(c)[0];
  CHECK(std::abs(m0 / 2000 - 1.0) < 5 * 0.5 / std::sqrt(2000.0));  // 5 SE of a mean of N(1, 0.25)

  // The energy adapter: ∇ₓE through the samplers' evaluator equals the model's own.
  const auto g = ebm::GaussianEnergy<double>::diagonal(Tensor<double>(Shape{1}, {1.5}), Tensor<double>(Shape{1}, {0.7}));
  samplers::EnergyEvaluator<double> ev;
  std::vector<double> e;
  Tensor<double> grad;
  ev.energy_grad(ebm::sampler_energy<double>(g), Tensor<double>(Shape{2, 1}, {0.0, 2.0}), e, grad);
  CHECK(grad[0] == doctest::Approx(-1.5 / 0.49));
  CHECK(e[1] == doctest::Approx(0.25 / 0.98));
}
