#include "autodiff/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "autodiff/ops.hpp"
#include "autodiff/random.hpp"
#include "autodiff/transforms.hpp"

namespace ad {
namespace {

using Tensors = std::vector<Tensor<double>>;
enum class Mode { reverse, forward, alternating };
const char* mode_name(Mode m) {
  return m == Mode::reverse ? "reverse" : m == Mode::forward ? "forward" : "forward-over-reverse";
}

Tensors random_like(const Tensors& xs, Rng& rng, bool unit_norm) {
  Tensors out;
  double norm2 = 0;
  for (const auto& x : xs) {
    out.emplace_back(x.shape());
    fill_normal(out.back(), rng);
    for (double v : out.back()) norm2 += v * v;
  }
  if (unit_norm && norm2 > 0)
    for (auto& t : out)
      for (double& v : t) v /= std::sqrt(norm2);
  return out;
}

// The derivative of order j of f at x along dirs[0..j), computed by the engine on a fresh tape.
double derivative(const GradcheckFunction& f, const Tensors& x, const Tensor<double>& w, const std::vector<Tensors>& dirs,
                  int j, Mode mode) {
  Tape<double> tape;
  std::vector<Var<double>> vars;
  for (const auto& t : x) vars.push_back(tape.variable(t));
  const Var<double> y = f(tape, vars);
  if (y.shape() != w.shape()) throw ShapeError("gradcheck: the function's output shape changed between calls");
  Var<double> d = sum(y * tape.constant(w));
  for (int level = 0; level < j; ++level) {
    std::vector<Var<double>> u;
    for (const auto& t : dirs[static_cast<size_t>(level)]) u.push_back(tape.constant(t));
    const bool fwd = mode == Mode::forward || (mode == Mode::alternating && level % 2 == 1);
    if (fwd) {
      d = jvp<double>({d}, vars, u, true)[0];
    } else {
      const auto g = grad<double>({d}, vars, {}, true);
      Var<double> s;
      for (size_t k = 0; k < g.size(); ++k) {
        const Var<double> term = sum(g[k] * u[k]);
        s = s.defined() ? s + term : term;
      }
      d = s;
    }
  }
  return d.item();
}

Tensors shifted(const Tensors& x, const Tensors& u, double h) {
  Tensors out = x;
  for (size_t k = 0; k < x.size(); ++k)
    for (int64_t i = 0; i < x[k].numel(); ++i) out[k][i] += h * u[k][i];
  return out;
}

}  // namespace

std::string GradcheckReport::str() const {
  std::ostringstream os;
  os.precision(3);
  for (const auto& o : orders)
    os << "order " << o.order << ": " << (o.passed ? "ok  " : "FAIL") << "  max abs error " << std::scientific
       << o.max_abs_error << "  max rel error " << o.max_rel_error << "  (" << o.checks << " checks; worst: " << o.worst
       << ")\n";
  return os.str();
}

GradcheckReport gradcheck(const GradcheckFunction& f, const std::vector<Tensor<double>>& inputs,
                          const GradcheckOptions& opt) {
  if (opt.order < 1 || opt.order > 3) throw std::invalid_argument("gradcheck: order must be 1, 2 or 3");
  if (inputs.empty()) throw std::invalid_argument("gradcheck: no inputs");
  Rng rng(opt.seed, 0x67726164);
  Tensor<double> w;
  {
    Tape<double> tape;
    std::vector<Var<double>> vars;
    for (const auto& t : inputs) vars.push_back(tape.variable(t));
    const Shape s = f(tape, vars).shape();
    w = Tensor<double>(s, 1.0);
    if (s.numel() > 1) fill_normal(w, rng);
  }
  GradcheckReport report;
  std::vector<Mode> modes{Mode::reverse};
  if (opt.forward_mode) {
    modes.push_back(Mode::forward);
    modes.push_back(Mode::alternating);
  }
  for (int j = 1; j <= opt.order; ++j) {
    GradcheckOrder o;
    o.order = j;
    for (Mode mode : modes) {
      for (int rep = 0; rep < opt.directions; ++rep) {
        std::vector<Tensors> dirs;
        for (int level = 0; level < j; ++level) dirs.push_back(random_like(inputs, rng, true));
        const double ad = derivative(f, inputs, w, dirs, j, mode);
        const Tensors& u = dirs[static_cast<size_t>(j - 1)];
        const double fp = derivative(f, shifted(inputs, u, opt.step), w, dirs, j - 1, mode);
        const double fm = derivative(f, shifted(inputs, u, -opt.step), w, dirs, j - 1, mode);
        const double fd = (fp - fm) / (2 * opt.step);
        const double abs_err = std::abs(ad - fd);
        const double scale = std::max(std::abs(ad), std::abs(fd));
        const double rel_err = scale > 0 ? abs_err / scale : 0.0;
        const bool ok = std::isfinite(ad) && std::isfinite(fd) && abs_err <= opt.atol + opt.rtol * scale;
        ++o.checks;
        if (!ok) o.passed = false;
        if (abs_err >= o.max_abs_error || !std::isfinite(abs_err)) {
          std::ostringstream why;
          why << mode_name(mode) << " direction " << rep << ": ad " << ad << " vs fd " << fd;
          o.worst = why.str();
        }
        o.max_abs_error = std::max(o.max_abs_error, std::isfinite(abs_err) ? abs_err : INFINITY);
        o.max_rel_error = std::max(o.max_rel_error, std::isfinite(rel_err) ? rel_err : INFINITY);
      }
    }
    report.passed = report.passed && o.passed;
    report.orders.push_back(o);
  }
  return report;
}

}  // namespace ad
