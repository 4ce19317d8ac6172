// The Bernoulli RBM's tape-free paths: its conditionals against naive loops (0/1 and fractional inputs, sizes
// that leave partial tiles), and CD's closed-form loss and gradients against the same loss recorded on the tape.
#include <doctest/doctest.h>

#include <cmath>

#include <autodiff/threads.hpp>
#include <ebm/models/rbm.hpp>
#include <ebm/objectives/contrastive_divergence.hpp>

using ad::Shape;
using ad::Tensor;

namespace {

Tensor<double> random_input(int64_t b, int64_t d, ad::Rng& rng, bool binary) {
  Tensor<double> x(Shape{b, d});
  for (double& v : x) v = rng.uniform() < 0.35 ? (binary ? 1.0 : rng.uniform()) : 0.0;
  return x;
}

double sig(double z) { return 1 / (1 + std::exp(-z)); }

}  // namespace

TEST_CASE("RBM conditionals equal naive sums, for any tile remainder and thread count") {
  for (auto [b, v, h] : {std::tuple<int64_t, int64_t, int64_t>{7, 37, 35}, {64, 70, 64}, {130, 50, 97}}) {
    ad::Rng rng(4, uint64_t(b));
    ebm::BernoulliRbm<double> rbm(v, h, rng, 0.5);
    for (double& c : rbm.param("c")) c = rng.normal();
    for (double& c : rbm.param("b")) c = rng.normal();
    for (bool binary : {true, false}) {
      CAPTURE(b);
      CAPTURE(binary);
      const Tensor<double> x = random_input(b, v, rng, binary), hs = random_input(b, h, rng, binary);
      const Tensor<double> ph = rbm.hidden_probs(x), pv = rbm.visible_probs(hs);
      Tensor<double> ph1, pv1;
      {
        ad::ThreadLimit one(1);
        ph1 = rbm.hidden_probs(x), pv1 = rbm.visible_probs(hs);
      }
      const Tensor<double>&w = rbm.param("W"), &bb = rbm.param("b"), &cc = rbm.param("c");
      for (int64_t r = 0; r < b; ++r) {
        for (int64_t j = 0; j < h; ++j) {
          double a = cc[j];
          for (int64_t i = 0; i < v; ++i) a += x.at(r, i) * w.at(i, j);
          CHECK(ph.at(r, j) == doctest::Approx(sig(a)).epsilon(1e-12));
          CHECK(ph.at(r, j) == ph1.at(r, j));
        }
        for (int64_t i = 0; i < v; ++i) {
          double a = bb[i];
          for (int64_t j = 0; j < h; ++j) a += hs.at(r, j) * w.at(i, j);
          CHECK(pv.at(r, i) == doctest::Approx(sig(a)).epsilon(1e-12));
          CHECK(pv.at(r, i) == pv1.at(r, i));
        }
      }
    }
  }
}

TEST_CASE("CD on a Bernoulli RBM: the tape-free loss and gradients equal the taped ones, batch after batch") {
  ad::Rng init(8, 0);
  ebm::BernoulliRbm<double> rbm(37, 35, init, 0.3);
  for (double& c : rbm.param("c")) c = 0.2 * init.normal();
  ebm::NegativeOptions o;
  o.start = ebm::ChainStart::persistent;
  o.steps = 2;
  ebm::ContrastiveDivergence<double> direct(ebm::NegativePhase<double>(ebm::gibbs_sampler<double>(), o, 5));
  ebm::ContrastiveDivergence<double> taped(ebm::NegativePhase<double>(ebm::gibbs_sampler<double>(), o, 5));
  ad::Rng data_rng(3, 0);
  for (int batch = 0; batch < 3; ++batch) {
    const Tensor<double> x = random_input(9, 37, data_rng, true);
    ad::Rng r1(11, uint64_t(batch)), r2(11, uint64_t(batch));
    ad::Tape<double> t1;
    const ebm::LossAndGrad<double> a = ebm::loss_and_grad(t1, rbm, direct, x, r1);  // takes the direct path
    ad::Tape<double> tape;
    const auto theta = ebm::bind_params(tape, rbm.params(), ebm::Bind::variable);
    const std::vector<ad::Var<double>> extra;
    const ebm::Loss<double> l = taped.loss(ebm::LossInput<double>{tape, rbm, theta, extra, x, r2});
    const auto g = ad::grad<double>({l.value}, theta);
    CHECK(a.loss == doctest::Approx(l.value.item()).epsilon(1e-12));
    REQUIRE(a.grad_theta.size() == 3);
    for (size_t p = 0; p < 3; ++p) {
      const Tensor<double> gt = g[p].value();
      REQUIRE(gt.shape() == a.grad_theta[p].shape());
      for (int64_t k = 0; k < gt.numel(); ++k) CHECK(std::abs(a.grad_theta[p][k] - gt[k]) <= 1e-10 * (1 + std::abs(gt[k])));
    }
    CHECK(a.terms.size() == l.terms.size());
    CHECK(a.terms[0].name == "energy_data");
    CHECK(a.terms[0].value == doctest::Approx(l.term("energy_data")).epsilon(1e-12));
    CHECK(a.terms[1].value == doctest::Approx(l.term("energy_samples")).epsilon(1e-12));
    // Same negatives on both sides (the persistent chains advanced identically).
    const Tensor<double>&na = direct.last_negatives(), &nb = taped.last_negatives();
    for (int64_t k = 0; k < na.numel(); ++k) REQUIRE(na[k] == nb[k]);
    // A gradient step, so the next batch sees new parameters.
    for (size_t p = 0; p < 3; ++p)
      for (int64_t k = 0; k < rbm.params()[p].value.numel(); ++k) rbm.params()[p].value[k] -= 0.1 * a.grad_theta[p][k];
  }
}
