// Transforms against closed forms: quadratic forms (H = A + Aᵀ, known trace), the score of a Gaussian energy,
// an HVP differentiated by hand, float32 against float64, and tapes on two threads.
#include <doctest/doctest.h>

#include <autodiff/autodiff.hpp>
#include <cmath>
#include <thread>

#include "expect_ad.hpp"
#include "../thread_check.hpp"

using ad::Shape;
using ad::Tape;
using ad::Tensor;
using ad::Var;

namespace {
constexpr int64_t B = 5, D = 3;
const Tensor<double> kA(Shape{D, D}, {1.0, 2.0, -0.5, 0.3, -1.0, 0.7, 1.5, 0.2, 2.0});  // not symmetric

// f(x) = Σ_n x_nᵀ A x_n for x of shape [B, D].
Var<double> quadratic(Tape<double>& t, const Var<double>& x) {
  return ad::sum(ad::matmul(x, t.constant(kA)) * x);
}
double sym(int i, int j) { return kA.at(i, j) + kA.at(j, i); }
}  // namespace

TEST_CASE("quadratic form: gradient, HVP in both modes, dense Hessian, exact and Hutchinson traces") {
  Tape<double> tape;
  const Tensor<double> x0 = test::uniform(Shape{B, D}, -1, 1, 1), v0 = test::uniform(Shape{B, D}, -1, 1, 2);
  const Var<double> x = tape.variable(x0), v = tape.constant(v0);
  const Var<double> f = quadratic(tape, x);
  const Tensor<double> g = ad::grad(f, x).value();
  const Tensor<double> hv_fr = ad::hvp(f, x, v, false, ad::HvpMode::forward_over_reverse).value();
  const Tensor<double> hv_rr = ad::hvp(f, x, v, false, ad::HvpMode::reverse_over_reverse).value();
  for (int64_t n = 0; n < B; ++n)
    for (int i = 0; i < D; ++i) {
      double gi = 0, hvi = 0;
      for (int j = 0; j < D; ++j) {
        gi += sym(i, j) * x0.at(n, j);  // ∇ = (A + Aᵀ) x
        hvi += sym(i, j) * v0.at(n, j);
      }
      CHECK(g.at(n, i) == doctest::Approx(gi).epsilon(1e-13));
      CHECK(hv_fr.at(n, i) == doctest::Approx(hvi).epsilon(1e-13));
      CHECK(hv_rr.at(n, i) == doctest::Approx(hvi).epsilon(1e-13));
    }
  const Tensor<double> tr = ad::hessian_trace(f, x).value();
  for (int64_t n = 0; n < B; ++n) CHECK(tr[n] == doctest::Approx(2 * (kA.at(0, 0) + kA.at(1, 1) + kA.at(2, 2))));

  Tape<double> one;
  const Var<double> x1 = one.variable(test::uniform(Shape{1, D}, -1, 1, 3));
  const Tensor<double> H = ad::hessian(quadratic(one, x1), x1);
  for (int i = 0; i < D; ++i)
    for (int j = 0; j < D; ++j) CHECK(H.at(i, j) == doctest::Approx(sym(i, j)));

  // Hutchinson with Rademacher probes is unbiased with per-probe variance 2 Σ_{i≠j} H_ij² (the diagonal
  // contributes no variance since v_i² = 1). With M probes the mean is within 5 standard errors.
  ad::Rng rng(7);
  const int M = 400;
  const Tensor<double> est = ad::hutchinson_trace(f, x, M, rng).value();
  double off = 0;
  for (int i = 0; i < D; ++i)
    for (int j = 0; j < D; ++j)
      if (i != j) off += sym(i, j) * sym(i, j);
  const double se = std::sqrt(2 * off / M);
  for (int64_t n = 0; n < B; ++n) CHECK(std::abs(est[n] - tr[n]) < 5 * se);
}

TEST_CASE("the score of a Gaussian energy is -P (x - mu)") {
  // E(x) = ½ (x − μ)ᵀ P (x − μ) with P = LLᵀ positive definite.
  const Tensor<double> L(Shape{2, 2}, {1.2, 0.0, -0.4, 0.8}), mu(Shape{2}, {0.5, -1.0});
  Tape<double> tape;
  const Tensor<double> x0 = test::uniform(Shape{B, 2}, -2, 2, 4);
  const Var<double> x = tape.variable(x0);
  const Var<double> r = ad::matmul(x - tape.constant(mu), tape.constant(L));  // rows (x−μ)ᵀ L
  const Var<double> E = 0.5 * ad::sum(ad::square(r), 1);
  const Tensor<double> score = (-ad::grad(ad::sum(E), x)).value();
  const double P[2][2] = {{1.44, -0.48}, {-0.48, 0.16 + 0.64}};
  for (int64_t n = 0; n < B; ++n)
    for (int i = 0; i < 2; ++i) {
      const double want = -(P[i][0] * (x0.at(n, 0) - 0.5) + P[i][1] * (x0.at(n, 1) + 1.0));
      CHECK(score.at(n, i) == doctest::Approx(want).epsilon(1e-12));
    }
  // Exact trace of the Hessian is tr P for every sample.
  CHECK(ad::hessian_trace(ad::sum(E), x).value()[0] == doctest::Approx(1.44 + 0.8));
}

TEST_CASE("HVP of a function differentiated by hand") {
  // f(x) = Σ_n exp(aᵀx_n): ∇²f = exp(aᵀx) a aᵀ per sample, so H v = exp(aᵀx) (aᵀv) a.
  const Tensor<double> a(Shape{D, 1}, {0.3, -0.7, 0.5});
  Tape<double> tape;
  const Tensor<double> x0 = test::uniform(Shape{B, D}, -1, 1, 5), v0 = test::uniform(Shape{B, D}, -1, 1, 6);
  const Var<double> x = tape.variable(x0);
  const Var<double> f = ad::sum(ad::exp(ad::matmul(x, tape.constant(a))));
  for (auto mode : {ad::HvpMode::forward_over_reverse, ad::HvpMode::reverse_over_reverse}) {
    const Tensor<double> hv = ad::hvp(f, x, tape.constant(v0), false, mode).value();
    for (int64_t n = 0; n < B; ++n) {
      double ax = 0, av = 0;
      for (int i = 0; i < D; ++i) {
        ax += a[i] * x0.at(n, i);
        av += a[i] * v0.at(n, i);
      }
      for (int i = 0; i < D; ++i) CHECK(hv.at(n, i) == doctest::Approx(std::exp(ax) * av * a[i]).epsilon(1e-12));
    }
  }
}

TEST_CASE("jacobian of a linear map is its matrix") {
  Tape<double> tape;
  const Tensor<double> W = test::uniform(Shape{3, 4}, -1, 1, 7);
  const Var<double> x = tape.variable(test::uniform(Shape{1, 3}, -1, 1, 8));
  const Tensor<double> J = ad::jacobian(ad::matmul(x, tape.constant(W)), x);  // y_j = Σ_i x_i W_ij
  REQUIRE(J.shape() == Shape{4, 3});
  for (int j = 0; j < 4; ++j)
    for (int i = 0; i < 3; ++i) CHECK(J.at(j, i) == W.at(i, j));
}

namespace {
// An MLP energy's score and HVP, in either precision, on a batch big enough for the parallel kernels.
template <class T>
std::pair<Tensor<T>, Tensor<T>> mlp_score_and_hvp(int64_t batch, int64_t d, int64_t h) {
  Tape<T> tape;
  const auto f64 = [](const Shape& s, uint64_t seed) { return test::uniform(s, -1, 1, seed).template cast<T>(); };
  const Var<T> x = tape.variable(f64(Shape{batch, d}, 10));
  const Var<T> W1 = tape.constant(f64(Shape{h, d}, 11)), W2 = tape.constant(f64(Shape{h, h}, 12));
  const Var<T> w3 = tape.constant(f64(Shape{h, 1}, 13));
  const Var<T> a1 = ad::silu(ad::matmul(x, W1, false, true));
  const Var<T> a2 = ad::tanh(ad::matmul(a1, W2, false, true) * 0.2);
  const Var<T> E = ad::sum(ad::matmul(a2, w3));
  const Tensor<T> s = ad::grad(E, x).value();
  const Tensor<T> hv = ad::hvp(E, x, tape.constant(f64(Shape{batch, d}, 14))).value();
  return {s, hv};
}
}  // namespace

TEST_CASE("float32 agrees with float64") {
  const auto [s64, hv64] = mlp_score_and_hvp<double>(64, 8, 32);
  const auto [s32, hv32] = mlp_score_and_hvp<float>(64, 8, 32);
  double max_s = 0, max_h = 0;
  for (int64_t i = 0; i < s64.numel(); ++i) {
    max_s = std::max(max_s, std::abs(s64[i] - s32[i]) / (1 + std::abs(s64[i])));
    max_h = std::max(max_h, std::abs(hv64[i] - hv32[i]) / (1 + std::abs(hv64[i])));
  }
  // float32 carries ~7 digits; a few dozen accumulated roundings stay well below 1e-4.
  CHECK(max_s < 1e-4);
  CHECK(max_h < 1e-4);
}

TEST_CASE("tapes on two threads at once give results identical to one thread") {
  const auto serial = mlp_score_and_hvp<double>(512, 16, 64);
  std::pair<Tensor<double>, Tensor<double>> r1, r2;
  std::thread t1([&] { r1 = mlp_score_and_hvp<double>(512, 16, 64); });
  std::thread t2([&] { r2 = mlp_score_and_hvp<double>(512, 16, 64); });
  t1.join();
  t2.join();
  for (const auto* r : {&r1, &r2})
    for (int64_t i = 0; i < serial.first.numel(); ++i) {
      REQUIRE(r->first[i] == serial.first[i]);
      REQUIRE(r->second[i] == serial.second[i]);
    }
}

TEST_CASE("kernels give bit-identical results with 1 and 2 threads") {
  std::pair<Tensor<float>, Tensor<float>> one, two;
  {
    REQUIRE_THREADS(2);  // the run this one is compared with uses more than one
    ad::ThreadLimit limit(1);
    one = mlp_score_and_hvp<float>(1024, 64, 256);
  }
  {
    ad::ThreadLimit limit(2);
    REQUIRE_THREADS(2);
    two = mlp_score_and_hvp<float>(1024, 64, 256);
  }
  for (int64_t i = 0; i < one.first.numel(); ++i) {
    REQUIRE(one.first[i] == two.first[i]);
    REQUIRE(one.second[i] == two.second[i]);
  }
}

TEST_CASE("a reused tape stops allocating, and grad without create_graph records nothing") {
  Tape<double> tape;
  const Tensor<double> x0 = test::uniform(Shape{B, D}, -1, 1, 9);
  size_t bytes_after_first = 0;
  for (int it = 0; it < 5; ++it) {
    tape.clear();
    const Var<double> x = tape.variable(x0);
    const Var<double> f = quadratic(tape, x);
    const size_t before = tape.size();
    const Var<double> g = ad::grad(f, x);
    CHECK(tape.size() == before + 1);  // only the result, as a constant
    CHECK_FALSE(g.requires_grad());
    if (it == 0) bytes_after_first = tape.arena_bytes();
    CHECK(tape.arena_bytes() == bytes_after_first);
  }
}

TEST_CASE("errors name the shapes") {
  Tape<double> tape;
  const Var<double> a = tape.variable(Tensor<double>(Shape{2, 3})), b = tape.variable(Tensor<double>(Shape{4, 5}));
  CHECK_THROWS_WITH_AS(ad::add(a, b), "add: shapes [2, 3] and [4, 5] do not fit (cannot broadcast)", ad::ShapeError);
  CHECK_THROWS_AS(ad::matmul(a, b), ad::ShapeError);
  CHECK_THROWS_AS(ad::grad(ad::sum(a), tape.constant(Tensor<double>(Shape{2}))), std::invalid_argument);
  CHECK_THROWS_AS(ad::grad(a, a), std::invalid_argument);  // not a single number and no grad_outputs
}

TEST_CASE("rules stay valid when the node table grows during a sweep") {
  // Regression: rules used to hold shape references into the node table while recording new nodes; a
  // reallocation mid-sweep then read freed memory. Pad the tape to every size around a growth boundary.
  for (int pad = 2030; pad < 2060; ++pad) {
    Tape<double> tape;
    for (int k = 0; k < pad; ++k) tape.scalar(0.0);
    const Var<double> x = tape.variable(test::uniform(Shape{4, 3}, -1, 1, 20));
    const Tensor<double> g = ad::grad(ad::sum(ad::sum(ad::square(x), 1)), x).value();
    for (int64_t i = 0; i < g.numel(); ++i) REQUIRE(g[i] == 2 * x.value()[i]);
  }
}

namespace {
// An energy that goes through ops with batched rules (matmul, silu, tanh, broadcasting arithmetic, sums,
// reshape) and ops without (transpose, slice_rows, where, matmul with a transposed A), in x and in θ = (W1, W2).
Var<double> mixed_energy(Tape<double>& t, const Var<double>& x, const Var<double>& W1, const Var<double>& W2) {
  const Var<double> z1 = ad::matmul(x, W1, false, true) + t.constant(test::uniform(Shape{W1.shape()[0]}, -0.3, 0.3, 21));
  const Var<double> a1 = ad::silu(z1);
  const Var<double> z2 = ad::matmul(a1, W2, false, true);
  const Var<double> a2 = ad::tanh(z2) + ad::sigmoid(z2) * ad::exp(-0.1 * z2);
  // Transposed operand and layout ops: no batched rule, so the sweep runs them one direction at a time.
  const Var<double> m = ad::transpose(ad::matmul(W2, a2, false, true));         // [B, h] again, via Wᵀ-layout
  const Var<double> sel = ad::where(ad::greater(z2, 0.0), m, 0.5 * m * m);
  const Var<double> rows = ad::slice_rows(sel, 0, x.shape()[0]);
  const Var<double> r = ad::reshape(ad::sum(rows * rows, 1), Shape{x.shape()[0], 1});
  return ad::sum(ad::sum_to(ad::broadcast_to(r, Shape{x.shape()[0], 3}), Shape{x.shape()[0], 1}) / 3.0 + ad::sum(x * x, 1, true));
}
constexpr int64_t kB = 6, kD = 4, kH = 5;
}  // namespace

TEST_CASE("jvp_batched agrees with one jvp per direction, full and stretched tangents") {
  Tape<double> tape;
  const Var<double> x = tape.variable(test::uniform(Shape{kB, kD}, -1, 1, 30));
  const Var<double> W1 = tape.variable(test::uniform(Shape{kH, kD}, -0.7, 0.7, 31));
  const Var<double> W2 = tape.variable(test::uniform(Shape{kH, kH}, -0.7, 0.7, 32));
  const Var<double> f = mixed_energy(tape, x, W1, W2);
  const Var<double> g = ad::grad(f, x, true);
  constexpr int64_t K = 3;
  // Full tangents [K, B, d], and per-direction tangents in both x and W1 at once.
  const Tensor<double> tx = test::uniform(Shape{K, kB, kD}, -1, 1, 33), tw = test::uniform(Shape{K, kH, kD}, -1, 1, 34);
  const auto batched = ad::jvp_batched<double>({g, f}, {x, W1}, {tape.constant(tx), tape.constant(tw)});
  REQUIRE(batched[0].shape() == Shape{K, kB, kD});
  REQUIRE(batched[1].shape() == Shape{K});
  for (int64_t k = 0; k < K; ++k) {
    const Tensor<double> txk(Shape{kB, kD}, tx.data() + k * kB * kD), twk(Shape{kH, kD}, tw.data() + k * kH * kD);
    const auto one = ad::jvp<double>({g, f}, {x, W1}, {tape.constant(txk), tape.constant(twk)});
    for (int64_t i = 0; i < kB * kD; ++i) CHECK(batched[0].data()[k * kB * kD + i] == doctest::Approx(one[0].data()[i]).epsilon(1e-12));
    CHECK(batched[1].data()[k] == doctest::Approx(one[1].item()).epsilon(1e-12));
  }
  // A stretched tangent [K, 1, d]: the same direction for every row.
  const Tensor<double> u = test::uniform(Shape{K, 1, kD}, -1, 1, 35);
  const Var<double> hu = ad::jvp_batched<double>({g}, {x}, {tape.constant(u)})[0];
  REQUIRE(hu.shape() == Shape{K, kB, kD});
  for (int64_t k = 0; k < K; ++k) {
    Tensor<double> uk(Shape{kB, kD});
    for (int64_t n = 0; n < kB; ++n)
      for (int64_t j = 0; j < kD; ++j) uk.at(n, j) = u[k * kD + j];
    const Tensor<double> one = ad::hvp(f, x, tape.constant(uk), false, ad::HvpMode::forward_over_reverse).value();
    for (int64_t i = 0; i < kB * kD; ++i) CHECK(hu.data()[k * kB * kD + i] == doctest::Approx(one[i]).epsilon(1e-12));
  }
  CHECK_THROWS_AS(ad::jvp_batched<double>({g}, {x}, {tape.constant(Tensor<double>(Shape{K, kD}))}), ad::ShapeError);
}

TEST_CASE("hessian_trace (batched unit tangents) matches d separate HVPs, in value and in its θ-gradient") {
  Tape<double> tape;
  const Var<double> x = tape.variable(test::uniform(Shape{kB, kD}, -1, 1, 40));
  const Var<double> W1 = tape.variable(test::uniform(Shape{kH, kD}, -0.7, 0.7, 41));
  const Var<double> W2 = tape.variable(test::uniform(Shape{kH, kH}, -0.7, 0.7, 42));
  const Var<double> f = mixed_energy(tape, x, W1, W2);
  const Var<double> g = ad::grad(f, x, true);
  const Var<double> tr = ad::hessian_trace(f, x, true, g);
  // The per-direction reference: Σ_k (H e_k)_k with one reverse-over-reverse HVP per unit direction.
  Var<double> ref;
  for (int64_t k = 0; k < kD; ++k) {
    Tensor<double> e(Shape{kB, kD});
    for (int64_t n = 0; n < kB; ++n) e.at(n, k) = 1;
    const Var<double> ev = tape.constant(e);
    const Var<double> diag = ad::sum(ad::grad<double>({g}, {x}, {ev}, true)[0] * ev, 1);
    ref = ref.defined() ? ref + diag : diag;
  }
  for (int64_t n = 0; n < kB; ++n) CHECK(tr.data()[n] == doctest::Approx(ref.data()[n]).epsilon(1e-12));
  const Var<double> w = tape.constant(test::uniform(Shape{kB}, -1, 1, 43));
  const auto gt = ad::grad<double>({ad::sum(tr * w)}, {W1, W2, x});
  const auto gr = ad::grad<double>({ad::sum(ref * w)}, {W1, W2, x});
  for (size_t p = 0; p < gt.size(); ++p)
    for (int64_t i = 0; i < gt[p].numel(); ++i) CHECK(gt[p].data()[i] == doctest::Approx(gr[p].data()[i]).epsilon(1e-11));
}

TEST_CASE("hessian_trace with create_graph passes gradcheck (third derivatives through batched tangents)") {
  test::expect_ad(
      "sum(w * tr H)",
      [](Tape<double>& t, const std::vector<Var<double>>& in) {
        const Var<double> f = mixed_energy(t, in[0], in[1], in[2]);
        return ad::hessian_trace(f, in[0], true);
      },
      {test::uniform(Shape{kB, kD}, -1, 1, 50), test::uniform(Shape{kH, kD}, -0.7, 0.7, 51),
       test::uniform(Shape{kH, kH}, -0.7, 0.7, 52)},
      1);
}

TEST_CASE("hessian_trace gives the same bits on 1 and 2 threads") {
  auto run = [](int threads) {
    ad::ThreadLimit limit(threads);
    if (threads > 1) REQUIRE_THREADS(threads);
    Tape<float> tape;
    const auto u = [](const Shape& s, uint64_t seed) { return test::uniform(s, -1, 1, seed).cast<float>(); };
    const Var<float> x = tape.variable(u(Shape{256, 32}, 60));
    const Var<float> W1 = tape.constant(u(Shape{128, 32}, 61)), W2 = tape.constant(u(Shape{128, 128}, 62));
    const Var<float> a2 = ad::silu(ad::matmul(ad::silu(ad::matmul(x, W1, false, true)), W2, false, true) * 0.1f);
    return ad::hessian_trace(ad::sum(a2), x).value();
  };
  const Tensor<float> one = run(1), two = run(2);
  for (int64_t n = 0; n < one.numel(); ++n) REQUIRE(one[n] == two[n]);
}

TEST_CASE("hessian_trace with more directions than one batched chunk (d = 70)") {
  Tape<double> tape;
  constexpr int64_t n = 3, d = 70, h = 9;
  const Var<double> x = tape.variable(test::uniform(Shape{n, d}, -1, 1, 70));
  const Var<double> W = tape.constant(test::uniform(Shape{h, d}, -0.3, 0.3, 71));
  const Var<double> f = ad::sum(ad::silu(ad::matmul(x, W, false, true)) * ad::tanh(ad::matmul(x, W, false, true)));
  const Tensor<double> tr = ad::hessian_trace(f, x).value();
  std::vector<double> ref(n, 0.0);
  for (int64_t k = 0; k < d; ++k) {
    Tensor<double> e(Shape{n, d});
    for (int64_t r = 0; r < n; ++r) e.at(r, k) = 1;
    const Tensor<double> hv = ad::hvp(f, x, tape.constant(e)).value();
    for (int64_t r = 0; r < n; ++r) ref[r] += hv.at(r, k);
  }
  for (int64_t r = 0; r < n; ++r) CHECK(tr[r] == doctest::Approx(ref[r]).epsilon(1e-12));
}

TEST_CASE("adjoint sums in place (no create_graph) never write into an adjoint that is shared") {
  // adj[u] is a sum of two contributions (u feeds two products), and u = x + y, the last use of both x and y,
  // hands that one sum to both: adj[x] and adj[y] are then the same node. Their earlier uses (x e, y h, recorded
  // before u) add to them afterwards; an add in place into the shared node would put y's term into x's gradient.
  // Closed form: f = Σ (u a + u b + x e + y h), u = x + y: ∂f/∂x = a + b + e, ∂f/∂y = a + b + h. With
  // create_graph (never in place) too.
  const Shape s{4, 3};
  const Tensor<double> x0 = test::uniform(s, -1, 1, 11), y0 = test::uniform(s, -1, 1, 12);
  Tensor<double> k[4];
  for (int i = 0; i < 4; ++i) k[i] = test::uniform(s, -2, 2, 20 + static_cast<uint64_t>(i));
  for (const bool create_graph : {false, true}) {
    CAPTURE(create_graph);
    Tape<double> tape;
    const Var<double> x = tape.variable(x0), y = tape.variable(y0);
    Var<double> c[4];
    for (int i = 0; i < 4; ++i) c[i] = tape.constant(k[i]);
    const Var<double> xe = x * c[2], yh = y * c[3];  // recorded before u: their adjoints arrive after u's
    const Var<double> u = x + y;
    const Var<double> f = ad::sum(u * c[0] + u * c[1] + xe + yh);
    const auto g = ad::grad<double>({f}, {x, y}, {}, create_graph);
    const Tensor<double> gx = g[0].value(), gy = g[1].value();
    for (int64_t i = 0; i < s.numel(); ++i) {
      CHECK(gx[i] == doctest::Approx(k[0][i] + k[1][i] + k[2][i]).epsilon(1e-14));
      CHECK(gy[i] == doctest::Approx(k[0][i] + k[1][i] + k[3][i]).epsilon(1e-14));
    }
  }
}

TEST_CASE("grad with respect to intermediates and leaves at once, as torch.autograd.grad") {
  // y = 2 x, f = Σ y²: ∂f/∂y = 2 y = 4 x (the adjoint flowing into y) and ∂f/∂x = 8 x (the total derivative),
  // whatever the order of the inputs and whether the sweep is recorded.
  const Tensor<double> x0(Shape{3}, {1, 2, 3});
  for (const bool create_graph : {false, true})
    for (const bool y_first : {false, true}) {
      CAPTURE(create_graph);
      CAPTURE(y_first);
      Tape<double> tape;
      const Var<double> x = tape.variable(x0);
      const Var<double> y = x * 2.0;
      const Var<double> f = ad::sum(ad::square(y));
      const auto g = y_first ? ad::grad<double>({f}, {y, x}, {}, create_graph)
                             : ad::grad<double>({f}, {x, y}, {}, create_graph);
      const Tensor<double> gx = g[y_first ? 1 : 0].value(), gy = g[y_first ? 0 : 1].value();
      for (int64_t i = 0; i < 3; ++i) {
        CHECK(gx[i] == 8 * x0[i]);
        CHECK(gy[i] == 4 * x0[i]);
      }
      if (create_graph) {  // ∂/∂x Σ ∂f/∂y = Σ 4 = 4 per element: the kept adjoint is still differentiable
        const Tensor<double> gg = ad::grad(ad::sum(g[y_first ? 0 : 1]), x).value();
        for (int64_t i = 0; i < 3; ++i) CHECK(gg[i] == 4);
      }
    }
}

TEST_CASE("an intermediate input's gradient is not changed by the sums the sweep makes below it") {
  // u feeds two products, so its adjoint is a sum the sweep owns (Note [Adjoint sums in place]); u = x + y hands
  // it to x and y, which then take further contributions (x e, y h, recorded before u). ∂f/∂u = a + b must stay.
  const Shape s{2, 3};
  Tensor<double> k[4];
  for (int i = 0; i < 4; ++i) k[i] = test::uniform(s, -2, 2, 30 + static_cast<uint64_t>(i));
  Tape<double> tape;
  const Var<double> x = tape.variable(test::uniform(s, -1, 1, 1)), y = tape.variable(test::uniform(s, -1, 1, 2));
  Var<double> c[4];
  for (int i = 0; i < 4; ++i) c[i] = tape.constant(k[i]);
  const Var<double> xe = x * c[2], yh = y * c[3];
  const Var<double> u = x + y;
  const Var<double> f = ad::sum(u * c[0] + u * c[1] + xe + yh);
  const auto g = ad::grad<double>({f}, {u, x, y});
  for (int64_t i = 0; i < s.numel(); ++i) {
    CHECK(g[0].value()[i] == doctest::Approx(k[0][i] + k[1][i]).epsilon(1e-14));
    CHECK(g[1].value()[i] == doctest::Approx(k[0][i] + k[1][i] + k[2][i]).epsilon(1e-14));
    CHECK(g[2].value()[i] == doctest::Approx(k[0][i] + k[1][i] + k[3][i]).epsilon(1e-14));
  }
}

TEST_CASE("an input recorded after the output gets a zero gradient") {
  Tape<double> tape;
  const Var<double> x = tape.variable(Tensor<double>(Shape{2}, {1, 2}));
  const Var<double> f = ad::sum(x * x);
  const Var<double> later = tape.variable(Tensor<double>(Shape{3}, {1, 2, 3}));
  const Var<double> z = later * 3.0;  // an intermediate after f, too
  const auto g = ad::grad<double>({f}, {x, later, z});
  CHECK(g[0].value()[1] == 4);
  for (int64_t i = 0; i < 3; ++i) {
    CHECK(g[1].value()[i] == 0);
    CHECK(g[2].value()[i] == 0);
  }
}
