// grad (the reverse sweep with its optimisations: Note [Adjoint sums in place], Note [Kept results]) against the
// plain sweep (detail::grad_plain) on programs where the optimisations act: weights used many times, adjoints a
// rule hands to several inputs, intermediates among the inputs, a second-order loss. Float64, compared bit for
// bit: both sweeps call the same rules in the same order, and a sum in place computes each element as the sum node
// would (a + g, one rounding), so nothing may differ at all. (Every op's rules are compared the same way, at
// derivative orders 1 to 3, by expect_ad.)
#include <doctest/doctest.h>

#include <autodiff/autodiff.hpp>
#include <functional>
#include <string>
#include <vector>

#include "expect_ad.hpp"
#include "sweep.hpp"

using ad::Shape;
using ad::Tape;
using ad::Tensor;
using ad::Var;

namespace {

using Program = std::function<std::vector<Var<double>>(Tape<double>&, const std::vector<Var<double>>&)>;

// Records program(x) twice on fresh tapes, takes grad of its first result (a single number) with respect to
// `x` and to the program's other results (intermediates) with each sweep, and compares them bit for bit.
// Also checks what Note [Kept results] promises: grad leaves only its results on the tape.
void expect_same_sweeps(const char* name, const Program& program, const std::vector<Tensor<double>>& inputs) {
  CAPTURE(name);
  std::vector<Tensor<double>> got[2];
  for (const bool plain : {false, true}) {
    Tape<double> tape;
    std::vector<Var<double>> x;
    for (const auto& t : inputs) x.push_back(tape.variable(t));
    const std::vector<Var<double>> outs = program(tape, x);
    std::vector<Var<double>> wrt = x;
    wrt.insert(wrt.end(), outs.begin() + 1, outs.end());
    const size_t before = tape.size();
    const std::vector<Var<double>> g = plain ? ad::detail::grad_plain<double>({outs[0]}, wrt) : ad::grad<double>({outs[0]}, wrt);
    if (!plain) CHECK(tape.size() == before + wrt.size());
    for (const Var<double>& v : g) got[plain].push_back(v.value());
  }
  REQUIRE(got[0].size() == got[1].size());
  for (size_t k = 0; k < got[0].size(); ++k) {
    CAPTURE(k);
    REQUIRE(got[0][k].shape() == got[1][k].shape());
    int64_t differ = 0;
    for (int64_t i = 0; i < got[0][k].numel(); ++i) differ += got[0][k][i] != got[1][k][i];
    CHECK(differ == 0);
  }
}

Var<double> mlp_energy(const Var<double>& X, const Var<double>& W1, const Var<double>& b1, const Var<double>& w2) {
  const Var<double> h = ad::tanh(ad::matmul(X, W1, false, true) + b1);
  return ad::sum(ad::matmul(h, ad::reshape(w2, Shape{w2.numel(), 1})));
}

}  // namespace

TEST_CASE("grad and the plain sweep agree bit for bit (float64)") {
  const Tensor<double> X = test::uniform(Shape{7, 5}, -1, 1, 1), W1 = test::uniform(Shape{6, 5}, -1, 1, 2),
                       b1 = test::uniform(Shape{6}, -1, 1, 3), w2 = test::uniform(Shape{6}, -1, 1, 4),
                       W = test::uniform(Shape{5, 5}, -0.5, 0.5, 5);

  // A weight applied three times (a residual stack): its adjoint takes three contributions.
  expect_same_sweeps("shared weight", [](Tape<double>&, const std::vector<Var<double>>& x) -> std::vector<Var<double>> {
    Var<double> h = x[0];
    for (int l = 0; l < 3; ++l) h = h + ad::tanh(ad::matmul(h, x[1]));
    return {ad::sum(h * h)};
  }, {X, W});

  // An add hands one adjoint to both of its inputs, which then take more contributions (the case an in-place sum
  // into a shared adjoint would get wrong); u and h are also asked for, as intermediates.
  expect_same_sweeps("shared adjoints, intermediate inputs",
                     [](Tape<double>&, const std::vector<Var<double>>& x) -> std::vector<Var<double>> {
    const Var<double> xe = ad::tanh(x[0]), ye = x[1] * x[1];
    const Var<double> u = x[0] + x[1];
    const Var<double> h = ad::exp(u * 0.3);
    return {ad::sum(u * h + u * 2.0 + xe + ye), u, h};
  }, {X, test::uniform(Shape{7, 5}, -1, 1, 6)});

  // A second-order loss, E + ½‖∇ₓE‖² over θ: the outer sweep runs through the recorded backward pass of the inner
  // one, where every weight is used in the forward and the backward products.
  expect_same_sweeps("score-matching-like loss", [](Tape<double>&, const std::vector<Var<double>>& x) -> std::vector<Var<double>> {
    const Var<double> e = mlp_energy(x[0], x[1], x[2], x[3]);
    const Var<double> gx = ad::grad(e, x[0], true);
    return {e + 0.5 * ad::sum(gx * gx)};
  }, {X, W1, b1, w2});

  // Broadcasting and reductions: adjoints summed to a bias's shape from several uses.
  expect_same_sweeps("broadcast bias used twice", [](Tape<double>&, const std::vector<Var<double>>& x) -> std::vector<Var<double>> {
    const Var<double> a = ad::relu(x[0] + x[1]), b = ad::softplus(x[0] * x[1]);
    return {ad::mean(a * b) + ad::sum(ad::log_softmax(a - b, 1))};
  }, {X, test::uniform(Shape{5}, -1, 1, 7)});
}
