// Optimisers: Adam and SGD against hand-computed trajectories of the torch formulas; schedules; clipping.
#include <doctest/doctest.h>

#include <cmath>

#include <ebm/optim/adam.hpp>
#include <ebm/optim/sgd.hpp>
#include <ebm/optim/train_step.hpp>
#include <ebm/models/gaussian.hpp>
#include <ebm/objectives/nce.hpp>

using ad::Shape;
using ad::Tensor;

TEST_CASE("Adam: two steps on f(θ) = θ², θ0 = 1, lr = 0.1, defaults, match the torch formula by hand") {
  // Step 1: g = 2, m = 0.2, v = 0.004, bias corrections 0.1 and 0.001, so
  //   θ1 = 1 − (0.1/0.1)·0.2 / (√0.004/√0.001 + 1e-8) = 1 − 0.2/(2 + 1e-8) = 0.9000000005 (to 1e-10).
  // Step 2: g = 2θ1 = 1.800000001, m = 0.18 + 0.1800000001 = 0.3600000001,
  //   v = 0.003996 + 0.001·g² = 0.0072360000036, bias corrections 0.19 and 0.001999:
  //   θ2 = θ1 − (0.1/0.19)·m / (√(v/0.001999) + 1e-8) = 0.9000000005 − 0.0995877718 = 0.8004122287 (to 1e-10).
  ebm::Adam<double> adam(ebm::constant_lr(0.1));
  Tensor<double> theta = Tensor<double>::scalar(1.0);
  const std::vector<Tensor<double>*> params{&theta};
  adam.step(params, {Tensor<double>::scalar(2 * theta.item())});
  CHECK(theta.item() == doctest::Approx(0.9000000005).epsilon(1e-10));
  adam.step(params, {Tensor<double>::scalar(2 * theta.item())});
  CHECK(theta.item() == doctest::Approx(0.8004122287).epsilon(1e-10));
  const auto st = adam.state();
  CHECK(st.step == 2);
  CHECK(st.m[0].item() == doctest::Approx(0.3600000001).epsilon(1e-12));
  CHECK(st.v[0].item() == doctest::Approx(0.0072360000036).epsilon(1e-12));

  // Restoring the state resumes the same trajectory.
  ebm::Adam<double> resumed(ebm::constant_lr(0.1));
  resumed.set_state(st);
  Tensor<double> a = theta, b = theta;
  adam.step({&a}, {Tensor<double>::scalar(2 * a.item())});
  resumed.step({&b}, {Tensor<double>::scalar(2 * b.item())});
  CHECK(a.item() == b.item());
}

TEST_CASE("Adam weight decay: L2 (torch Adam) and decoupled (AdamW)") {
  // One step from θ = 1, g = 0, wd = 0.5: L2 makes g = 0.5, and the first Adam step moves by lr·sign(g)
  // (m̂/√v̂ = g/|g|, up to ε); AdamW first shrinks θ to 1 − lr·wd = 0.95 and then sees g = 0 (no move).
  ebm::AdamOptions l2;
  l2.weight_decay = 0.5;
  ebm::Adam<double> a(ebm::constant_lr(0.1), l2);
  Tensor<double> t = Tensor<double>::scalar(1.0);
  a.step({&t}, {Tensor<double>::scalar(0.0)});
  CHECK(t.item() == doctest::Approx(0.9).epsilon(1e-7));
  ebm::AdamOptions dec = l2;
  dec.decoupled_weight_decay = true;
  ebm::Adam<double> w(ebm::constant_lr(0.1), dec);
  Tensor<double> u = Tensor<double>::scalar(1.0);
  w.step({&u}, {Tensor<double>::scalar(0.0)});
  CHECK(u.item() == doctest::Approx(0.95).epsilon(1e-14));
}

TEST_CASE("SGD with momentum and Nesterov: torch semantics by hand") {
  // θ0 = 1, f = θ²/2 (g = θ), lr = 0.1, momentum 0.9.
  // Plain momentum: buf1 = 1, θ1 = 0.9; buf2 = 0.9 + 0.9 = 1.8, θ2 = 0.72.
  ebm::SgdOptions o;
  o.momentum = 0.9;
  ebm::Sgd<double> sgd(ebm::constant_lr(0.1), o);
  Tensor<double> t = Tensor<double>::scalar(1.0);
  sgd.step({&t}, {t});
  CHECK(t.item() == doctest::Approx(0.9).epsilon(1e-14));
  sgd.step({&t}, {t});
  CHECK(t.item() == doctest::Approx(0.72).epsilon(1e-14));
  // Nesterov: buf1 = 1, d = 1 + 0.9 = 1.9, θ1 = 0.81; buf2 = 0.9 + 0.81 = 1.71, d = 0.81 + 1.539 = 2.349, θ2 = 0.5751.
  o.nesterov = true;
  ebm::Sgd<double> nes(ebm::constant_lr(0.1), o);
  Tensor<double> u = Tensor<double>::scalar(1.0);
  nes.step({&u}, {u});
  CHECK(u.item() == doctest::Approx(0.81).epsilon(1e-14));
  nes.step({&u}, {u});
  CHECK(u.item() == doctest::Approx(0.5751).epsilon(1e-14));
  CHECK(nes.momentum_buffers()[0].item() == doctest::Approx(1.71).epsilon(1e-14));
  CHECK_THROWS_AS(ebm::Sgd<double>(ebm::constant_lr(0.1), ebm::SgdOptions{0.0, 0.0, true, 0.0}), std::invalid_argument);
}

TEST_CASE("learning-rate schedules") {
  const auto st = ebm::step_lr(1.0, 10, 0.5);
  CHECK(st.at(0) == 1.0);
  CHECK(st.at(9) == 1.0);
  CHECK(st.at(10) == 0.5);
  CHECK(st.at(25) == 0.25);
  const auto cs = ebm::cosine_lr(1.0, 100, 0.1);
  CHECK(cs.at(0) == doctest::Approx(1.0));
  CHECK(cs.at(50) == doctest::Approx(0.55));  // min + ½(max − min)(1 + cos(π/2))
  CHECK(cs.at(100) == doctest::Approx(0.1));
  CHECK(cs.at(1000) == doctest::Approx(0.1));
  auto w = ebm::constant_lr(2.0);
  w.warmup_steps = 4;
  CHECK(w.at(0) == doctest::Approx(0.5));
  CHECK(w.at(3) == doctest::Approx(2.0));
  // The optimiser uses schedule.at(t) for its t-th update.
  ebm::Sgd<double> sgd(ebm::step_lr(1.0, 1, 0.5));
  Tensor<double> t = Tensor<double>::scalar(0.0);
  sgd.step({&t}, {Tensor<double>::scalar(1.0)});  // lr 1
  sgd.step({&t}, {Tensor<double>::scalar(1.0)});  // lr 0.5
  CHECK(t.item() == doctest::Approx(-1.5));
  CHECK(sgd.next_lr() == doctest::Approx(0.25));
}

TEST_CASE("global gradient-norm clipping") {
  std::vector<Tensor<double>> g{Tensor<double>(Shape{2}, {3.0, 0.0}), Tensor<double>::scalar(4.0)};
  const double n = ebm::clip_grad_norm(g, 1.0);
  CHECK(n == doctest::Approx(5.0));
  CHECK(ebm::global_norm(g) == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(g[0][0] == doctest::Approx(0.6).epsilon(1e-6));
  std::vector<Tensor<double>> small{Tensor<double>::scalar(0.5)};
  ebm::clip_grad_norm(small, 1.0);
  CHECK(small[0].item() == 0.5);  // below the threshold: untouched
  ebm::Adam<double> adam(ebm::constant_lr(0.1));
  Tensor<double> p(Shape{2});
  CHECK_THROWS_AS(adam.step({&p}, {Tensor<double>(Shape{3})}), ad::ShapeError);
}

TEST_CASE("train_step: updates model and objective parameters together, clips, reports the rate") {
  ad::Rng data_rng(1);
  Tensor<double> x(Shape{64, 1});
  ad::fill_normal(x, data_rng, 2.0, 1.0);
  ebm::GaussianEnergy<double> g(1);
  ebm::NoiseContrastiveEstimation<double> nce(x, 1.0);
  ebm::Sgd<double> sgd(ebm::constant_lr(0.5));
  ebm::ShardedObjective<double> step(nce, 1);
  const double c0 = nce.log_z(), mu0 = g.param("mu")[0];
  const ebm::StepReport r = ebm::train_step(step, g, sgd, x, ad::Rng(2), {.clip_norm = 1e-3});
  CHECK(r.lr == 0.5);
  CHECK(r.grad_norm > 1e-3);  // so clipping was active: the whole update has norm lr · 1e-3
  const double moved = std::hypot(nce.log_z() - c0, g.param("mu")[0] - mu0, g.param("log_sigma")[0]);
  // torch's clipping divides by (norm + 1e-6), so the clipped norm is 1e-3·norm/(norm + 1e-6): relative 1e-6/norm.
  CHECK(moved == doctest::Approx(0.5e-3).epsilon(1e-6 / (r.grad_norm + 1e-6) + 1e-12));
  CHECK(nce.log_z() != c0);
}
