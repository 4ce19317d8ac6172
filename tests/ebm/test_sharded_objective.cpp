// The sharded training step (Note [Sharded training step]): its batch loss and gradient against references that
// do not shard (one tape over the whole batch, the f-EBM bound over the union of the shards' draws, the tape path
// against the RBM's closed form), the independence from the thread count, and the shards' own persistent chains.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <ebm/models/gaussian.hpp>
#include <ebm/models/mlp.hpp>
#include <ebm/models/rbm.hpp>
#include <ebm/objectives/contrastive_divergence.hpp>
#include <ebm/objectives/denoising.hpp>
#include <ebm/objectives/f_divergence.hpp>
#include <ebm/objectives/score_matching.hpp>
#include <ebm/optim/sharded_objective.hpp>

#include "../thread_check.hpp"

using ad::Shape;
using ad::Tensor;
using ebm::LossAndGrad;
using ebm::ShardedObjective;

namespace {

Tensor<double> normal_batch(int64_t rows, int64_t cols, uint64_t seed) {
  Tensor<double> x(Shape{rows, cols});
  ad::Rng rng(seed);
  ad::fill_normal(x, rng);
  return x;
}

void check_close(const std::vector<Tensor<double>>& got, const std::vector<Tensor<double>>& want, double rel) {
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < got.size(); ++k) {
    CAPTURE(k);
    REQUIRE(got[k].shape() == want[k].shape());
    double scale = 0;
    for (double v : want[k]) scale = std::max(scale, std::abs(v));
    for (int64_t i = 0; i < got[k].numel(); ++i) CHECK(std::abs(got[k][i] - want[k][i]) <= rel * (scale + 1e-300));
  }
}

bool same_bits(const LossAndGrad<double>& a, const LossAndGrad<double>& b) {
  if (a.loss != b.loss || a.grad_theta.size() != b.grad_theta.size()) return false;
  for (size_t k = 0; k < a.grad_theta.size(); ++k)
    if (!std::equal(a.grad_theta[k].begin(), a.grad_theta[k].end(), b.grad_theta[k].begin())) return false;
  return true;
}

// CD whose closed-form gradient is switched off: the same draws through the tape.
class TapeOnlyCd : public ebm::ContrastiveDivergence<double> {
 public:
  using ebm::ContrastiveDivergence<double>::ContrastiveDivergence;
  std::unique_ptr<ebm::Objective<double>> clone() const override { return std::make_unique<TapeOnlyCd>(*this); }
  std::unique_ptr<ebm::Objective<double>> shard(int s, int count) const override {
    auto base = ebm::ContrastiveDivergence<double>::shard(s, count);
    auto part = std::make_unique<TapeOnlyCd>(*this);
    static_cast<ebm::ContrastiveDivergence<double>&>(*part) = static_cast<ebm::ContrastiveDivergence<double>&>(*base);
    return part;
  }
  std::optional<LossAndGrad<double>> direct_loss_and_grad(const ebm::Energy<double>&, const Tensor<double>&, ad::Rng&,
                                                          const std::vector<int64_t>*) override {
    return std::nullopt;
  }
};

}  // namespace

TEST_CASE("sharded step: without draws (exact score matching), any shard count gives the whole batch's loss and gradient") {
  ad::Rng init(4);
  ebm::MlpEnergy<double> model(3, {16, 8}, ebm::Activation::silu, init);
  ebm::ScoreMatching<double> sm;
  const Tensor<double> x = normal_batch(13, 3, 7);  // 13 rows: unequal shards for S = 2, 3, 5
  ad::Tape<double> tape;
  ad::Rng rng(1);
  const LossAndGrad<double> whole = ebm::loss_and_grad(tape, model, sm, x, rng);
  for (int S : {1, 2, 3, 5}) {
    CAPTURE(S);
    ShardedObjective<double> sharded(sm, S);
    const LossAndGrad<double> got = sharded.loss_and_grad(model, x, ad::Rng(1));
    CHECK(got.loss == doctest::Approx(whole.loss).epsilon(1e-12));
    check_close(got.grad_theta, whole.grad_theta, 1e-12);
    REQUIRE(got.terms.size() == whole.terms.size());
    for (size_t k = 0; k < got.terms.size(); ++k) CHECK(got.terms[k].value == doctest::Approx(whole.terms[k].value).epsilon(1e-12));
  }
  ShardedObjective<double> too_many(sm, 14);
  CHECK_THROWS_AS(too_many.loss_and_grad(model, x, ad::Rng(1)), ad::ShapeError);
}

TEST_CASE("sharded step: f-EBM over two shards is the importance-weighted bound over the union of the shards' draws") {
  // Note [f-EBM across shards]: θ's self-normalised weights span every shard's draws, through the batch mean F̄.
  // The reference is FEbm::bound (softmax weights, no shards) on the whole batch and the same draws.
  const Tensor<double> x = normal_batch(12, 1, 3);
  for (ebm::FDivergence k : {ebm::FDivergence::kl, ebm::FDivergence::jensen_shannon, ebm::FDivergence::pearson}) {
    CAPTURE(ebm::to_string(k));
    ebm::FEbmOptions o;
    o.divergence.kind = k;
    o.hidden = {6};
    o.model_samples = 10;
    ebm::FEbm<double> obj(1, o);
    auto model = ebm::GaussianEnergy<double>::diagonal(Tensor<double>(Shape{1}, {0.4}), Tensor<double>(Shape{1}, {1.3}));
    const ad::Rng step(99);
    ShardedObjective<double> sharded(obj, 2);
    const LossAndGrad<double> got = sharded.loss_and_grad(model, x, step);

    // The shards' draws, as each shard's objective makes them: 5 from each shard's stream, on its 6 rows.
    Tensor<double> y(Shape{10, 1});
    for (int s = 0; s < 2; ++s) {
      ad::Rng r = step.split(ShardedObjective<double>::kShardStream + static_cast<uint64_t>(s));
      const Tensor<double> ys = obj.sample_model(model, ad::rows_of(x, ad::RowRange{6 * s, 6 * s + 6}), 5, r);
      std::copy(ys.begin(), ys.end(), y.begin() + 5 * s);
    }
    ad::Tape<double> tape;
    const auto theta = ebm::bind_params(tape, model.params(), ebm::Bind::variable);
    const auto omega = ebm::bind_params(tape, obj.extra_params(), ebm::Bind::variable);
    ad::Rng unused(0);
    const ad::Var<double> bound = obj.bound(ebm::LossInput<double>{tape, model, theta, omega, x, unused}, y, model.evaluate(y));
    std::vector<ad::Var<double>> inputs = theta;
    inputs.insert(inputs.end(), omega.begin(), omega.end());
    const std::vector<ad::Var<double>> g = ad::grad<double>({bound}, inputs);
    std::vector<Tensor<double>> want_theta, want_omega;
    for (size_t i = 0; i < g.size(); ++i) {
      Tensor<double> v = g[i].value();
      if (i >= theta.size())
        for (double& e : v) e = -e;  // the surrogate ascends ω
      (i < theta.size() ? want_theta : want_omega).push_back(v);
    }
    CHECK(got.loss == doctest::Approx(bound.item()).epsilon(1e-12));
    check_close(got.grad_theta, want_theta, 1e-10);
    check_close(got.grad_extra, want_omega, 1e-10);
  }
}

TEST_CASE("sharded step: an RBM's closed-form CD gradient per shard equals the tape's on the same shards and draws") {
  ad::Rng init(8);
  ebm::BernoulliRbm<double> rbm(12, 5, init, 0.3);
  Tensor<double> x(Shape{20, 12});
  ad::Rng data(5);
  for (double& v : x) v = data.uniform() < 0.4 ? 1.0 : 0.0;
  ebm::NegativeOptions o;
  o.steps = 2;
  o.start = ebm::ChainStart::persistent;
  for (int S : {1, 2, 3}) {
    CAPTURE(S);
    ebm::ContrastiveDivergence<double> fast(ebm::NegativePhase<double>(ebm::gibbs_sampler<double>(), o));
    TapeOnlyCd slow(ebm::NegativePhase<double>(ebm::gibbs_sampler<double>(), o));
    ShardedObjective<double> a(fast, S), b(slow, S);
    for (uint64_t t = 0; t < 3; ++t) {  // persistent chains: the later steps start where the shards' pools left off
      const LossAndGrad<double> ga = a.loss_and_grad(rbm, x, ad::Rng(21).split(t)), gb = b.loss_and_grad(rbm, x, ad::Rng(21).split(t));
      CHECK(ga.loss == doctest::Approx(gb.loss).epsilon(1e-12));
      check_close(ga.grad_theta, gb.grad_theta, 1e-10);
    }
  }
}

TEST_CASE("sharded step: the thread count never changes the bits; persistent chains are each shard's own and resume exactly") {
  REQUIRE_THREADS(2);
  ad::Rng init(2);
  ebm::MlpEnergy<double> model(2, {32, 32}, ebm::Activation::silu, init);
  const Tensor<double> x = normal_batch(64, 2, 9);
  ebm::NegativeOptions o;
  o.steps = 5;
  o.start = ebm::ChainStart::persistent;
  o.buffer.capacity = 100;
  o.buffer.reinit_prob = 0.05;
  samplers::LangevinOptions lo;
  lo.step_size = 0.01;
  const auto make_cd = [&] { return ebm::ContrastiveDivergence<double>(ebm::NegativePhase<double>(ebm::langevin_sampler<double>(lo), o)); };

  const auto run = [&](int threads, ebm::Objective<double>& objective, int steps) {
    ad::ThreadLimit limit(threads);
    ShardedObjective<double> sharded(objective, 3);
    std::vector<LossAndGrad<double>> out;
    for (int t = 0; t < steps; ++t) out.push_back(sharded.loss_and_grad(model, x, ad::Rng(6).split(static_cast<uint64_t>(t))));
    return std::make_pair(std::move(out), sharded.save_state());
  };
  ebm::DenoisingScoreMatching<double> dsm(0.1);
  auto cd1 = make_cd(), cd2 = make_cd();
  const auto dsm1 = run(1, dsm, 3), dsm2 = run(2, dsm, 3), cd_on_1 = run(1, cd1, 3), cd_on_2 = run(2, cd2, 3);
  for (size_t t = 0; t < 3; ++t) {
    CHECK(same_bits(dsm1.first[t], dsm2.first[t]));
    CHECK(same_bits(cd_on_1.first[t], cd_on_2.first[t]));
  }
  CHECK(cd_on_1.second == cd_on_2.second);  // the pools too

  // Three pools of 34, 33 and 33 chains (the capacity split as rows are), 22/21/21 negatives drawn from each.
  auto cd3 = make_cd();
  ShardedObjective<double> sharded(cd3, 3);
  (void)sharded.loss_and_grad(model, x, ad::Rng(6).split(0));
  const std::vector<int64_t> capacity{34, 33, 33};
  for (int s = 0; s < 3; ++s) {
    const auto& part = dynamic_cast<const ebm::ContrastiveDivergence<double>&>(sharded.part(s));
    REQUIRE(part.negatives().buffer() != nullptr);
    CHECK(part.negatives().buffer()->capacity() == capacity[static_cast<size_t>(s)]);
    CHECK(part.last_negatives().rows() == (s == 0 ? 22 : 21));
  }
  // A resume: the shards' states into fresh shards give the next step's bits.
  const auto saved = sharded.save_state();
  const LossAndGrad<double> next = sharded.loss_and_grad(model, x, ad::Rng(6).split(1));
  auto cd4 = make_cd();
  ShardedObjective<double> resumed(cd4, 3);
  resumed.load_state(saved);
  CHECK(same_bits(resumed.loss_and_grad(model, x, ad::Rng(6).split(1)), next));
  auto cd5 = make_cd();
  ShardedObjective<double> other(cd5, 2);
  CHECK_THROWS_AS(other.load_state(saved), std::runtime_error);
  // Fewer negatives than shards cannot be split.
  o.count = 2;
  auto few = make_cd();
  CHECK_THROWS_AS(ShardedObjective<double>(few, 3), std::invalid_argument);
}
