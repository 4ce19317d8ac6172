// The Bernoulli RBM's tape-free paths: its conditionals against naive loops (0/1 and fractional inputs, sizes
// that leave partial tiles), and CD's closed-form loss and gradients against the same loss recorded on the tape.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include <autodiff/threads.hpp>
#include <ebm/models/rbm.hpp>
#include <ebm/objectives/contrastive_divergence.hpp>
#include "../thread_check.hpp"

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
        REQUIRE_THREADS(2);  // the run this one is compared with uses more than one
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

namespace {

// A Fashion-MNIST-like batch: rows that share a pattern (so delta products start rows from one another), flipped
// at random; `width` columns.
Tensor<double> patterned_input(int64_t b, int64_t d, ad::Rng& rng) {
  Tensor<double> base(Shape{4, d});
  for (double& v : base) v = rng.uniform() < 0.35 ? 1.0 : 0.0;
  Tensor<double> x(Shape{b, d});
  for (int64_t r = 0; r < b; ++r)
    for (int64_t i = 0; i < d; ++i) x.at(r, i) = rng.uniform() < 0.1 ? 1.0 - base.at(r % 4, i) : base.at(r % 4, i);
  return x;
}

// The taped path's loss and parameter gradients for a CD objective: the reference of the direct path.
struct TapedStep {
  double loss;
  std::vector<ebm::Term> terms;
  std::vector<Tensor<double>> grads;
};
TapedStep taped_step(ebm::BernoulliRbm<double>& rbm, ebm::ContrastiveDivergence<double>& cd, const Tensor<double>& x, ad::Rng& rng) {
  ad::Tape<double> tape;
  const auto theta = ebm::bind_params(tape, rbm.params(), ebm::Bind::variable);
  const std::vector<ad::Var<double>> extra;
  const ebm::Loss<double> l = cd.loss(ebm::LossInput<double>{tape, rbm, theta, extra, x, rng});
  TapedStep out{l.value.item(), l.terms, {}};
  for (const ad::Var<double>& g : ad::grad<double>({l.value}, theta)) out.grads.push_back(g.value());
  return out;
}

struct PcdRun {
  std::vector<Tensor<double>> grads, negatives, params;
  std::vector<double> losses;
};

// `steps` direct PCD-1 steps with an SGD update after each, on batches of 100 rows of 300 pixels and 80 hidden
// units: big enough for several 256-row slices, panels run in parallel and chains started from the data rows.
PcdRun run_pcd(int steps, samplers::RbmChainUnits persist) {
  ad::Rng init(21, 0);
  ebm::BernoulliRbm<double> rbm(300, 80, init, 0.2);
  ebm::NegativeOptions o;
  o.start = ebm::ChainStart::persistent;
  o.steps = 1;
  o.persist = persist;
  ebm::ContrastiveDivergence<double> cd(ebm::NegativePhase<double>(ebm::gibbs_sampler<double>(persist), o, 9));
  ad::Rng data_rng(5, 0);
  PcdRun out;
  for (int s = 0; s < steps; ++s) {
    const Tensor<double> x = patterned_input(100, 300, data_rng);
    ad::Rng r(13, uint64_t(s));
    ad::Tape<double> tape;
    ebm::LossAndGrad<double> g = ebm::loss_and_grad(tape, rbm, cd, x, r);
    out.losses.push_back(g.loss);
    out.negatives.push_back(cd.last_negatives());
    for (size_t p = 0; p < 3; ++p) {
      out.grads.push_back(g.grad_theta[p]);
      for (int64_t k = 0; k < rbm.params()[p].value.numel(); ++k) rbm.params()[p].value[k] -= 0.5 * g.grad_theta[p][k];
    }
  }
  for (const auto& p : rbm.params()) out.params.push_back(p.value);
  return out;
}

}  // namespace

TEST_CASE("CD on a Bernoulli RBM, batches of 100 (whole-step shards): the same negatives, loss and gradients as the taped path") {
  // Batches of 100 rows make two row shards (Note [Whole-step shards]); each case runs three batches with an SGD
  // step in between, so the chains' later sweeps start from states and parameters the earlier ones produced.
  // Delta-product gradients within 1e-12 of the taped ones.
  struct Case {
    const char* name;
    int64_t hidden;
    ebm::ChainStart start;
    int64_t steps, count;
    bool binary;
    int64_t rows = 100;
    samplers::RbmChainUnits persist = samplers::RbmChainUnits::visible;
  };
  const Case cases[] = {
      {"PCD-1, 70 hidden units: W and the gradient's Q packed into panels", 70, ebm::ChainStart::persistent, 1, 0, true},
      {"PCD-1, 64 hidden units: both read in place", 64, ebm::ChainStart::persistent, 1, 0, true},
      {"PCD-1, 256 hidden units: each shard packs W for itself", 256, ebm::ChainStart::persistent, 1, 0, true},
      {"PCD-3, 256 hidden units, 130 chains: each shard packs W for itself", 256, ebm::ChainStart::persistent, 3, 130, true},
      {"PCD-3: three sweeps in one region", 64, ebm::ChainStart::persistent, 3, 0, true},
      {"PCD-5: an observer (the ESS trace), one region per sweep", 64, ebm::ChainStart::persistent, 5, 0, true},
      {"130 chains for 100 rows: shards of unequal sizes", 64, ebm::ChainStart::persistent, 1, 130, true},
      {"CD-2 from the data", 64, ebm::ChainStart::data, 2, 0, true},
      {"fractional data: BlockGibbs and dense products", 64, ebm::ChainStart::persistent, 1, 0, false},
      {"2 rows, 130 chains: a shard without data rows", 64, ebm::ChainStart::persistent, 2, 130, true, 2},
      {"hidden chains, PCD-1", 64, ebm::ChainStart::persistent, 1, 0, true, 100, samplers::RbmChainUnits::hidden},
      {"hidden chains, PCD-1, 70 hidden units: packed panels", 70, ebm::ChainStart::persistent, 1, 0, true, 100,
       samplers::RbmChainUnits::hidden},
      {"hidden chains, PCD-1, 256 hidden units: shard-packed W", 256, ebm::ChainStart::persistent, 1, 0, true, 100,
       samplers::RbmChainUnits::hidden},
      {"hidden chains, PCD-3, 130 chains", 256, ebm::ChainStart::persistent, 3, 130, true, 100, samplers::RbmChainUnits::hidden},
      {"hidden chains, PCD-5: an observer, one region per sweep", 64, ebm::ChainStart::persistent, 5, 0, true, 100,
       samplers::RbmChainUnits::hidden},
      {"hidden chains, fractional data: BlockGibbs and dense products", 64, ebm::ChainStart::persistent, 2, 0, false, 100,
       samplers::RbmChainUnits::hidden},
      {"hidden chains, 2 rows, 130 chains", 64, ebm::ChainStart::persistent, 2, 130, true, 2, samplers::RbmChainUnits::hidden},
  };
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    ad::Rng init(8, 2);
    ebm::BernoulliRbm<double> rbm(300, c.hidden, init, 0.3);
    for (double& v : rbm.param("c")) v = 0.2 * init.normal();
    for (double& v : rbm.param("b")) v = 0.2 * init.normal();
    ebm::NegativeOptions o;
    o.start = c.start;
    o.steps = c.steps;
    o.count = c.count;
    o.persist = c.persist;
    ebm::ContrastiveDivergence<double> direct(ebm::NegativePhase<double>(ebm::gibbs_sampler<double>(c.persist), o, 5));
    ebm::ContrastiveDivergence<double> taped(ebm::NegativePhase<double>(ebm::gibbs_sampler<double>(c.persist), o, 5));
    ad::Rng data_rng(3, 2);
    for (int batch = 0; batch < 3; ++batch) {
      Tensor<double> x = patterned_input(c.rows, 300, data_rng);
      if (!c.binary)
        for (double& v : x) v *= 0.75;
      ad::Rng r1(11, uint64_t(batch)), r2(11, uint64_t(batch));
      ad::Tape<double> t1;
      const ebm::LossAndGrad<double> a = ebm::loss_and_grad(t1, rbm, direct, x, r1);
      const TapedStep l = taped_step(rbm, taped, x, r2);
      CHECK(std::abs(a.loss - l.loss) <= 1e-12 * (1 + std::abs(l.loss)));
      double worst = 0;
      for (size_t p = 0; p < 3; ++p) {
        const Tensor<double>& gt = l.grads[p];
        for (int64_t k = 0; k < gt.numel(); ++k) worst = std::max(worst, std::abs(a.grad_theta[p][k] - gt[k]));
      }
      CHECK(worst <= 1e-12);
      const Tensor<double>&na = direct.last_negatives(), &nb = taped.last_negatives();
      REQUIRE(na.shape() == nb.shape());
      CHECK(na.rows() == (c.count ? c.count : c.rows));
      int64_t differ = 0;
      for (int64_t k = 0; k < na.numel(); ++k) differ += na[k] != nb[k];
      CHECK(differ == 0);
      if (c.start == ebm::ChainStart::persistent) {  // the same pools, of the units the chains keep
        const auto *pa = direct.negatives().buffer(), *pb = taped.negatives().buffer();
        REQUIRE(pa);
        REQUIRE(pb);
        CHECK(pa->dim() == (c.persist == samplers::RbmChainUnits::hidden ? c.hidden : 300));
        const Tensor<double>&sa = pa->slots().x, &sb = pb->slots().x;
        REQUIRE(sa.shape() == sb.shape());
        int64_t pools_differ = 0;
        for (int64_t k = 0; k < sa.numel(); ++k) pools_differ += sa[k] != sb[k];
        CHECK(pools_differ == 0);
      }
      auto term = [](const std::vector<ebm::Term>& terms, const std::string& name) {
        for (const ebm::Term& t : terms)
          if (t.name == name) return t.value;
        return -1.0;
      };
      CHECK(term(a.terms, "accept_rate") == term(l.terms, "accept_rate"));
      CHECK(term(a.terms, "accept_rate") == 1.0);
      CHECK(term(a.terms, "ess") == term(l.terms, "ess"));  // both from the same trace, or both absent
      for (size_t p = 0; p < 3; ++p)
        for (int64_t k = 0; k < rbm.params()[p].value.numel(); ++k) rbm.params()[p].value[k] -= 0.5 * a.grad_theta[p][k];
    }
  }
}

TEST_CASE("CD on a Bernoulli RBM in whole-step shards: chains whose means are not finite keep their states") {
  ad::Rng init(8, 3);
  ebm::BernoulliRbm<double> rbm(300, 64, init, 0.3);
  rbm.param("b")[7] = std::nan("");  // every chain's p(v | h) is NaN at pixel 7: no chain may move
  ebm::NegativeOptions o;
  o.start = ebm::ChainStart::data;
  o.steps = 2;
  ebm::ContrastiveDivergence<double> cd(ebm::NegativePhase<double>(ebm::gibbs_sampler<double>(), o, 5));
  ad::Rng data_rng(3, 3);
  const Tensor<double> x = patterned_input(100, 300, data_rng);
  ad::Rng r(11, 0);
  ad::Tape<double> tape;
  const ebm::LossAndGrad<double> a = ebm::loss_and_grad(tape, rbm, cd, x, r);
  const Tensor<double>& neg = cd.last_negatives();
  REQUIRE(neg.shape() == x.shape());
  int64_t moved = 0;
  for (int64_t k = 0; k < x.numel(); ++k) moved += neg[k] != x[k];
  CHECK(moved == 0);
  double accept = -1;
  for (const ebm::Term& t : a.terms)
    if (t.name == "accept_rate") accept = t.value;
  CHECK(accept == 0.0);
}

TEST_CASE("whole-step shards: a chain that keeps its state keeps its bits (the W and c gradients are the taped path's)") {
  // b[7] = NaN: every chain's p(v | h) is NaN, so no chain moves (the cases around this one). The shards draw
  // straight into bit rows (Note [Bernoulli from logits]); a chain that keeps its state must keep the bits of that
  // state, which the next sweep, the final product and the weight gradient read. The gradients of W and c do not
  // involve b and stay finite: they must be the taped path's. Two sweeps, so that the kept bits are read again.
  for (const samplers::RbmChainUnits persist : {samplers::RbmChainUnits::visible, samplers::RbmChainUnits::hidden}) {
    CAPTURE(int(persist));
    ad::Rng init(8, 5);
    ebm::BernoulliRbm<double> rbm(300, 64, init, 0.3);
    for (double& v : rbm.param("c")) v = 0.2 * init.normal();
    rbm.param("b")[7] = std::nan("");
    ebm::NegativeOptions o;
    o.start = persist == samplers::RbmChainUnits::visible ? ebm::ChainStart::data : ebm::ChainStart::persistent;
    o.steps = 2;
    o.persist = persist;
    ebm::ContrastiveDivergence<double> direct(ebm::NegativePhase<double>(ebm::gibbs_sampler<double>(persist), o, 5));
    ebm::ContrastiveDivergence<double> taped(ebm::NegativePhase<double>(ebm::gibbs_sampler<double>(persist), o, 5));
    ad::Rng data_rng(3, 5);
    const Tensor<double> x = patterned_input(100, 300, data_rng);
    ad::Rng r1(11, 2), r2(11, 2);
    ad::Tape<double> t1;
    const ebm::LossAndGrad<double> a = ebm::loss_and_grad(t1, rbm, direct, x, r1);
    const TapedStep l = taped_step(rbm, taped, x, r2);
    for (const size_t p : {size_t{0}, size_t{2}}) {  // W and c
      CAPTURE(p);
      const Tensor<double>& gt = l.grads[p];
      double worst = 0;
      for (int64_t k = 0; k < gt.numel(); ++k) worst = std::max(worst, std::abs(a.grad_theta[p][k] - gt[k]));
      CHECK(worst <= 1e-12);
    }
    const Tensor<double>&na = direct.last_negatives(), &nb = taped.last_negatives();
    int64_t differ = 0;
    for (int64_t k = 0; k < na.numel(); ++k) differ += na[k] != nb[k];
    CHECK(differ == 0);
  }
}

TEST_CASE("PCD over hidden chains in whole-step shards: chains whose means are not finite keep their hidden states") {
  ad::Rng init(8, 4);
  ebm::BernoulliRbm<double> rbm(300, 64, init, 0.3);
  ebm::NegativeOptions o;
  o.start = ebm::ChainStart::persistent;
  o.persist = samplers::RbmChainUnits::hidden;
  ebm::ContrastiveDivergence<double> cd(ebm::NegativePhase<double>(ebm::gibbs_sampler<double>(o.persist), o, 5));
  ad::Rng data_rng(3, 4);
  const Tensor<double> x = patterned_input(100, 300, data_rng);
  ad::Rng r0(11, 0);
  ad::Tape<double> t0;
  ebm::loss_and_grad(t0, rbm, cd, x, r0);  // a finite step: the pool exists and its chains moved
  REQUIRE(cd.negatives().buffer());
  const Tensor<double> before = cd.negatives().buffer()->slots().x;
  REQUIRE(before.cols() == 64);
  rbm.param("b")[7] = std::nan("");  // every chain's p(v | h) is NaN at pixel 7: no chain may move
  ad::Rng r1(11, 1);
  ad::Tape<double> t1;
  const ebm::LossAndGrad<double> a = ebm::loss_and_grad(t1, rbm, cd, x, r1);
  const Tensor<double>& after = cd.negatives().buffer()->slots().x;
  int64_t moved = 0;
  for (int64_t k = 0; k < before.numel(); ++k) moved += before[k] != after[k];
  CHECK(moved == 0);
  double accept = -1;
  for (const ebm::Term& t : a.terms)
    if (t.name == "accept_rate") accept = t.value;
  CHECK(accept == 0.0);
}

TEST_CASE("PCD steps on a Bernoulli RBM are bit-identical with 1 and 2 threads, over visible and hidden chains") {
  for (const samplers::RbmChainUnits persist : {samplers::RbmChainUnits::visible, samplers::RbmChainUnits::hidden}) {
    CAPTURE(int(persist));
    PcdRun one, two;
    {
      REQUIRE_THREADS(2);  // the run this one is compared with uses more than one
      ad::ThreadLimit limit(1);
      one = run_pcd(4, persist);
    }
    {
      ad::ThreadLimit limit(2);
      REQUIRE_THREADS(2);
      two = run_pcd(4, persist);
    }
    REQUIRE(one.losses.size() == two.losses.size());
    for (size_t s = 0; s < one.losses.size(); ++s) CHECK(one.losses[s] == two.losses[s]);
    auto same = [](const std::vector<Tensor<double>>& a, const std::vector<Tensor<double>>& b) {
      if (a.size() != b.size()) return false;
      for (size_t t = 0; t < a.size(); ++t)
        for (int64_t k = 0; k < a[t].numel(); ++k)
          if (a[t][k] != b[t][k]) return false;
      return true;
    };
    CHECK(same(one.grads, two.grads));
    CHECK(same(one.negatives, two.negatives));
    CHECK(same(one.params, two.params));
  }
}

TEST_CASE("RBM conditionals on large 0/1 batches (several planning blocks, slices and row shards) equal naive sums") {
  // 45 hidden units: W packed into panels; 64 and 128: W read in place (whole panels per row).
  for (int64_t h : {45, 64, 128}) {
    CAPTURE(h);
    ad::Rng rng(6, uint64_t(h));
    ebm::BernoulliRbm<double> rbm(600, h, rng, 0.3);
    const Tensor<double> x = patterned_input(530, 600, rng);
    const Tensor<double> ph = rbm.hidden_preactivation(x);
    const Tensor<double>&w = rbm.param("W");
    double worst = 0;
    for (int64_t r = 0; r < x.rows(); ++r)
      for (int64_t j = 0; j < h; ++j) {
        double a = 0;
        for (int64_t i = 0; i < 600; ++i) a += x.at(r, i) * w.at(i, j);
        worst = std::max(worst, std::abs(ph.at(r, j) - a));
      }
    CHECK(worst <= 1e-12);
  }
}
