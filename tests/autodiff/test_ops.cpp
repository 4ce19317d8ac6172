// Every op's derivatives to third order against finite differences: one line per op.
#include "expect_ad.hpp"

using namespace test;
using ad::Tape;
using V = std::vector<Var<double>>;
using TapeD = Tape<double>;

namespace {
const Shape kM{3, 4};
Tensor<double> any(const Shape& s = kM, uint64_t seed = 1) { return uniform(s, -1.5, 1.5, seed); }
Tensor<double> positive(const Shape& s = kM, uint64_t seed = 2) { return uniform(s, 0.5, 2.0, seed); }
// Away from the kinks of relu, abs, elu and clamp, where finite differences are meaningful.
Tensor<double> away_from_zero(const Shape& s = kM, uint64_t seed = 3) {
  Tensor<double> t = uniform(s, 0.2, 1.5, seed);
  for (int64_t i = 0; i < t.numel(); i += 2) t[i] = -t[i];
  return t;
}
}  // namespace

TEST_CASE("arithmetic ops") {
  expect_ad("add", [](TapeD&, const V& x) { return x[0] + x[1]; }, {any(), any(kM, 5)});
  expect_ad("add row broadcast", [](TapeD&, const V& x) { return x[0] + x[1]; }, {any(), any(Shape{4}, 5)});
  expect_ad("add column broadcast", [](TapeD&, const V& x) { return x[1] + x[0]; }, {any(), any(Shape{3, 1}, 5)});
  expect_ad("add scalar broadcast", [](TapeD&, const V& x) { return x[0] + x[1]; }, {any(), any(Shape{}, 5)});
  expect_ad("sub", [](TapeD&, const V& x) { return x[0] - x[1]; }, {any(), any(Shape{4}, 5)});
  expect_ad("mul", [](TapeD&, const V& x) { return x[0] * x[1]; }, {any(), any(Shape{3, 1}, 5)});
  expect_ad("mul row broadcast", [](TapeD&, const V& x) { return x[1] * x[0]; }, {any(), any(Shape{4}, 5)});
  expect_ad("mul batch broadcast", [](TapeD&, const V& x) { return x[0] * x[1]; }, {any(Shape{2, 3, 4}), any(kM, 5)});
  expect_ad("mul_sum_to leading", [](TapeD&, const V& x) { return ad::mul_sum_to(x[0], x[1], Shape{4}); },
            {any(), any(Shape{4}, 5)});
  expect_ad("mul_sum_to middle", [](TapeD&, const V& x) { return ad::mul_sum_to(x[0], x[1], Shape{2, 1, 4}); },
            {any(Shape{2, 3, 4}), any(kM, 5)});
  expect_ad("mul_sum_to keep all", [](TapeD&, const V& x) { return ad::mul_sum_to(x[0], x[1], kM); },
            {any(), any(Shape{3, 1}, 5)});
  expect_ad("mul_sum_to to scalar", [](TapeD&, const V& x) { return ad::mul_sum_to(x[0], x[1], Shape{}); },
            {any(), any(kM, 5)});
  expect_ad("mul_sum_to batch-broadcast operand", [](TapeD&, const V& x) { return ad::mul_sum_to(x[0], x[1], kM); },
            {any(Shape{2, 3, 4}), any(Shape{2, 1, 4}, 5)});
  expect_ad("mul_sum_to inner axis", [](TapeD&, const V& x) { return ad::mul_sum_to(x[0], x[1], Shape{3, 1}); },
            {any(), any(Shape{4}, 5)});
  expect_ad("div", [](TapeD&, const V& x) { return x[0] / x[1]; }, {any(), positive(Shape{4})});
  expect_ad("neg", [](TapeD&, const V& x) { return -x[0]; }, {any()});
  expect_ad("affine", [](TapeD&, const V& x) { return 2.5 * x[0] - 0.75; }, {any()});
  expect_ad("scalar / x", [](TapeD&, const V& x) { return 2.0 / x[0]; }, {positive()});
  expect_ad("pow 3", [](TapeD&, const V& x) { return ad::pow(x[0], 3.0); }, {any()});
  expect_ad("pow -1.5", [](TapeD&, const V& x) { return ad::pow(x[0], -1.5); }, {positive()});
  expect_ad("pow 0.5", [](TapeD&, const V& x) { return ad::pow(x[0], 0.5); }, {positive()});
  // At a zero base, where the rule's p x^(p-1) is 0 · inf for p = 0 (reached as the derivative of p = 1, 2, ...).
  expect_ad("pow 0 at 0", [](TapeD&, const V& x) { return ad::pow(x[0], 0.0); }, {Tensor<double>(kM)});
  expect_ad("pow 1 at 0", [](TapeD&, const V& x) { return ad::pow(x[0], 1.0); }, {Tensor<double>(kM)});
  expect_ad("pow 2 at 0", [](TapeD&, const V& x) { return ad::pow(x[0], 2.0); }, {Tensor<double>(kM)});
}

TEST_CASE("elementwise functions") {
  expect_ad("exp", [](TapeD&, const V& x) { return ad::exp(x[0]); }, {any()});
  expect_ad("log", [](TapeD&, const V& x) { return ad::log(x[0]); }, {positive()});
  expect_ad("log1p", [](TapeD&, const V& x) { return ad::log1p(x[0]); }, {positive()});
  expect_ad("sqrt", [](TapeD&, const V& x) { return ad::sqrt(x[0]); }, {positive()});
  expect_ad("square", [](TapeD&, const V& x) { return ad::square(x[0]); }, {any()});
  expect_ad("abs", [](TapeD&, const V& x) { return ad::abs(x[0]); }, {away_from_zero()});
  expect_ad("tanh", [](TapeD&, const V& x) { return ad::tanh(x[0]); }, {any()});
  expect_ad("sigmoid", [](TapeD&, const V& x) { return ad::sigmoid(x[0]); }, {any()});
  expect_ad("silu", [](TapeD&, const V& x) { return ad::silu(x[0]); }, {any()});
  // silu's derivative kernels are primitives up to the third and a composite from the fourth: silu'' checked to
  // order 2 reaches the fourth derivative, and silu' to order 3 as well.
  expect_ad("silu''", [](TapeD&, const V& x) {
    const Var<double> d1 = ad::grad(ad::sum(ad::silu(x[0])), x[0], true);
    return ad::grad(ad::sum(d1), x[0], true);
  }, {any()}, 2);
  expect_ad("silu'", [](TapeD&, const V& x) { return ad::grad(ad::sum(ad::silu(x[0])), x[0], true); }, {any()});
  // The backward of silu is one fused op, g · silu'(x); here the adjoint g depends on an input too, so the
  // fused op is differentiated in both its arguments (to order 3, the fourth derivative of silu included).
  expect_ad("silu' times an adjoint", [](TapeD&, const V& x) {
    return ad::grad(ad::sum(ad::silu(x[0]) * ad::tanh(x[1])), x[0], true);
  }, {any(), any()});
  expect_ad("softplus", [](TapeD&, const V& x) { return ad::softplus(x[0]); }, {any()});
  expect_ad("elu", [](TapeD&, const V& x) { return ad::elu(x[0], 0.7); }, {away_from_zero()});
  expect_ad("relu", [](TapeD&, const V& x) { return ad::relu(x[0]); }, {away_from_zero()});
}

TEST_CASE("reductions") {
  expect_ad("sum", [](TapeD&, const V& x) { return ad::sum(x[0]); }, {any()});
  expect_ad("sum axis 0", [](TapeD&, const V& x) { return ad::sum(x[0], 0); }, {any()});
  expect_ad("sum axis 1 keepdims", [](TapeD&, const V& x) { return ad::sum(x[0], 1, true); }, {any()});
  expect_ad("sum axis -2 (rank 3)", [](TapeD&, const V& x) { return ad::sum(x[0], -2); }, {any(Shape{2, 3, 2})});
  expect_ad("mean", [](TapeD&, const V& x) { return ad::mean(x[0]); }, {any()});
  expect_ad("mean axis 1", [](TapeD&, const V& x) { return ad::mean(x[0], 1); }, {any()});
  expect_ad("max axis 1", [](TapeD&, const V& x) { return ad::max(x[0], 1); }, {any()});
  expect_ad("max axis 0 keepdims", [](TapeD&, const V& x) { return ad::max(x[0], 0, true); }, {any()});
  expect_ad("logsumexp axis 1", [](TapeD&, const V& x) { return ad::logsumexp(x[0], 1); }, {any()});
  expect_ad("logsumexp all", [](TapeD&, const V& x) { return ad::logsumexp(x[0]); }, {any()});
  expect_ad("softmax", [](TapeD&, const V& x) { return ad::softmax(x[0], 1); }, {any()});
  expect_ad("log_softmax axis 0", [](TapeD&, const V& x) { return ad::log_softmax(x[0], 0); }, {any()});
}

TEST_CASE("linear algebra and layout") {
  const Tensor<double> a = any(Shape{3, 4}, 7), b = any(Shape{4, 2}, 8), at = any(Shape{4, 3}, 9), bt = any(Shape{2, 4}, 10);
  expect_ad("matmul", [](TapeD&, const V& x) { return ad::matmul(x[0], x[1]); }, {a, b});
  expect_ad("matmul aT", [](TapeD&, const V& x) { return ad::matmul(x[0], x[1], true, false); }, {at, b});
  expect_ad("matmul bT", [](TapeD&, const V& x) { return ad::matmul(x[0], x[1], false, true); }, {a, bt});
  expect_ad("matmul aT bT", [](TapeD&, const V& x) { return ad::matmul(x[0], x[1], true, true); }, {at, bt});
  expect_ad("transpose", [](TapeD&, const V& x) { return ad::transpose(x[0]); }, {any()});
  expect_ad("reshape", [](TapeD&, const V& x) { return ad::reshape(x[0], Shape{2, 6}); }, {any()});
  expect_ad("broadcast_to", [](TapeD&, const V& x) { return ad::broadcast_to(x[0], kM); }, {any(Shape{3, 1})});
  expect_ad("sum_to", [](TapeD&, const V& x) { return ad::sum_to(x[0], Shape{4}); }, {any()});
  expect_ad("sum_to dropping a leading 1", [](TapeD&, const V& x) { return ad::sum_to(x[0], kM) * x[1]; }, {any(Shape{1, 3, 4}), any()});
  expect_ad("slice_rows", [](TapeD&, const V& x) { return ad::slice_rows(x[0], 1, 2); }, {any()});
  expect_ad("pad_rows", [](TapeD&, const V& x) { return ad::pad_rows(x[0], 1, 5); }, {any()});
  expect_ad("concat_rows", [](TapeD&, const V& x) { return ad::concat_rows<double>({x[0], x[1], x[0]}); },
            {any(), any(Shape{2, 4}, 11)});
  expect_ad("gather_cols", [](TapeD&, const V& x) { return ad::gather_cols(x[0], std::vector<int64_t>{3, 0, 2}); }, {any()});
  expect_ad("scatter_cols", [](TapeD& t, const V& x) {
    return ad::scatter_cols(x[0], t.constant(Tensor<double>(Shape{3}, {1, 0, 1})), 2);
  }, {any(Shape{3})});
}

TEST_CASE("selection") {
  expect_ad("where", [](TapeD& t, const V& x) {
    return ad::where(t.constant(Tensor<double>(Shape{4}, {1, 0, 0, 1})), x[0], x[1]);
  }, {any(), any(Shape{3, 1}, 12)});
  expect_ad("clamp", [](TapeD&, const V& x) { return ad::clamp(x[0], -0.1, 0.1); }, {away_from_zero()});
}

TEST_CASE("stop_gradient passes the value and blocks the gradient") {
  TapeD tape;
  const Tensor<double> x0 = any();
  const Var<double> x = tape.variable(x0);
  const Var<double> s = ad::stop_gradient(x);
  CHECK_FALSE(s.requires_grad());
  const Tensor<double> g = ad::grad(ad::sum(x * s), x).value();  // d/dx [x · stop(x)] = stop(x) = x
  for (int64_t i = 0; i < g.numel(); ++i) CHECK(g[i] == x0[i]);
}

TEST_CASE("mixed derivatives through several inputs: an MLP energy in (x, W)") {
  // ∇ of E(x; W) = sum(tanh(x W)) in both arguments, to third order: exercises ∂³/∂x∂x∂W and friends.
  expect_ad("mlp", [](TapeD&, const V& x) { return ad::sum(ad::silu(ad::matmul(x[0], x[1])), 1); },
            {any(Shape{3, 2}, 13), any(Shape{2, 4}, 14)});
}

TEST_CASE("gradcheck detects a wrong derivative") {
  // x · stop(x) has value x² but the engine is told its derivative is x, not 2x: gradcheck must say so.
  const ad::GradcheckReport r =
      ad::gradcheck([](TapeD&, const V& x) { return ad::sum(x[0] * ad::stop_gradient(x[0])); }, {any()});
  CHECK_FALSE(r.passed);
  CHECK(r.orders[0].max_rel_error > 0.4);  // the AD value is half the true one
}
