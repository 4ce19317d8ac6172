// `ebm check-grad FILE.json`: checks the derivatives of the experiment's loss with respect to the model's
// parameters against finite differences (ad::gradcheck), on a small fixed batch and fixed objective noise.
#include <algorithm>
#include <cstdio>

#include <autodiff/gradcheck.hpp>
#include <ebm/experiment/config.hpp>
#include <ebm/experiment/train.hpp>

#include "cli.hpp"

namespace cli {

using namespace ebm::experiment;

int cmd_check_grad(int argc, char** argv) {
  Args a = parse(argc, argv, 2, {{"--order", true}, {"--batch", true}, {"--set", true}, {"--help", false}});
  if (a.has("--help")) {
    std::fputs("usage: ebm check-grad FILE.json [--order 1|2|3] [--batch N] [--set k.k=value]...\n"
               "Gradcheck of the experiment's loss in the model (and objective) parameters, orders 1..order (min-max\n"
               "objectives: their game value, whose gradient the training follows up to per-player signs); prints the largest\n"
               "absolute and relative errors per order. Exit 0 when every order passes, 1 otherwise.\n",
               stdout);
    return kOk;
  }
  if (a.positional.size() != 1) throw UsageError("expected one experiment file, got " + std::to_string(a.positional.size()));
  long long order = a.get_int("--order", 1);
  if (order > 3) throw UsageError("--order: expected 1, 2 or 3, got " + std::to_string(order));
  long long batch = a.get_int("--batch", 8);
  std::vector<std::string> sets = a.has("--set") ? a.values.at("--set") : std::vector<std::string>{};
  json cfg = load_config(a.positional[0], sets);
  // Always float64, whatever the experiment's dtype: finite differences in float32 would measure its rounding.
  cfg["dtype"] = "float64";
  Session<double> s = session_of<double>(cfg, a.positional[0]);
  int64_t b = std::min<int64_t>(batch, s.data.x.rows()), d = s.data.x.cols();
  ad::Tensor<double> x(ad::Shape{b, d}, s.data.x.data());
  std::vector<int64_t> labels(s.data.labels.begin(), s.data.labels.begin() + (s.data.labels.empty() ? 0 : b));
  uint64_t seed = cfg["seed"];
  size_t np = s.model->params().size();
  std::vector<ad::Tensor<double>> inputs;
  for (auto* t : s.parameters()) inputs.push_back(*t);
  // The same Rng state (and, for persistent chains, the same objective state) on every call makes the loss a
  // fixed function of θ, which finite differences need. Negatives are drawn with θ held at its stored value.
  const std::vector<uint8_t> state = s.objective->save_state();
  ad::GradcheckFunction f = [&](ad::Tape<double>& tape, const std::vector<ad::Var<double>>& in) {
    std::vector<ad::Var<double>> theta(in.begin(), in.begin() + long(np)), extra(in.begin() + long(np), in.end());
    ad::Rng rng = ad::Rng(seed, kTrainStream).split(0);
    s.objective->load_state(state);
    return s.objective->gradcheck_value(ebm::LossInput<double>{tape, *s.model, theta, extra, x, rng, labels.empty() ? nullptr : &labels});
  };
  ad::GradcheckOptions o;
  o.order = static_cast<int>(order);
  o.seed = seed;
  ad::GradcheckReport r = ad::gradcheck(f, inputs, o);
  std::printf("check-grad %s: model %s, objective %s, %lld parameters, batch %lld\n", a.positional[0].c_str(), s.model->name().c_str(),
              s.objective->name().c_str(), (long long)s.model->num_parameters(), (long long)b);
  for (const auto& k : r.orders)
    std::printf("  order %d: max abs error %.3e, max rel error %.3e, %d checks: %s%s%s\n", k.order, k.max_abs_error, k.max_rel_error,
                k.checks, k.passed ? "ok" : "FAILED", k.worst.empty() ? "" : "  worst: ", k.worst.c_str());
  return r.passed ? kOk : kFailure;
}

}  // namespace cli
