// Maximum likelihood with MCMC negatives: CD-1 and PCD on an RBM (exact log-likelihood by enumeration rises),
// the negative phase's bookkeeping (CD-k starts at the data, persistent chains survive save/load), and JEM on
// a 3-class 2-D problem (accuracy and where its samples land).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include <ebm/eval/partition.hpp>
#include <ebm/models/classifier.hpp>
#include <ebm/models/gaussian.hpp>
#include <ebm/models/mlp.hpp>
#include <ebm/models/sampling.hpp>
#include <ebm/models/rbm.hpp>
#include <ebm/objectives/contrastive_divergence.hpp>
#include <ebm/objectives/jem.hpp>
#include <ebm/optim/adam.hpp>
#include <ebm/optim/sgd.hpp>
#include <ebm/optim/train_step.hpp>

using ad::Shape;
using ad::Tensor;

namespace {

// 600 binary vectors of length 8: three prototypes, each bit flipped with probability 0.05. Its entropy is
// log 3 + 8 H(0.05) ≈ 2.69 nats, so a good model reaches an average log-likelihood near −2.7, while the
// initial RBM (W ≈ 0, b = c = 0) is uniform: −8 log 2 ≈ −5.55.
Tensor<double> binary_data() {
  const int proto[3][8] = {{1, 1, 1, 1, 0, 0, 0, 0}, {0, 0, 1, 1, 1, 1, 0, 0}, {1, 0, 1, 0, 1, 0, 1, 0}};
  ad::Rng rng(5, 1);
  Tensor<double> x(Shape{600, 8});
  for (int64_t n = 0; n < 600; ++n) {
    const auto p = rng.below(3);
    for (int k = 0; k < 8; ++k) x.at(n, k) = (rng.uniform() < 0.05) ? 1 - proto[p][k] : proto[p][k];
  }
  return x;
}

// −H of the empirical distribution of the rows: no model's average log-likelihood on x can exceed it (Gibbs'
// inequality), which makes it a hard upper bound on what training can reach.
double empirical_neg_entropy(const Tensor<double>& x) {
  std::vector<int> count(256, 0);
  for (int64_t n = 0; n < x.rows(); ++n) {
    int code = 0;
    for (int k = 0; k < 8; ++k) code |= int(x.at(n, k)) << k;
    ++count[size_t(code)];
  }
  double h = 0;
  for (int c : count)
    if (c) h += double(c) / double(x.rows()) * std::log(double(c) / double(x.rows()));
  return h;
}

double average_log_likelihood(const ebm::BernoulliRbm<double>& rbm, const Tensor<double>& x) {
  const double log_z = ebm::log_partition_enumerate(rbm, ebm::Units::binary);
  const Tensor<double> f = rbm.evaluate(x);
  double s = 0;
  for (double v : f) s -= v;
  return s / double(x.rows()) - log_z;
}

Tensor<double> rows(const Tensor<double>& x, ad::Rng& rng, int64_t b) {
  Tensor<double> out(Shape{b, x.cols()});
  for (int64_t i = 0; i < b; ++i) {
    const auto r = int64_t(rng.below(uint64_t(x.rows())));
    for (int64_t k = 0; k < x.cols(); ++k) out.at(i, k) = x.at(r, k);
  }
  return out;
}

// Trains with SGD + momentum on batches of 50 and returns the exact log-likelihood before and after.
std::pair<double, double> train_rbm(ebm::ChainStart start) {
  const Tensor<double> x = binary_data();
  ad::Rng init(11);
  ebm::BernoulliRbm<double> rbm(8, 6, init, 0.01);
  ebm::NegativeOptions o;
  o.steps = 1, o.start = start;
  o.buffer.init = ebm::bernoulli_init();  // PCD chains start as fair coin flips
  ebm::ContrastiveDivergence<double> cd(ebm::NegativePhase<double>(ebm::gibbs_sampler<double>(), o, 3));
  ebm::Sgd<double> sgd(ebm::constant_lr(0.05), {.momentum = 0.5});
  ebm::ShardedObjective<double> step(cd, 1);
  ad::Rng rng(17);
  const double before = average_log_likelihood(rbm, x);
  for (int t = 0; t < 1500; ++t) ebm::train_step(step, rbm, sgd, rows(x, rng, 50), rng.split(static_cast<uint64_t>(t)));
  return {before, average_log_likelihood(rbm, x)};
}

}  // namespace

TEST_CASE("RBM: CD-1 and PCD raise the exact log-likelihood well above its start") {
  // Required: a rise of more than 1.5 nats (of the ≈ 2.9 available) and an end within 0.8 nats of the data's
  // entropy (−2.69), which a model that learnt only the marginal bit rates (≈ −5.3) cannot reach.
  const double bound = empirical_neg_entropy(binary_data());
  for (auto start : {ebm::ChainStart::data, ebm::ChainStart::persistent}) {
    const auto [before, after] = train_rbm(start);
    MESSAGE(std::string(start == ebm::ChainStart::data ? "CD-1" : "PCD-1") << ": average log-likelihood " << before << " -> "
                                                                             << after << " (bound " << bound << ")");
    CHECK(before == doctest::Approx(-8 * std::numbers::ln2).epsilon(0.01));
    CHECK(after > before + 1.5);
    CHECK(after > -2.69 - 0.8);
    CHECK(after <= bound);  // Gibbs' inequality: a violation would mean a wrong log Z or free energy
  }
}

TEST_CASE("negative phase: CD-k starts at the data; zero steps return the batch; persistent chains round-trip") {
  ad::Rng init(2);
  ebm::BernoulliRbm<double> rbm(8, 4, init, 0.5);
  const Tensor<double> x = binary_data();
  const Tensor<double> batch = [&] {
    ad::Rng r(1);
    return rows(x, r, 10);
  }();
  ebm::NegativeOptions o;
  o.steps = 0;
  ebm::NegativePhase<double> none(ebm::gibbs_sampler<double>(), o, 1);
  ad::Rng rng(4);
  const Tensor<double> same = none.draw(rbm, batch, rng);
  for (int64_t i = 0; i < batch.numel(); ++i) CHECK(same[i] == batch[i]);

  // A fixed batch Rng gives fixed CD negatives (what gradcheck relies on); a different one does not.
  o.steps = 3;
  ebm::NegativePhase<double> cd(ebm::gibbs_sampler<double>(), o, 1);
  ad::Rng a(9), b(9), c(10);
  const Tensor<double> na = cd.draw(rbm, batch, a), nb = cd.draw(rbm, batch, b), nc = cd.draw(rbm, batch, c);
  int diff_ab = 0, diff_ac = 0;
  for (int64_t i = 0; i < na.numel(); ++i) diff_ab += na[i] != nb[i], diff_ac += na[i] != nc[i];
  CHECK(diff_ab == 0);
  CHECK(diff_ac > 0);
  CHECK(std::isnan(cd.last_ess()));  // k = 3: too short to estimate mixing
  o.steps = 40;
  ebm::NegativePhase<double> longer(ebm::gibbs_sampler<double>(), o, 1);
  longer.draw(rbm, batch, a);
  // 10 chains x 40 Gibbs sweeps of a weakly coupled RBM mix fast: ESS of ‖x‖² is a sizeable part of the 400 draws.
  MESSAGE("negative-phase ESS of |x|^2 over 10 x 40 draws: " << longer.last_ess());
  CHECK(longer.last_ess() > 40);
  CHECK(longer.last_ess() < 400 * std::log10(400.0));

  // Persistent: saving after two draws and restoring into a fresh phase continues identically.
  o.start = ebm::ChainStart::persistent;
  o.buffer.init = ebm::bernoulli_init();
  ebm::NegativePhase<double> p1(ebm::gibbs_sampler<double>(), o, 7);
  CHECK(p1.save_state().empty());
  ad::Rng r1(1);
  p1.draw(rbm, batch, r1), p1.draw(rbm, batch, r1);
  const auto blob = p1.save_state();
  ebm::NegativePhase<double> p2(ebm::gibbs_sampler<double>(), o, 7);
  p2.load_state(blob);
  ad::Rng r2 = r1;
  const Tensor<double> n1 = p1.draw(rbm, batch, r1), n2 = p2.draw(rbm, batch, r2);
  for (int64_t i = 0; i < n1.numel(); ++i) CHECK(n1[i] == n2[i]);
  CHECK(p1.buffer()->capacity() == 10);  // PCD: as many chains as the batch has rows

  // Gibbs needs an RBM or a Boltzmann machine.
  ebm::ClassifierEnergy<double> clf(2, {4}, 3, ebm::Activation::silu, init);
  ad::Rng r3(0);
  CHECK_THROWS_WITH_AS(cd.draw(clf, Tensor<double>(Shape{2, 2}, 0.0), r3), doctest::Contains("RBM or a Boltzmann machine"),
                       std::invalid_argument);
}

namespace {

// Three classes in 2-D: N(c_k, 0.3² I) with centres on the circle of radius 2 at angles 90°, 210°, 330°.
struct Blobs {
  Tensor<double> x;
  std::vector<int64_t> y;
};
constexpr double kBlobSd = 0.3;
double blob_centre(int k, int axis) {
  const double a = std::numbers::pi / 2 + 2 * std::numbers::pi * k / 3;
  return 2 * (axis == 0 ? std::cos(a) : std::sin(a));
}
Blobs blobs(int64_t n, uint64_t seed) {
  ad::Rng rng(seed, 2);
  Blobs b{Tensor<double>(Shape{n, 2}), {}};
  for (int64_t i = 0; i < n; ++i) {
    const int k = int(rng.below(3));
    b.y.push_back(k);
    for (int a = 0; a < 2; ++a) b.x.at(i, a) = blob_centre(k, a) + kBlobSd * rng.normal();
  }
  return b;
}

}  // namespace

TEST_CASE("JEM: a 3-class 2-D classifier reaches 95% test accuracy and its SGLD samples lie on the data" *
          doctest::test_suite("long")) {
  const Blobs train = blobs(1500, 1), test = blobs(1500, 2);
  ad::Rng init(3);
  ebm::ClassifierEnergy<double> clf(2, {32, 32}, 3, ebm::Activation::silu, init);
  ebm::NegativeOptions o;
  o.steps = 20, o.start = ebm::ChainStart::persistent;
  o.buffer.capacity = 1000, o.buffer.reinit_prob = 0.05;
  o.buffer.lo = -3.5, o.buffer.hi = 3.5;  // fresh chains start uniform on the data's box
  samplers::LangevinOptions sgld;
  sgld.step_size = 0.02;  // temperature 1: a sampler of exp(−E), not JEM's low-noise variant
  ebm::JointEnergyModel<double> jem(ebm::NegativePhase<double>(ebm::langevin_sampler<double>(sgld), o, 5), 1.0, 0.1);
  ebm::Adam<double> adam(ebm::constant_lr(3e-3));
  ebm::ShardedObjective<double> step(jem, 1);
  ad::Rng rng(8);
  for (int t = 0; t < 800; ++t) {
    Tensor<double> xb(Shape{64, 2});
    std::vector<int64_t> yb;
    for (int64_t i = 0; i < 64; ++i) {
      const auto r = int64_t(rng.below(uint64_t(train.x.rows())));
      xb.at(i, 0) = train.x.at(r, 0), xb.at(i, 1) = train.x.at(r, 1), yb.push_back(train.y[size_t(r)]);
    }
    ebm::train_step(step, clf, adam, xb, rng.split(static_cast<uint64_t>(t)), {}, &yb);
  }
  // Accuracy on held-out points. Centres are 3.46 apart, so the Bayes error is ≈ 2Φ(−1.73/0.3) ≈ 1e-8.
  const Tensor<double> p = clf.class_probabilities(test.x);
  int64_t right = 0;
  for (int64_t i = 0; i < test.x.rows(); ++i) {
    int64_t best = 0;
    for (int64_t k = 1; k < 3; ++k)
      if (p.at(i, k) > p.at(i, best)) best = k;
    right += best == test.y[size_t(i)];
  }
  const double acc = double(right) / double(test.x.rows());
  // Samples: 1000 fresh chains from uniform noise on the box, 300 Langevin steps on the learnt E(x). "On the
  // data" = within 3 sd (0.9) of a centre; the data itself has 98.9% of its mass there (χ²₂: 1 − e^{−4.5}),
  // uniform noise on the box 3·π·0.81/49 ≈ 16%. Required: at least 75%.
  samplers::ChainState<double> chains(1000, 2, 77);
  chains.fill_uniform(-3.5, 3.5);
  samplers::Langevin<double>(ebm::sampler_energy(clf), sgld).run(chains, 300);
  int64_t near = 0;
  for (int64_t i = 0; i < chains.chains(); ++i) {
    double best = 1e9;
    for (int k = 0; k < 3; ++k) best = std::min(best, std::hypot(chains.x.at(i, 0) - blob_centre(k, 0), chains.x.at(i, 1) - blob_centre(k, 1)));
    near += best < 3 * kBlobSd;
  }
  const double frac = double(near) / double(chains.chains());
  MESSAGE("JEM: test accuracy " << acc << ", samples within 3 sd of a centre " << frac);
  CHECK(acc >= 0.95);
  CHECK(frac >= 0.75);
}

namespace {

// One improved-CD objective over Langevin negatives, k = 3 steps (from the data, or a persistent pool of 9).
ebm::ContrastiveDivergence<double> improved_cd(bool persistent, double weight, bool entropy, double noise_scale = -1) {
  ebm::NegativeOptions o;
  o.steps = 3;
  if (persistent) o.start = ebm::ChainStart::persistent, o.count = 5, o.buffer.capacity = 9, o.buffer.reinit_prob = 0.2;
  return ebm::ContrastiveDivergence<double>(
      ebm::NegativePhase<double>(ebm::langevin_sampler<double>({.step_size = 0.1, .noise_scale = noise_scale}), o, 7), 0.05,
      {.enabled = true, .weight = weight, .entropy = entropy});
}

double term(const ebm::LossAndGrad<double>& r, const std::string& name) {
  for (const ebm::Term& t : r.terms)
    if (t.name == name) return t.value;
  FAIL("no term " << name);
  return 0;
}

Tensor<double> cloud(int64_t n, uint64_t seed) {
  ad::Rng rng(seed, 2);
  Tensor<double> x(Shape{n, 2});
  ad::fill_normal(x, rng);
  return x;
}

}  // namespace

TEST_CASE("improved CD with kl_weight 0 is plain CD: same draws, same loss and gradients") {
  ad::Rng init(3);
  const ebm::MlpEnergy<double> model(2, std::vector<int64_t>{8}, ebm::Activation::silu, init);
  const Tensor<double> x = cloud(6, 1);
  for (const bool persistent : {false, true}) {
    ebm::ContrastiveDivergence<double> icd = improved_cd(persistent, 0.0, true);
    ebm::NegativeOptions o = icd.negatives().options();
    ebm::ContrastiveDivergence<double> cd(ebm::NegativePhase<double>(ebm::langevin_sampler<double>({.step_size = 0.1}), o, 7), 0.05);
    ad::Tape<double> tape;
    for (int step = 0; step < 3; ++step) {  // persistent pools must stay in step too
      ad::Rng r1(40 + step), r2(40 + step);
      const auto a = ebm::loss_and_grad(tape, model, icd, x, r1);
      const auto b = ebm::loss_and_grad(tape, model, cd, x, r2);
      INFO("persistent " << persistent << ", step " << step);
      CHECK(a.loss == doctest::Approx(b.loss).epsilon(1e-10));
      CHECK(term(a, "kl") != 0.0);  // the term is computed, only weighted by 0
      for (int64_t i = 0; i < icd.last_negatives().numel(); ++i)
        CHECK(icd.last_negatives()[i] == doctest::Approx(cd.last_negatives()[i]).epsilon(1e-12));
      REQUIRE(a.grad_theta.size() == b.grad_theta.size());
      for (size_t p = 0; p < a.grad_theta.size(); ++p)
        for (int64_t i = 0; i < a.grad_theta[p].numel(); ++i) CHECK(a.grad_theta[p][i] == doctest::Approx(b.grad_theta[p][i]).epsilon(1e-9));
    }
  }
}

TEST_CASE("improved CD: the KL term's value and θ-gradient match E_{sg θ}(x_K(θ)) − H computed by hand") {
  // A diagonal Gaussian E = Σ_k (x_k − μ_k)²/(2σ_k²), CD-1 from the data with σ_noise = 0: then x_K is one
  // gradient step from each data row, x_K = x − (ε/2)(x − μ)/σ², in closed form. The KL term is
  // mean_i E_θ̄(x_K,i(θ)) − mean_i ½ log ‖x_K,i − r_i‖² with θ̄ and the neighbours r_i (other rows at x_K) fixed;
  // its θ-gradient is taken here by central differences of that function, and compared with the difference of
  // the objective's gradients at kl_weight 1 and 0.
  const Tensor<double> mu(Shape{2}, {0.3, -0.4}), sd(Shape{2}, {0.8, 1.3});
  const auto model = ebm::GaussianEnergy<double>::diagonal(mu, sd);
  const Tensor<double> x = cloud(7, 9);
  const double eps = 0.3;
  const auto step = [&](const double* m, const double* ls, int64_t i, int k) {
    const double s2 = std::exp(2 * ls[k]);
    return x.at(i, k) - 0.5 * eps * (x.at(i, k) - m[k]) / s2;
  };
  const double m0[2] = {0.3, -0.4}, ls0[2] = {std::log(0.8), std::log(1.3)};
  // The neighbours: at θ's own values, the nearest other row of x_K.
  std::vector<int64_t> nn(7);
  for (int64_t i = 0; i < 7; ++i) {
    double best = 1e300;
    for (int64_t j = 0; j < 7; ++j) {
      if (j == i) continue;
      double s = 0;
      for (int k = 0; k < 2; ++k) s += std::pow(step(m0, ls0, i, k) - step(m0, ls0, j, k), 2);
      if (s < best) best = s, nn[size_t(i)] = j;
    }
  }
  const auto kl = [&](const double* m, const double* ls, bool entropy) {
    double e = 0, h = 0;
    for (int64_t i = 0; i < 7; ++i) {
      double s = 0;
      for (int k = 0; k < 2; ++k) {
        const double xk = step(m, ls, i, k);
        e += std::pow(xk - m0[k], 2) / (2 * std::exp(2 * ls0[k]));
        s += std::pow(xk - step(m0, ls0, nn[size_t(i)], k), 2);
      }
      h += 0.5 * std::log(s);
    }
    return (e - (entropy ? h : 0.0)) / 7;
  };
  for (const bool entropy : {false, true}) {
    ebm::NegativeOptions o;
    o.steps = 1;
    const auto make = [&](double w) {
      return ebm::ContrastiveDivergence<double>(ebm::NegativePhase<double>(ebm::langevin_sampler<double>({.step_size = eps, .noise_scale = 0}), o),
                                                0.0, {.enabled = true, .weight = w, .entropy = entropy});
    };
    auto with = make(1.0), without = make(0.0);
    ad::Tape<double> tape;
    ad::Rng r1(5), r2(5);
    const auto a = ebm::loss_and_grad(tape, model, with, x, r1);
    const auto b = ebm::loss_and_grad(tape, model, without, x, r2);
    INFO("entropy " << entropy);
    CHECK(term(a, "kl") == doctest::Approx(kl(m0, ls0, entropy)).epsilon(1e-12));
    CHECK(a.loss - b.loss == doctest::Approx(kl(m0, ls0, entropy)).epsilon(1e-10));
    const double h = 1e-6;
    for (int k = 0; k < 2; ++k) {
      double mp[2] = {m0[0], m0[1]}, mm[2] = {m0[0], m0[1]}, lp[2] = {ls0[0], ls0[1]}, lm[2] = {ls0[0], ls0[1]};
      mp[k] += h, mm[k] -= h, lp[k] += h, lm[k] -= h;
      const double d_mu = (kl(mp, ls0, entropy) - kl(mm, ls0, entropy)) / (2 * h);
      const double d_ls = (kl(m0, lp, entropy) - kl(m0, lm, entropy)) / (2 * h);
      CHECK(std::abs(d_mu) > 1e-3);  // the path through x_K is not trivially zero here
      CHECK(a.grad_theta[0][k] - b.grad_theta[0][k] == doctest::Approx(d_mu).epsilon(1e-6));
      CHECK(a.grad_theta[1][k] - b.grad_theta[1][k] == doctest::Approx(d_ls).epsilon(1e-6));
    }
  }
}

TEST_CASE("improved CD: persistent chains keep the positions of the taped last step; other samplers are refused") {
  ad::Rng init(4);
  const ebm::MlpEnergy<double> model(2, std::vector<int64_t>{8}, ebm::Activation::silu, init);
  const Tensor<double> x = cloud(6, 2);
  ebm::ContrastiveDivergence<double> icd = improved_cd(true, 1.0, true);
  ad::Tape<double> tape;
  ad::Rng warm(7);
  ebm::loss_and_grad(tape, model, icd, x, warm);
  const Tensor<double> before = icd.negatives().buffer()->slots().x;
  ad::Rng rng(8);
  const auto r = ebm::loss_and_grad(tape, model, icd, x, rng);
  // The entropy's neighbours are the slots this step did not draw (their positions unchanged), never a chain's
  // own earlier position: H = mean_i ½ log min_j ‖x_K,i − before_j‖² over those slots.
  {
    const auto& now = icd.negatives().buffer()->slots().x;
    std::vector<int64_t> undrawn;
    for (int64_t j = 0; j < now.rows(); ++j)
      if (now.at(j, 0) == before.at(j, 0) && now.at(j, 1) == before.at(j, 1)) undrawn.push_back(j);
    REQUIRE(undrawn.size() == 4);  // 9 slots, 5 drawn
    const auto& neg = icd.last_negatives();
    double h = 0;
    for (int64_t i = 0; i < neg.rows(); ++i) {
      double best = 1e300;
      for (const int64_t j : undrawn) best = std::min(best, std::pow(neg.at(i, 0) - before.at(j, 0), 2) + std::pow(neg.at(i, 1) - before.at(j, 1), 2));
      h += 0.5 * std::log(best) / double(neg.rows());
    }
    CHECK(term(r, "entropy") == doctest::Approx(h).epsilon(1e-12));
  }
  // Every returned negative sits in the pool (the capacity-9 pool lends 5 slots per step).
  const auto& slots = icd.negatives().buffer()->slots().x;
  const auto& neg = icd.last_negatives();
  for (int64_t i = 0; i < neg.rows(); ++i) {
    bool found = false;
    for (int64_t j = 0; j < slots.rows() && !found; ++j) found = neg.at(i, 0) == slots.at(j, 0) && neg.at(i, 1) == slots.at(j, 1);
    CHECK(found);
  }
  ebm::NegativeOptions o;
  ebm::ContrastiveDivergence<double> mala(ebm::NegativePhase<double>(ebm::mala_sampler<double>({.step_size = 0.1}), o), 0.0, {.enabled = true});
  ad::Rng rng2(1);
  CHECK_THROWS_WITH_AS(ebm::loss_and_grad(tape, model, mala, x, rng2), doctest::Contains("kl_term"), std::invalid_argument);
}
