#include "ebm/objectives/fce.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace ebm {

namespace {

template <class T>
CouplingFlow<T> make_flow(int64_t dim, const FceOptions& o) {
  if (dim < 1) throw std::invalid_argument("fce: the data dimension must be at least 1");
  if (o.flow_layers < 0) throw std::invalid_argument("fce: flow_layers must be >= 0");
  ad::Rng rng(o.init_seed, 0x46434546ULL);  // "FCEF": a stream of its own
  return CouplingFlow<T>(dim, dim >= 2 ? o.flow_layers : 0, o.flow_hidden, o.flow_activation, rng, "q.");
}

// log N(z; 0, I) per row of z [n, d].
template <class T>
ad::Var<T> log_normal(const ad::Var<T>& z) {
  const double d = static_cast<double>(z.shape()[1]);
  return ad::sum(ad::square(z), 1) * -0.5 - 0.5 * d * std::log(2.0 * std::numbers::pi);
}

}  // namespace

template <class T>
FlowContrastiveEstimation<T>::FlowContrastiveEstimation(int64_t dim, FceOptions options, const ad::Tensor<T>* data)
    : options_(std::move(options)), dim_(dim), flow_(make_flow<T>(dim, options_)) {
  if (!(options_.noise_ratio > 0)) throw std::invalid_argument("fce: the noise ratio must be positive");
  this->extra_.push_back({"log_z", ad::Tensor<T>::scalar(static_cast<T>(options_.init_log_z))});
  std::vector<Param<T>> phi = flow_.initial_params();
  if (data && data->rows() >= 2) {
    if (data->cols() != dim) throw ad::ShapeError("fce: data is " + data->shape().str());
    // The couplings start as the identity, so the flow starts as this affine map: N(mean, diag var) of the data.
    ad::Tensor<T>& loc = phi[phi.size() - 2].value;
    ad::Tensor<T>& log_scale = phi[phi.size() - 1].value;
    const double n = static_cast<double>(data->rows());
    for (int64_t k = 0; k < dim; ++k) {
      double m = 0, v = 0;
      for (int64_t r = 0; r < data->rows(); ++r) m += static_cast<double>(data->at(r, k));
      m /= n;
      for (int64_t r = 0; r < data->rows(); ++r) v += std::pow(static_cast<double>(data->at(r, k)) - m, 2);
      loc[k] = static_cast<T>(m);
      log_scale[k] = static_cast<T>(0.5 * std::log(std::max(v / n, 1e-12)));
    }
  }
  this->extra_.insert(this->extra_.end(), phi.begin(), phi.end());
}

template <class T>
int64_t FlowContrastiveEstimation<T>::draws(int64_t rows) const {
  return std::max<int64_t>(1, std::llround(options_.noise_ratio * static_cast<double>(rows)));
}

template <class T>
ad::Tensor<T> FlowContrastiveEstimation<T>::base_draws(int64_t rows, ad::Rng& rng) const {
  ad::Tensor<T> z(ad::Shape{draws(rows), dim_});
  ad::fill_normal(z, rng);
  return z;
}

template <class T>
typename FlowContrastiveEstimation<T>::Pass FlowContrastiveEstimation<T>::pass(const LossInput<T>& in, const std::vector<ad::Var<T>>& theta,
                                                                               const ad::Var<T>& c, const std::vector<ad::Var<T>>& phi,
                                                                               const ad::Tensor<T>& z) const {
  if (in.x.cols() != dim_) throw ad::ShapeError("fce: data has " + in.x.shape().str() + " but the flow was built for d = " + std::to_string(dim_));
  const double log_nu = std::log(options_.noise_ratio);
  // Noise: y = g_φ(z), log q(y) = log N(z) − log|det ∂g/∂z|.
  const ad::Var<T> zv = in.tape.constant(z);
  const FlowOutput<T> fwd = flow_.forward(phi, 0, zv);
  const ad::Var<T> log_q_noise = log_normal(zv) - fwd.log_det;
  // Data: z = g_φ⁻¹(x), log q(x) = log N(z) − log|det ∂g/∂z| at that z.
  const FlowOutput<T> inv = flow_.inverse(phi, 0, in.tape.constant(in.x));
  const ad::Var<T> log_q_data = log_normal(inv.y) - inv.log_det;
  Pass p;
  p.g_data = -in.model.energy(theta, in.tape.constant(in.x)) - c - log_q_data - log_nu;
  p.g_noise = -in.model.energy(theta, fwd.y) - c - log_q_noise - log_nu;
  p.data_term = ad::softplus(-p.g_data);
  p.noise_term = ad::softplus(p.g_noise);
  p.value = (ad::sum(p.data_term) + ad::sum(p.noise_term)) / static_cast<double>(in.x.rows());
  p.log_det = fwd.log_det;
  return p;
}

template <class T>
ad::Var<T> FlowContrastiveEstimation<T>::value(const LossInput<T>& in, const ad::Tensor<T>& z) const {
  const std::vector<ad::Var<T>> phi(in.extra.begin() + 1, in.extra.end());
  return pass(in, in.theta, in.extra.at(0), phi, z).value;
}

template <class T>
ad::Var<T> FlowContrastiveEstimation<T>::gradcheck_value(const LossInput<T>& in) {
  return value(in, base_draws(in.x.rows(), in.rng));
}

template <class T>
Loss<T> FlowContrastiveEstimation<T>::loss(const LossInput<T>& in) {
  const ad::Tensor<T> z = base_draws(in.x.rows(), in.rng);
  const auto sg = [](const ad::Var<T>& v) { return ad::stop_gradient(v); };
  std::vector<ad::Var<T>> theta_fixed, phi, phi_fixed;
  for (const ad::Var<T>& p : in.theta) theta_fixed.push_back(sg(p));
  for (size_t i = 1; i < in.extra.size(); ++i) phi.push_back(in.extra[i]), phi_fixed.push_back(sg(in.extra[i]));
  const ad::Var<T> c = in.extra.at(0);
  const Pass model = pass(in, in.theta, c, phi_fixed, z);  // θ and c descend L
  const Pass flow = pass(in, theta_fixed, sg(c), phi, z);  // φ ascends L
  const ad::Var<T> value = model.value - flow.value + sg(flow.value);
  const int64_t b = in.x.rows(), m = z.rows();
  int64_t right = 0;
  for (int64_t i = 0; i < b; ++i) right += model.g_data.data()[i] > 0;
  for (int64_t i = 0; i < m; ++i) right += model.g_noise.data()[i] <= 0;
  return {value,
          {{"data_term", mean_term("", model.data_term).value},
           {"noise_term", mean_term("", model.noise_term).value * static_cast<double>(m) / static_cast<double>(b)},
           {"log_z", static_cast<double>(c.item())},
           {"accuracy", static_cast<double>(right) / static_cast<double>(b + m)},
           {"flow_log_det", mean_term("", model.log_det).value}}};
}

template <class T>
ad::Tensor<double> FlowContrastiveEstimation<T>::sample(int64_t n, ad::Rng& rng) const {
  ad::Tape<T> tape;
  const std::vector<Param<T>> phi_params(this->extra_.begin() + 1, this->extra_.end());
  const std::vector<ad::Var<T>> phi = bind_params(tape, phi_params, Bind::constant);
  ad::Tensor<T> z(ad::Shape{n, dim_});
  ad::fill_normal(z, rng);
  return flow_.forward(phi, 0, tape.constant(z)).y.value().template cast<double>();
}

template <class T>
ad::Tensor<double> FlowContrastiveEstimation<T>::log_density(const ad::Tensor<T>& x) const {
  ad::Tape<T> tape;
  const std::vector<Param<T>> phi_params(this->extra_.begin() + 1, this->extra_.end());
  const std::vector<ad::Var<T>> phi = bind_params(tape, phi_params, Bind::constant);
  const FlowOutput<T> inv = flow_.inverse(phi, 0, tape.constant(x));
  return (log_normal(inv.y) - inv.log_det).value().template cast<double>();
}

template class FlowContrastiveEstimation<float>;
template class FlowContrastiveEstimation<double>;

}  // namespace ebm
