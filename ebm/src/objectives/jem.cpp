#include "ebm/objectives/jem.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "ebm/models/classifier.hpp"

namespace ebm {

template <class T>
JointEnergyModel<T>::JointEnergyModel(NegativePhase<T> negatives, double px_weight, double energy_reg)
    : negatives_(std::move(negatives)), px_weight_(px_weight), alpha_(energy_reg) {
  if (!(px_weight >= 0)) throw std::invalid_argument("JEM: px_weight must be >= 0");
  if (!(energy_reg >= 0)) throw std::invalid_argument("JEM: the energy regulariser must be >= 0");
}

template <class T>
Loss<T> JointEnergyModel<T>::loss(const LossInput<T>& in) {
  const auto* clf = dynamic_cast<const ClassifierEnergy<T>*>(&in.model);
  if (!clf) throw std::invalid_argument("JEM needs a classifier model, not \"" + in.model.name() + "\"");
  if (!in.labels || static_cast<int64_t>(in.labels->size()) != in.x.rows())
    throw std::invalid_argument("JEM needs one label per row (the data has no labels, or a different count)");
  for (int64_t y : *in.labels)
    if (y < 0 || y >= clf->classes())
      throw std::invalid_argument("JEM: label " + std::to_string(y) + " outside [0, " + std::to_string(clf->classes()) + ")");
  const ad::Var<T> x = in.tape.constant(in.x);
  const ad::Var<T> logits = clf->logits(in.theta, x);
  const ad::Var<T> log_py = clf->log_prob_y_given_x(in.theta, x, *in.labels);
  Loss<T> out{-ad::mean(log_py), {}};
  out.terms.push_back({"cross_entropy", static_cast<double>(out.value.item())});
  const int64_t k = clf->classes();
  int64_t right = 0;
  for (int64_t r = 0; r < in.x.rows(); ++r) {
    const T* row = logits.data() + r * k;
    int64_t best = 0;
    for (int64_t j = 1; j < k; ++j)
      if (row[j] > row[best]) best = j;
    right += best == (*in.labels)[static_cast<size_t>(r)];
  }
  out.terms.push_back({"accuracy", static_cast<double>(right) / static_cast<double>(in.x.rows())});
  if (px_weight_ > 0) {
    last_ = negatives_.draw(in.model, in.x, in.rng);
    // E(x) = −logsumexp f(x): the same logits, so the p(x) term shares the forward pass of the data.
    const ad::Var<T> e_data = -ad::logsumexp(logits, 1);
    const ad::Var<T> e_samples = clf->energy(in.theta, in.tape.constant(last_));
    out.value = out.value + px_weight_ * contrastive_surrogate(e_data, e_samples, alpha_, out.terms);
    out.terms.push_back({"accept_rate", negatives_.last_stats().acceptance_rate()});
    if (std::isfinite(negatives_.last_ess())) out.terms.push_back({"ess", negatives_.last_ess()});
  }
  return out;
}

template class JointEnergyModel<float>;
template class JointEnergyModel<double>;

}  // namespace ebm
