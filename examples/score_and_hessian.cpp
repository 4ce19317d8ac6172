// An energy, its score, a Hessian-vector product and the Hessian trace, for a small batch.
// This is the README's engine example; build/examples/score_and_hessian runs it.
#include <autodiff/autodiff.hpp>
#include <cstdio>

int main() {
  using namespace ad;
  Tape<double> tape;
  // E(x) = Σ_k [ log cosh-like double well ]: E(x) = Σ_k (x_k² - 1)² / 4 + 0.5 x_0 x_1, batch of 3 points in 2-D.
  const Var<double> x = tape.variable(Tensor<double>(Shape{3, 2}, {0.0, 0.5, 1.0, -1.0, 2.0, 0.3}));
  const Var<double> E = sum(square(square(x) - 1.0), 1) / 4.0 +
                        0.5 * reshape(slice_rows(transpose(x), 0, 1) * slice_rows(transpose(x), 1, 1), Shape{3});
  const Var<double> f = sum(E);                            // samples are independent: ∇ₓ Σ E = per-sample ∇E
  const Tensor<double> score = (-grad(f, x)).value();      // −∇ₓE, shape [3, 2]
  const Var<double> v = tape.constant(Tensor<double>(Shape{3, 2}, {1, 0, 0, 1, 1, 1}));
  const Tensor<double> hv = hvp(f, x, v).value();          // ∇²E(x_n) v_n per sample
  const Tensor<double> tr = hessian_trace(f, x).value();   // tr ∇²E(x_n): 2 HVPs for the whole batch
  for (int64_t n = 0; n < 3; ++n)
    std::printf("x=(%5.2f,%5.2f)  E=%8.4f  score=(%8.4f,%8.4f)  Hv=(%8.4f,%8.4f)  trH=%8.4f\n", x.value().at(n, 0),
                x.value().at(n, 1), E.value()[n], score.at(n, 0), score.at(n, 1), hv.at(n, 0), hv.at(n, 1), tr[n]);
  const GradcheckReport check = gradcheck(
      [](Tape<double>&, const std::vector<Var<double>>& in) { return sum(square(square(in[0]) - 1.0)); },
      {x.value()}, GradcheckOptions{3});
  std::printf("gradcheck of the double well to third order:\n%s", check.str().c_str());
  return check.passed ? 0 : 1;
}
