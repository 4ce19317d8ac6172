// The same seed gives bit-identical chains on 1 and on 2 threads, for every sampler (Note [One stream per
// chain] in samplers/state.hpp). The energy is a small network, so the engine's batched kernels (matmul,
// reductions) take part as well, and 64 chains are enough for TBB to split the per-chain loops.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "autodiff/ops.hpp"
#include "autodiff/threads.hpp"
#include "samplers/samplers.hpp"
#include "../thread_check.hpp"

using Tape = ad::Tape<double>;
using Var = ad::Var<double>;
using State = samplers::ChainState<double>;

namespace {

constexpr int64_t kD = 4, kH = 32, kB = 64;

// E(x) = ½|x|² + Σ_j v_j softplus((xW + c)_j) / 4: smooth, bounded below, not Gaussian.
Var network_energy(Tape& t, const Var& x) {
  ad::Rng rng(5, 0);
  ad::Tensor<double> w(ad::Shape{kD, kH}), c(ad::Shape{kH}), v(ad::Shape{kH, 1});
  ad::fill_normal(w, rng);
  ad::fill_normal(c, rng);
  ad::fill_normal(v, rng);
  const Var hidden = ad::softplus(ad::matmul(x, t.constant(w)) + t.constant(c));
  return 0.5 * ad::sum(ad::square(x), 1) + 0.25 * ad::reshape(ad::matmul(hidden, t.constant(v)), ad::Shape{x.shape()[0]});
}

Var conditioned(Tape& t, const Var& x, double sigma) { return network_energy(t, x) * (1 / (1 + sigma * sigma)); }

class Bm final : public samplers::BinaryConditionals<double> {
 public:
  int64_t num_units() const override { return kD; }
  samplers::BinaryUnits units() const override { return samplers::BinaryUnits::plus_minus_one; }
  double conditional_logit(const double* x, int64_t i) const override {
    double a = 0.1 * double(i);
    for (int64_t j = 0; j < kD; ++j)
      if (j != i) a += 0.4 * std::sin(double(i + 2 * j)) * x[j];
    return 2 * a;
  }
};

class Rbm final : public samplers::RbmConditionals<double> {
 public:
  int64_t num_visible() const override { return kD; }
  int64_t num_hidden() const override { return 3; }
  samplers::VisibleUnits visible_units() const override { return samplers::VisibleUnits::gaussian; }
  ad::Tensor<double> hidden_mean(const ad::Tensor<double>& v) const override {
    ad::Tensor<double> p(ad::Shape{v.rows(), 3});
    for (int64_t n = 0; n < v.rows(); ++n)
      for (int64_t j = 0; j < 3; ++j) p.at(n, j) = 1 / (1 + std::exp(-(v.at(n, j) - v.at(n, j + 1))));
    return p;
  }
  ad::Tensor<double> visible_mean(const ad::Tensor<double>& h) const override {
    ad::Tensor<double> m(ad::Shape{h.rows(), kD});
    for (int64_t n = 0; n < h.rows(); ++n)
      for (int64_t i = 0; i < kD; ++i) m.at(n, i) = 0.5 * h.at(n, i % 3) - 0.2;
    return m;
  }
  ad::Tensor<double> visible_stddev() const override { return ad::Tensor<double>(ad::Shape{kD}, 0.7); }
};

struct Outcome {
  ad::Tensor<double> x;
  samplers::SamplerStats stats;
};

// Runs `f` on 1 and on 2 threads and requires identical positions and counts.
void same_on_1_and_2_threads(const std::string& name, const std::function<Outcome()>& f) {
  Outcome one, two;
  {
    REQUIRE_THREADS(2);  // the run this one is compared with uses more than one
    ad::ThreadLimit limit(1);
    one = f();
  }
  {
    ad::ThreadLimit limit(2);
    REQUIRE_THREADS(2);
    two = f();
  }
  CAPTURE(name);
  REQUIRE(one.x.shape() == two.x.shape());
  CHECK(std::memcmp(one.x.data(), two.x.data(), size_t(one.x.numel()) * sizeof(double)) == 0);
  CHECK(one.stats.accepted == two.stats.accepted);
  CHECK(one.stats.nan_proposals == two.stats.nan_proposals);
  CHECK(one.stats.step_size == two.stats.step_size);
  CHECK(one.stats.swap_rates == two.stats.swap_rates);
}

State start(uint64_t seed) {
  State s(kB, kD, seed);
  s.fill_normal(0.0, 2.0);
  return s;
}

}  // namespace

TEST_CASE("every sampler gives bit-identical chains on 1 and 2 threads") {
  same_on_1_and_2_threads("MH", [] {
    State s = start(1);
    samplers::RandomWalkMetropolis<double> mh(network_energy, {.step_size = 0.8});
    auto st = mh.warmup(s, 20);
    st += mh.run(s, 30);
    return Outcome{s.x, st};
  });
  same_on_1_and_2_threads("MALA", [] {
    State s = start(2);
    samplers::Mala<double> mala(network_energy, {.step_size = 0.3});
    auto st = mala.warmup(s, 20);
    st += mala.run(s, 30);
    return Outcome{s.x, st};
  });
  same_on_1_and_2_threads("HMC", [] {
    State s = start(3);
    samplers::Hmc<double> hmc(network_energy, {.step_size = 0.2, .leapfrog_steps = 5, .mass = {}, .jitter = 0.2});
    auto st = hmc.warmup(s, 10);
    st += hmc.run(s, 10);
    return Outcome{s.x, st};
  });
  same_on_1_and_2_threads("ULA", [] {
    State s = start(4);
    samplers::Langevin<double> ula(network_energy, {.step_size = 0.05, .noise_scale = 0.1, .grad_clip_norm = 5.0});
    return Outcome{s.x, ula.run(s, 40)};
  });
  same_on_1_and_2_threads("SVGD", [] {
    State s = start(10);
    samplers::Svgd<double> svgd(network_energy, {.step_size = 0.2, .bandwidth = 0, .block_rows = 16});
    return Outcome{s.x, svgd.run(s, 20)};
  });
  same_on_1_and_2_threads("annealed Langevin", [] {
    State s = start(5);
    samplers::AnnealedLangevinOptions opt;
    opt.sigmas = {2.0, 1.0, 0.5};
    opt.step_size = 0.01;
    opt.steps_per_level = 10;
    opt.denoise = true;
    samplers::AnnealedLangevin<double> al(conditioned, opt);
    return Outcome{s.x, al.run(s)};
  });
  same_on_1_and_2_threads("parallel tempering", [] {
    samplers::TemperingOptions opt;
    opt.betas = samplers::TemperingOptions::geometric(4, 0.1);
    samplers::ParallelTempering<double> pt(network_energy, opt);
    State s = pt.make_state(kB / 4, kD, 6);
    s.fill_normal();
    auto st = pt.warmup(s, 10);
    st += pt.run(s, 20);
    return Outcome{s.x, st};
  });
  same_on_1_and_2_threads("single-site Gibbs", [] {
    const Bm bm;
    State s(kB, kD, 7);
    samplers::fill_binary(s, samplers::BinaryUnits::plus_minus_one);
    samplers::SingleSiteGibbs<double> g(bm, samplers::ScanOrder::random);
    return Outcome{s.x, g.run(s, 30)};
  });
  same_on_1_and_2_threads("block Gibbs", [] {
    const Rbm rbm;
    State s(kB, kD, 8);
    samplers::BlockGibbs<double> g(rbm);
    return Outcome{s.x, g.run(s, 30)};
  });
  same_on_1_and_2_threads("replay buffer + ULA", [] {
    samplers::ReplayOptions opt;
    opt.capacity = 256;
    samplers::ReplayBuffer<double> buf(kD, opt, 9);
    samplers::Langevin<double> ula(network_energy, {.step_size = 0.05});
    samplers::SamplerStats st;
    for (int i = 0; i < 5; ++i) {
      auto b = buf.draw(kB);
      st += ula.run(b.chains, 5);
      buf.write_back(b);
    }
    return Outcome{buf.slots().x, st};
  });
}
