// Chain state, checkpoints, the replay buffer, the trace recorder, dual averaging and the energy interface.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <set>
#include <sstream>
#include <vector>

#include "autodiff/ops.hpp"
#include "samplers/energy.hpp"
#include "samplers/hmc.hpp"
#include "samplers/metropolis.hpp"
#include "samplers/tempering.hpp"
#include "samplers/langevin.hpp"
#include "samplers/mala.hpp"
#include "samplers/replay.hpp"
#include "samplers/state.hpp"

using Tape = ad::Tape<double>;
using Var = ad::Var<double>;
using State = samplers::ChainState<double>;

namespace {

Var quadratic(Tape&, const Var& x) { return 0.5 * ad::sum(ad::square(x), 1); }

bool same_bits(const ad::Tensor<double>& a, const ad::Tensor<double>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), size_t(a.numel()) * sizeof(double)) == 0;
}

}  // namespace

TEST_CASE("a saved chain state resumes bit-exactly") {
  State s(16, 3, 61);
  s.fill_normal();
  samplers::Mala<double> mala(quadratic, {.step_size = 0.5});
  mala.run(s, 7);  // leaves generators mid-block, some with a spare normal: the cases a checkpoint must keep
  const std::vector<uint8_t> blob = s.to_bytes();
  mala.run(s, 10);
  State restored = State::from_bytes(blob);
  mala.run(restored, 10);
  CHECK(same_bits(s.x, restored.x));
  for (size_t c = 0; c < s.rngs.size(); ++c) CHECK(s.rngs[c].next_u64() == restored.rngs[c].next_u64());

  // Streams, and the precision check on load.
  std::stringstream f32;
  samplers::ChainState<float>(2, 2, 1).save(f32);
  CHECK_THROWS_AS(State::load(f32), std::runtime_error);
  std::vector<uint8_t> bad = blob;
  bad[0] = 'X';
  CHECK_THROWS_AS(State::from_bytes(bad), std::runtime_error);
  bad = blob;
  bad.resize(bad.size() - 5);
  CHECK_THROWS_AS(State::from_bytes(bad), std::runtime_error);
}

TEST_CASE("energy evaluator: per-sample gradients, shape errors, and tape reuse") {
  samplers::EnergyEvaluator<double> ev;
  const ad::Tensor<double> x(ad::Shape{3, 2}, {1, 2, 3, 4, 5, 6});
  std::vector<double> e;
  ad::Tensor<double> g;
  ev.energy_grad(quadratic, x, e, g);
  CHECK(e == std::vector<double>{2.5, 12.5, 30.5});
  CHECK(same_bits(g, x));  // ∇ ½|x|² = x, row by row
  const size_t arena = ev.tape().arena_bytes();
  for (int i = 0; i < 10; ++i) ev.energy_grad(quadratic, x, e, g);
  CHECK(ev.tape().arena_bytes() == arena);  // one tape, cleared and reused: no growth per step
  CHECK(ev.evaluations() == 11);
  const samplers::BatchEnergy<double> total = [](Tape&, const Var& v) { return ad::sum(v); };
  CHECK_THROWS_WITH_AS(ev.energy(total, x, e), doctest::Contains("one value per sample"), std::invalid_argument);
}

TEST_CASE("dual averaging converges to the step that gives the target acceptance") {
  // A synthetic sampler whose acceptance is exp(−step): the fixed point for target 0.65 is −log 0.65.
  samplers::DualAveraging da(0.01, 0.65);
  double step = 0.01;
  for (int i = 0; i < 2000; ++i) step = da.update(std::exp(-step));
  CHECK(da.final_step() == doctest::Approx(-std::log(0.65)).epsilon(0.02));
  CHECK(da.iterations() == 2000);
}

TEST_CASE("trace records rows and thins") {
  State s(4, 2, 1);
  samplers::Trace<double> tr(1, 2, 3);  // rows 1 and 2, every third step
  samplers::Langevin<double> ula(quadratic, {.step_size = 0.1});
  ula.run(s, 12, tr.observer());
  CHECK(tr.chains() == 2);
  CHECK(tr.draws() == 4);
  CHECK(tr.dim() == 2);
  CHECK(tr.draw(1, 3)[1] == s.x.at(2, 1));  // the last record is the final state
  CHECK(tr.coordinate(0).size() == 2);
  samplers::Trace<double> out_of_range(3, 5);
  CHECK_THROWS_AS(out_of_range.record(s), std::invalid_argument);
}

TEST_CASE("replay buffer: fresh noise, distinct draws, reinit rate, write-back, checkpoint") {
  samplers::ReplayOptions opt;
  opt.capacity = 200;
  opt.reinit_prob = 0.05;
  samplers::ReplayBuffer<double> buf(3, opt, 71);
  for (double v : buf.slots().x) CHECK((v >= -1 && v < 1));

  // The number of restarts in 400 draws of 50 is Binomial(20000, 0.05): within 4.5 sd of 1000.
  int64_t fresh = 0;
  for (int i = 0; i < 400; ++i) {
    const auto b = buf.draw(50);
    REQUIRE(b.slots.size() == 50);
    CHECK(std::set<int64_t>(b.slots.begin(), b.slots.end()).size() == 50);
    CHECK(std::is_sorted(b.slots.begin(), b.slots.end()));
    for (auto f : b.fresh) fresh += f;
  }
  CHECK(std::abs(double(fresh) - 1000) <= 4.5 * std::sqrt(20000 * 0.05 * 0.95));

  // Training-loop shape: draw, advance with Langevin, write back. A checkpoint taken in between resumes
  // the identical sequence.
  samplers::Langevin<double> ula(quadratic, {.step_size = 0.1});
  auto iterate = [&](samplers::ReplayBuffer<double>& rb) {
    auto b = rb.draw(32);
    ula.run(b.chains, 5);
    rb.write_back(b);
    return b;
  };
  auto b0 = iterate(buf);
  for (size_t r = 0; r < b0.slots.size(); ++r)
    CHECK(std::memcmp(buf.slots().row(b0.slots[r]), b0.chains.row(int64_t(r)), 3 * sizeof(double)) == 0);
  std::stringstream ckpt;
  buf.save(ckpt);
  for (int i = 0; i < 3; ++i) iterate(buf);
  samplers::ReplayBuffer<double> other(3, opt, 999);  // different seed: everything comes from the checkpoint
  other.load(ckpt);
  for (int i = 0; i < 3; ++i) iterate(other);
  CHECK(same_bits(buf.slots().x, other.slots().x));
  CHECK(same_bits(buf.draw(10).chains.x, other.draw(10).chains.x));

  // write_back copies rows in parallel, so a batch naming a slot twice (not one draw() returns) is refused,
  // and so is a slot out of range; the pool is left as it was.
  auto twice = buf.draw(4);
  twice.slots[3] = twice.slots[1];
  const ad::Tensor<double> kept = buf.slots().x;
  CHECK_THROWS_AS(buf.write_back(twice), std::invalid_argument);
  twice.slots[3] = opt.capacity;
  CHECK_THROWS_AS(buf.write_back(twice), std::invalid_argument);
  CHECK(same_bits(buf.slots().x, kept));

  samplers::ReplayBuffer<double> wrong(4, opt, 1);
  std::stringstream again;
  buf.save(again);
  CHECK_THROWS_AS(wrong.load(again), std::runtime_error);
}

TEST_CASE("replay buffer with capacity = batch is persistent chains") {
  samplers::ReplayOptions opt;
  opt.capacity = 8;
  opt.reinit_prob = 0.0;
  opt.noise = samplers::InitNoise::normal;
  samplers::ReplayBuffer<double> pcd(2, opt, 3);
  const ad::Tensor<double> before = pcd.slots().x;
  auto b = pcd.draw(8);
  for (int64_t i = 0; i < 8; ++i) CHECK(b.slots[size_t(i)] == i);
  CHECK(same_bits(b.chains.x, before));  // no restarts: the chains continue where they were
}

TEST_CASE("replay buffer: lend_all is draw(capacity) without the copy, and the pool is unusable until written back") {
  samplers::Langevin<double> ula(quadratic, {.step_size = 0.1});
  for (const double reinit : {0.0, 0.3}) {  // 0.3: most batches restart a slot, and those are copied as by draw
    CAPTURE(reinit);
    samplers::ReplayOptions opt;
    opt.capacity = 16;
    opt.reinit_prob = reinit;
    samplers::ReplayBuffer<double> copied(3, opt, 5), lent(3, opt, 5);
    int loans = 0;
    for (int step = 0; step < 6; ++step) {
      auto a = copied.draw(16);
      auto b = lent.lend_all();
      loans += lent.lent();
      CHECK(a.slots == b.slots);
      CHECK(a.fresh == b.fresh);
      CHECK(same_bits(a.chains.x, b.chains.x));
      ula.run(a.chains, 3);
      ula.run(b.chains, 3);
      copied.write_back(a);
      lent.write_back(b);
      CHECK(!lent.lent());
      CHECK(same_bits(copied.slots().x, lent.slots().x));
    }
    CHECK(loans == (reinit == 0.0 ? 6 : 0));
  }

  samplers::ReplayOptions opt;
  opt.capacity = 8;
  opt.reinit_prob = 0.0;
  samplers::ReplayBuffer<double> buf(2, opt, 9);
  std::stringstream ckpt;
  buf.save(ckpt);
  auto b = buf.lend_all();
  REQUIRE(buf.lent());
  CHECK(buf.capacity() == 8);
  CHECK(buf.dim() == 2);
  CHECK_THROWS_AS(buf.draw(2), std::logic_error);
  CHECK_THROWS_AS(buf.lend_all(), std::logic_error);
  CHECK_THROWS_AS(buf.slots(), std::logic_error);
  std::stringstream out;
  CHECK_THROWS_AS(buf.save(out), std::logic_error);
  auto part = b;  // a batch of some slots cannot return the loan: the others would have no positions
  part.slots.resize(4), part.fresh.resize(4), part.chains.rngs.resize(4);
  part.chains.x = ad::Tensor<double>(ad::Shape{4, 2});
  CHECK_THROWS_AS(buf.write_back(part), std::invalid_argument);
  CHECK(buf.lent());
  buf.load(ckpt);  // a checkpoint ends the loan
  CHECK(!buf.lent());
  CHECK(buf.slots().chains() == 8);
}

TEST_CASE("the step-based samplers share one interface") {
  samplers::TemperingOptions pt;
  pt.betas = {1.0, 0.5};
  std::vector<std::unique_ptr<samplers::Sampler<double>>> all;
  all.push_back(std::make_unique<samplers::RandomWalkMetropolis<double>>(quadratic));
  all.push_back(std::make_unique<samplers::Mala<double>>(quadratic));
  all.push_back(std::make_unique<samplers::Hmc<double>>(quadratic));
  all.push_back(std::make_unique<samplers::Langevin<double>>(quadratic));
  all.push_back(std::make_unique<samplers::ParallelTempering<double>>(quadratic, pt));
  for (auto& sampler : all) {
    State s(8, 2, 5);
    int64_t seen = 0;
    sampler->warmup(s, 3);
    const auto st = sampler->run(s, 4, [&](int64_t, const State&) { ++seen; });
    CHECK(seen == 4);
    CHECK(st.proposals == 4 * 8);
    CHECK(st.step_size > 0);
  }
}
