#include "ebm/objectives/objective.hpp"

#include <stdexcept>

namespace ebm {

template <class T>
double Loss<T>::term(const std::string& name) const {
  for (const Term& t : terms)
    if (t.name == name) return t.value;
  throw std::out_of_range("Loss: no term named '" + name + "'");
}

int64_t shard_share(int64_t total, int s, int count, const std::string& what) {
  const int64_t n = ad::split_rows(total, count).at(static_cast<size_t>(s)).size();
  if (n < 1)
    throw std::invalid_argument(what + " = " + std::to_string(total) + " in " + std::to_string(count) + " shards leaves shard " +
                                std::to_string(s) + " none (at least one per shard)");
  return n;
}

template <class T>
LossAndGrad<T> loss_and_grad(ad::Tape<T>& tape, const Energy<T>& model, Objective<T>& objective, const ad::Tensor<T>& x,
                             ad::Rng& rng, const std::vector<int64_t>* labels) {
  if (auto direct = objective.direct_loss_and_grad(model, x, rng, labels)) return std::move(*direct);
  tape.clear();
  const std::vector<ad::Var<T>> theta = bind_params(tape, model.params(), Bind::variable);
  const std::vector<ad::Var<T>> extra = bind_params(tape, objective.extra_params(), Bind::variable);
  Loss<T> l = objective.loss(LossInput<T>{tape, model, theta, extra, x, rng, labels});
  if (l.value.numel() != 1) throw ad::ShapeError(objective.name() + ": loss must be a single number, got " + l.value.shape().str());
  std::vector<ad::Var<T>> inputs = theta;
  inputs.insert(inputs.end(), extra.begin(), extra.end());
  LossAndGrad<T> out;
  out.loss = static_cast<double>(l.value.item());
  out.terms = std::move(l.terms);
  if (!inputs.empty()) {
    const std::vector<ad::Var<T>> g = ad::grad<T>({l.value}, inputs);
    for (size_t k = 0; k < g.size(); ++k) (k < theta.size() ? out.grad_theta : out.grad_extra).push_back(g[k].value());
  }
  tape.clear();
  return out;
}

template <class T>
Term mean_term(const std::string& name, const ad::Var<T>& per_sample) {
  const T* p = per_sample.data();
  double s = 0;
  for (int64_t i = 0; i < per_sample.numel(); ++i) s += static_cast<double>(p[i]);
  return {name, per_sample.numel() ? s / static_cast<double>(per_sample.numel()) : 0.0};
}

template struct Loss<float>;
template struct Loss<double>;
template LossAndGrad<float> loss_and_grad(ad::Tape<float>&, const Energy<float>&, Objective<float>&, const ad::Tensor<float>&,
                                          ad::Rng&, const std::vector<int64_t>*);
template LossAndGrad<double> loss_and_grad(ad::Tape<double>&, const Energy<double>&, Objective<double>&,
                                           const ad::Tensor<double>&, ad::Rng&, const std::vector<int64_t>*);
template Term mean_term(const std::string&, const ad::Var<float>&);
template Term mean_term(const std::string&, const ad::Var<double>&);

}  // namespace ebm
