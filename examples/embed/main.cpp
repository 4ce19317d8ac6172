// Embeds the installed library: fits the mean of a Gaussian energy E(x) = ½‖x − μ‖² to data by gradient
// descent on the negative log-likelihood (log Z does not depend on μ here), with ∇μ from the engine.
#include <autodiff/autodiff.hpp>
#include <cmath>
#include <cstdio>

int main() {
  ad::Rng rng(42);
  ad::Tensor<double> data(ad::Shape{2000, 2});
  ad::fill_normal(data, rng);
  for (int64_t n = 0; n < data.rows(); ++n) data.at(n, 0) += 3.0;  // true mean (3, 0)
  ad::Tensor<double> mu(ad::Shape{2});
  ad::Tape<double> tape;
  for (int step = 0; step < 200; ++step) {
    tape.clear();  // reuse the tape: no allocation after the first step
    const auto m = tape.variable(mu);
    const auto loss = ad::mean(0.5 * ad::sum(ad::square(tape.constant(data) - m), 1));
    const auto g = ad::grad(loss, m).value();
    for (int k = 0; k < 2; ++k) mu[k] -= 0.1 * g[k];
  }
  std::printf("fitted mean (%.3f, %.3f); expected about (3, 0)\n", mu[0], mu[1]);
  return std::abs(mu[0] - 3.0) < 0.1 && std::abs(mu[1]) < 0.1 ? 0 : 1;
}
