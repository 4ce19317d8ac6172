#include "ebm/models/classifier.hpp"

#include <stdexcept>

namespace ebm {

template <class T>
ClassifierEnergy<T>::ClassifierEnergy(int64_t d, std::vector<int64_t> hidden, int64_t classes, Activation act,
                                      ad::Rng& rng)
    : act_(act) {
  if (classes < 2) throw std::invalid_argument("ClassifierEnergy: needs at least two classes");
  widths_.push_back(d);
  widths_.insert(widths_.end(), hidden.begin(), hidden.end());
  widths_.push_back(classes);
  this->params_ = mlp_init<T>(widths_, rng);
}

template <class T>
ad::Var<T> ClassifierEnergy<T>::logits(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const {
  this->check_call(params, x);
  return mlp_forward(params, 0, widths_.size() - 1, x, act_);
}

template <class T>
ad::Var<T> ClassifierEnergy<T>::energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const {
  return -ad::logsumexp(logits(params, x), 1);
}

namespace {
void check_labels(const std::vector<int64_t>& labels, int64_t rows, int64_t classes) {
  if (static_cast<int64_t>(labels.size()) != rows)
    throw std::invalid_argument("ClassifierEnergy: " + std::to_string(labels.size()) + " labels for a batch of " +
                                std::to_string(rows));
  for (int64_t y : labels)
    if (y < 0 || y >= classes)
      throw std::out_of_range("ClassifierEnergy: label " + std::to_string(y) + " outside [0, " + std::to_string(classes) + ")");
}
}  // namespace

template <class T>
ad::Var<T> ClassifierEnergy<T>::energy_xy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x,
                                          const std::vector<int64_t>& labels) const {
  check_labels(labels, x.shape()[0], classes());
  return -ad::gather_cols(logits(params, x), labels);
}

template <class T>
ad::Var<T> ClassifierEnergy<T>::log_prob_y_given_x(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x,
                                                   const std::vector<int64_t>& labels) const {
  check_labels(labels, x.shape()[0], classes());
  return ad::gather_cols(ad::log_softmax(logits(params, x), 1), labels);
}

template <class T>
ad::Tensor<T> ClassifierEnergy<T>::class_probabilities(const ad::Tensor<T>& x) const {
  ad::Tape<T> tape;
  typename ad::Tape<T>::NoGrad no_grad(tape);
  return ad::softmax(logits(bind_params(tape, this->params_, Bind::constant), tape.constant(x)), 1).value();
}

template class ClassifierEnergy<float>;
template class ClassifierEnergy<double>;

}  // namespace ebm
