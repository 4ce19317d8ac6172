#include "ebm/objectives/adversarial.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace ebm {

namespace {

// E[−log N(z; 0, I_d)] = (d/2)(1 + log 2π): the entropy of the base distribution.
double base_entropy(int64_t d) { return 0.5 * static_cast<double>(d) * (1.0 + std::log(2.0 * std::numbers::pi)); }

}  // namespace

template <class T>
AdversarialTraining<T>::AdversarialTraining(int64_t dim, AdversarialOptions options, const ad::Tensor<T>* data)
    : options_(std::move(options)), dim_(dim) {
  if (dim < 1) throw std::invalid_argument("adversarial: the data dimension must be at least 1");
  if (options_.samples < 0) throw std::invalid_argument("adversarial: samples must be >= 0");
  ad::Tensor<T> loc(ad::Shape{dim}, T(0)), log_scale(ad::Shape{dim}, T(0));
  if (data && data->rows() >= 2) {
    if (data->cols() != dim) throw ad::ShapeError("adversarial: data is " + data->shape().str());
    for (int64_t k = 0; k < dim; ++k) {
      double m = 0, v = 0;
      for (int64_t r = 0; r < data->rows(); ++r) m += static_cast<double>(data->at(r, k));
      m /= static_cast<double>(data->rows());
      for (int64_t r = 0; r < data->rows(); ++r) v += std::pow(static_cast<double>(data->at(r, k)) - m, 2);
      v /= static_cast<double>(data->rows());
      loc[k] = static_cast<T>(m);
      log_scale[k] = static_cast<T>(0.5 * std::log(std::max(v, 1e-12)));
    }
  }
  if (options_.family == SamplerFamily::gaussian) {
    this->extra_.push_back({"q.mean", loc});
    this->extra_.push_back({"q.log_std", log_scale});
  } else {
    ad::Rng rng(options_.init_seed, 0x41445653ULL);  // "ADVS": a stream of its own
    flow_.emplace(dim, options_.flow_layers, options_.flow_hidden, options_.flow_activation, rng, "q.");
    this->extra_ = flow_->initial_params();
    this->extra_[this->extra_.size() - 2].value = loc;
    this->extra_[this->extra_.size() - 1].value = log_scale;
  }
}

template <class T>
SamplerDraw<T> AdversarialTraining<T>::draw(const std::vector<ad::Var<T>>& phi, const ad::Var<T>& z) const {
  if (!flow_) {
    const ad::Var<T> y = phi.at(0) + ad::exp(phi.at(1)) * z;
    return {y, ad::sum(phi[1]) + base_entropy(dim_)};
  }
  const FlowOutput<T> out = flow_->forward(phi, 0, z);
  return {out.y, ad::mean(out.log_det) + base_entropy(dim_)};
}

template <class T>
ad::Var<T> AdversarialTraining<T>::bound(const LossInput<T>& in, const ad::Tensor<T>& z) const {
  const SamplerDraw<T> q = draw(in.extra, in.tape.constant(z));
  return ad::mean(in.model.energy(in.theta, in.tape.constant(in.x))) - ad::mean(in.model.energy(in.theta, q.y)) + q.entropy;
}

template <class T>
ad::Var<T> AdversarialTraining<T>::gradcheck_value(const LossInput<T>& in) {
  const int64_t m = options_.samples > 0 ? options_.samples : in.x.rows();
  ad::Tensor<T> z(ad::Shape{m, dim_});
  ad::fill_normal(z, in.rng);
  return bound(in, z);
}

template <class T>
Loss<T> AdversarialTraining<T>::loss(const LossInput<T>& in) {
  if (in.x.cols() != dim_) throw ad::ShapeError("adversarial: data has " + in.x.shape().str() + " but q was built for d = " + std::to_string(dim_));
  const int64_t m = options_.samples > 0 ? options_.samples : in.x.rows();
  ad::Tensor<T> z(ad::Shape{m, dim_});
  ad::fill_normal(z, in.rng);
  const SamplerDraw<T> q = draw(in.extra, in.tape.constant(z));
  const auto sg = [](const ad::Var<T>& v) { return ad::stop_gradient(v); };
  std::vector<ad::Var<T>> theta_fixed;
  for (const ad::Var<T>& p : in.theta) theta_fixed.push_back(sg(p));
  const ad::Var<T> data_energy = ad::mean(in.model.energy(in.theta, in.tape.constant(in.x)));
  const ad::Var<T> sample_energy = ad::mean(in.model.energy(in.theta, sg(q.y)));  // θ's view: samples fixed
  const ad::Var<T> sampler_part = ad::mean(in.model.energy(theta_fixed, q.y)) - q.entropy;  // φ's view: θ fixed
  const ad::Var<T> model_part = data_energy - sample_energy + sg(q.entropy);
  const ad::Var<T> value = model_part + sampler_part - sg(sampler_part);
  const double h = static_cast<double>(q.entropy.item()), es = static_cast<double>(sample_energy.item());
  return {value,
          {{"bound", static_cast<double>(model_part.item())},
           {"data_energy", static_cast<double>(data_energy.item())},
           {"sample_energy", es},
           {"entropy", h},
           {"log_z_bound", -es + h}}};
}

template <class T>
ad::Tensor<double> AdversarialTraining<T>::sample(int64_t n, ad::Rng& rng) const {
  ad::Tape<T> tape;
  const std::vector<ad::Var<T>> phi = bind_params(tape, this->extra_, Bind::constant);
  ad::Tensor<T> z(ad::Shape{n, dim_});
  ad::fill_normal(z, rng);
  return draw(phi, tape.constant(z)).y.value().template cast<double>();
}

template <class T>
double AdversarialTraining<T>::entropy(int64_t n, ad::Rng& rng) const {
  ad::Tape<T> tape;
  const std::vector<ad::Var<T>> phi = bind_params(tape, this->extra_, Bind::constant);
  ad::Tensor<T> z(ad::Shape{flow_ ? n : 1, dim_});
  ad::fill_normal(z, rng);
  return static_cast<double>(draw(phi, tape.constant(z)).entropy.item());
}

template class AdversarialTraining<float>;
template class AdversarialTraining<double>;

}  // namespace ebm
