#include "ebm/objectives/f_divergence.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>

#include <samplers/mala.hpp>

#include "ebm/models/gaussian.hpp"
#include "ebm/objectives/nce.hpp"

namespace ebm {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kLog2 = std::numbers::ln2;

}  // namespace

std::string to_string(FDivergence k) { return std::string(enum_name(kFDivergenceNames, k)); }

FDivergence f_divergence_from_string(std::string_view s) { return parse_enum(kFDivergenceNames, s, "f-divergence"); }

void FDivergenceSpec::validate() const {
  if (kind != FDivergence::alpha) return;
  if (!std::isfinite(alpha)) throw std::invalid_argument("f-divergence alpha: α must be finite");
  if (alpha == 0.0 || alpha == 1.0)
    throw std::invalid_argument("f-divergence alpha: α = 0 and α = 1 are the limits reverse_kl and kl; use those");
}

std::string FDivergenceSpec::name() const {
  return kind == FDivergence::alpha ? "alpha(" + std::to_string(alpha) + ")" : to_string(kind);
}

double FDivergenceSpec::f(double r) const {
  if (r < 0) return kInf;
  switch (kind) {
    case FDivergence::kl: return r > 0 ? r * std::log(r) : 0.0;
    case FDivergence::reverse_kl: return r > 0 ? -std::log(r) : kInf;
    case FDivergence::jensen_shannon: return 0.5 * ((r > 0 ? r * std::log(r) : 0.0) - (r + 1) * std::log((r + 1) / 2));
    case FDivergence::squared_hellinger: return (std::sqrt(r) - 1) * (std::sqrt(r) - 1);
    case FDivergence::pearson: return (r - 1) * (r - 1);
    case FDivergence::neyman: return r > 0 ? (1 - r) * (1 - r) / r : kInf;
    case FDivergence::alpha:
      if (r == 0 && alpha < 0) return kInf;
      return (std::pow(r, alpha) - 1 - alpha * (r - 1)) / (alpha * (alpha - 1));
  }
  return kInf;
}

double FDivergenceSpec::conjugate(double t) const {
  switch (kind) {
    case FDivergence::kl: return std::exp(t - 1);
    case FDivergence::reverse_kl: return t < 0 ? -1 - std::log(-t) : kInf;
    case FDivergence::jensen_shannon: return t < 0.5 * kLog2 ? -0.5 * std::log(2 - std::exp(2 * t)) : kInf;
    case FDivergence::squared_hellinger: return t < 1 ? t / (1 - t) : kInf;
    case FDivergence::pearson: return t * t / 4 + t;
    case FDivergence::neyman: return t < 1 ? 2 - 2 * std::sqrt(1 - t) : kInf;
    case FDivergence::alpha: {
      // f'(r) = t at r = (1 + (α−1)t)^{1/(α−1)}; f*(t) = (r^α − 1)/α there.
      const double base = 1 + (alpha - 1) * t;
      return base > 0 ? (std::pow(base, alpha / (alpha - 1)) - 1) / alpha : kInf;
    }
  }
  return kInf;
}

std::pair<double, double> FDivergenceSpec::exponent_rates() const {
  switch (kind) {
    case FDivergence::kl: return {1, 0};                  // F = e^u
    case FDivergence::reverse_kl: return {0, 1};          // T = −e^{−u}
    case FDivergence::jensen_shannon: return {0, 0};      // softplus: linear growth at most
    case FDivergence::squared_hellinger: return {0.5, 0.5};  // F = e^{u/2} − 1, T = 1 − e^{−u/2}
    case FDivergence::pearson: return {2, 0};             // F = e^{2u} − 1
    case FDivergence::neyman: return {0, 2};              // T = 1 − e^{−2u}
    case FDivergence::alpha:                              // T ∝ e^{(α−1)u}, F ∝ e^{αu}
      return {std::max({0.0, alpha, alpha - 1}), std::max({0.0, -alpha, 1 - alpha})};
  }
  return {0, 0};
}

template <class T>
ad::Var<T> FDivergenceSpec::critic(const ad::Var<T>& u) const {
  switch (kind) {
    case FDivergence::kl: return u + 1.0;
    case FDivergence::reverse_kl: return -ad::exp(-u);
    case FDivergence::jensen_shannon: return 0.5 * (kLog2 - ad::softplus(-u));
    case FDivergence::squared_hellinger: return 1.0 - ad::exp(-0.5 * u);
    case FDivergence::pearson: return 2.0 * (ad::exp(u) - 1.0);
    case FDivergence::neyman: return 1.0 - ad::exp(-2.0 * u);
    case FDivergence::alpha: return (ad::exp((alpha - 1) * u) - 1.0) / (alpha - 1);
  }
  throw std::invalid_argument("FDivergenceSpec: bad kind");
}

template <class T>
ad::Var<T> FDivergenceSpec::conjugate_of_critic(const ad::Var<T>& u) const {
  switch (kind) {
    case FDivergence::kl: return ad::exp(u);
    case FDivergence::reverse_kl: return u - 1.0;
    case FDivergence::jensen_shannon: return 0.5 * (ad::softplus(u) - kLog2);
    case FDivergence::squared_hellinger: return ad::exp(0.5 * u) - 1.0;
    case FDivergence::pearson: return ad::exp(2.0 * u) - 1.0;
    case FDivergence::neyman: return 2.0 - 2.0 * ad::exp(-u);
    case FDivergence::alpha: return (ad::exp(alpha * u) - 1.0) / alpha;
  }
  throw std::invalid_argument("FDivergenceSpec: bad kind");
}

template <class T>
FEbm<T>::FEbm(int64_t dim, FEbmOptions options) : options_(std::move(options)), dim_(dim) {
  options_.divergence.validate();
  if (dim < 1) throw std::invalid_argument("f-EBM: the data dimension must be at least 1");
  if (options_.model_samples < 0) throw std::invalid_argument("f-EBM: model_samples must be >= 0");
  if (!(options_.exponent_bound >= 0)) throw std::invalid_argument("f-EBM: exponent_bound must be >= 0 (0: unbounded)");
  widths_.push_back(dim);
  widths_.insert(widths_.end(), options_.hidden.begin(), options_.hidden.end());
  widths_.push_back(1);
  ad::Rng rng(options_.init_seed, 0x4645424dULL);  // "FEBM": a stream of its own, apart from the model's
  this->extra_ = mlp_init<T>(widths_, rng, "H.");
}

template <class T>
ad::Var<T> FEbm<T>::variational(const std::vector<ad::Var<T>>& omega, const ad::Var<T>& x) const {
  const ad::Var<T> h = mlp_forward(omega, 0, widths_.size() - 1, x, options_.activation);
  return ad::reshape(h, ad::Shape{h.shape()[0]});
}

template <class T>
ad::Tensor<T> FEbm<T>::sample_model(const Energy<T>& model, const ad::Tensor<T>& data, int64_t n, ad::Rng& rng) const {
  const int64_t d = model.dim();
  if (const auto* g = dynamic_cast<const GaussianEnergy<T>*>(&model)) {
    // Exact: y = μ + C z with C the Cholesky factor of the covariance (the same draw as NCE's noise).
    return GaussianNoise(g->mean(), g->covariance()).sample<T>(n, rng);
  }
  // Short-run MALA from data rows picked at random (see the header comment for its bias).
  ad::Tensor<T> start(ad::Shape{n, d});
  for (int64_t r = 0; r < n; ++r) {
    const int64_t src = static_cast<int64_t>(rng.next_u64() % static_cast<uint64_t>(data.rows()));
    for (int64_t i = 0; i < d; ++i) start.at(r, i) = data.at(src, i);
  }
  samplers::ChainState<T> state(start, rng.next_u64());
  samplers::MalaOptions o;
  o.step_size = options_.langevin_step_size;
  samplers::Mala<T> mala([&model](ad::Tape<T>&, const ad::Var<T>& x) { return model.fixed_energy(x); }, o);
  mala.run(state, options_.langevin_steps);
  return state.x;
}

template <class T>
ad::Var<T> FEbm<T>::bounded(const ad::Var<T>& u) const {
  // Note [Bounded exponents]: u up to hi = K / up; beyond, hi + (1 − e^{−up (u − hi)}) / up, so up · ū < K + 1 and
  // ū is smooth (its slope is 1 at hi and stays positive); the same below lo = −K / down.
  const double K = options_.exponent_bound;
  if (K <= 0) return u;
  const auto [up, down] = options_.divergence.exponent_rates();
  ad::Var<T> v = u;
  if (up > 0) {
    const ad::Var<T> over = ad::relu(v - K / up);
    v = v - over + (1.0 - ad::exp(-up * over)) / up;
  }
  if (down > 0) {
    const ad::Var<T> under = ad::relu(-K / down - v);
    v = v + under - (1.0 - ad::exp(-down * under)) / down;
  }
  return v;
}

template <class T>
typename FEbm<T>::Parts FEbm<T>::combine(const ad::Var<T>& u_data, const ad::Var<T>& u_model, const ad::Var<T>& log_w) const {
  const ad::Var<T> data_term = ad::mean(options_.divergence.critic(bounded(u_data)));
  const ad::Var<T> model_term = ad::sum(ad::softmax(log_w) * options_.divergence.conjugate_of_critic(bounded(u_model)));
  return {data_term - model_term, data_term, model_term};
}

template <class T>
ad::Var<T> FEbm<T>::bound(const LossInput<T>& in, const ad::Tensor<T>& y, const ad::Tensor<T>& sampling_energy) const {
  const ad::Var<T> x = in.tape.constant(in.x), yv = in.tape.constant(y);
  const ad::Var<T> e_y = in.model.energy(in.theta, yv);
  const ad::Var<T> u_data = variational(in.extra, x) + in.model.energy(in.theta, x);
  const ad::Var<T> u_model = variational(in.extra, yv) + e_y;
  return combine(u_data, u_model, in.tape.constant(sampling_energy) - e_y).value;
}

template <class T>
std::unique_ptr<Objective<T>> FEbm<T>::shard(int s, int count) const {
  auto part = std::make_unique<FEbm>(*this);
  if (options_.model_samples > 0) part->options_.model_samples = shard_share(options_.model_samples, s, count, "model_samples");
  return part;
}

template <class T>
typename FEbm<T>::ModelDraws FEbm<T>::draw_model_side(const LossInput<T>& in) const {
  if (in.x.cols() != dim_) throw ad::ShapeError("f-EBM: data has " + in.x.shape().str() + " but H_ω was built for d = " + std::to_string(dim_));
  const int64_t m = options_.model_samples > 0 ? options_.model_samples : in.x.rows();
  const ad::Var<T> yv = in.tape.constant(sample_model(in.model, in.x, m, in.rng));
  return {variational(in.extra, yv), in.model.energy(in.theta, yv)};
}

template <class T>
ad::Var<T> FEbm<T>::model_conjugate(const ModelDraws& d) const {
  return options_.divergence.conjugate_of_critic(bounded(ad::stop_gradient(d.h) + d.e));
}

template <class T>
std::vector<double> FEbm<T>::shard_statistics(const LossInput<T>& in) {
  pending_ = draw_model_side(in);
  const ad::Var<T> F = model_conjugate(*pending_);
  double sum = 0;
  for (int64_t i = 0; i < F.numel(); ++i) sum += static_cast<double>(F.data()[i]);
  return {sum, static_cast<double>(F.numel())};
}

template <class T>
Loss<T> FEbm<T>::loss(const LossInput<T>& in) {
  if (in.x.cols() != dim_) throw ad::ShapeError("f-EBM: data has " + in.x.shape().str() + " but H_ω was built for d = " + std::to_string(dim_));
  if (in.statistics && !pending_) throw std::logic_error("f-EBM: loss() with batch statistics but no shard_statistics() before it");
  const ModelDraws draws = in.statistics ? *pending_ : draw_model_side(in);
  pending_.reset();
  const ad::Var<T> x = in.tape.constant(in.x);
  // H and E once each on data and samples; the two players see them through stop_gradient.
  const ad::Var<T> h_data = variational(in.extra, x), e_data = in.model.energy(in.theta, x);
  const auto sg = [](const ad::Var<T>& v) { return ad::stop_gradient(v); };
  // θ's view: ω fixed. Note [f-EBM across shards]: the model term is Σ_i w_i F_i with self-normalised weights
  // w = softmax(E_θ₀ − E_θ) over the batch's m draws (Theorem 3's score-function terms); at θ = θ₀ they are 1/m,
  // and the gradient is (1/m) Σ_i [∇F_i − (F_i − F̄) ∇E_i] with F̄ the batch's mean of F. It is written as the
  // mean of F_i + (F_i − F̄)(E_θ₀ − E_θ)_i, of the same value and gradient, in which only F̄ is batch-wide: one
  // shard's part of it is the mean over its draws, given F̄ from every shard's sums (LossInput::statistics).
  const ad::Var<T> F = model_conjugate(draws);
  double F_bar = 0;
  if (in.statistics) {
    F_bar = in.statistics->at(0) / in.statistics->at(1);
  } else {
    for (int64_t i = 0; i < F.numel(); ++i) F_bar += static_cast<double>(F.data()[i]) / static_cast<double>(F.numel());
  }
  const ad::Var<T> theta_data = ad::mean(options_.divergence.critic(bounded(sg(h_data) + e_data)));
  const ad::Var<T> theta_model = ad::mean(F + (sg(F) - F_bar) * (sg(draws.e) - draws.e));
  const ad::Var<T> theta_value = theta_data - theta_model;
  // ω's view: θ fixed, plain averages (w_i = 1/m).
  const int64_t m = draws.h.numel();
  const Parts omega_view = combine(h_data + sg(e_data), draws.h + sg(draws.e), in.tape.constant(ad::Shape{m}, T(0)));
  const ad::Var<T> value = theta_value - omega_view.value + sg(omega_view.value);
  return {value,
          {{"divergence", static_cast<double>(theta_value.item())},
           {"data_term", static_cast<double>(theta_data.item())},
           {"model_term", static_cast<double>(theta_model.item())},
           {"log_ratio_data", mean_term("", h_data + e_data).value},
           {"log_ratio_model", mean_term("", draws.h + draws.e).value}}};
}

template <class T>
ad::Var<T> FEbm<T>::gradcheck_value(const LossInput<T>& in) {
  const int64_t m = options_.model_samples > 0 ? options_.model_samples : in.x.rows();
  const ad::Tensor<T> y = sample_model(in.model, in.x, m, in.rng);
  return bound(in, y, in.model.evaluate(y));
}

template <class T>
ad::Tensor<double> FEbm<T>::log_density_ratio(const Energy<T>& model, const ad::Tensor<T>& x) const {
  ad::Tape<T> tape;
  const std::vector<ad::Var<T>> omega = bind_params(tape, this->extra_, Bind::constant);
  const ad::Var<T> xv = tape.constant(x);
  const ad::Var<T> u = variational(omega, xv) + model.fixed_energy(xv);
  return u.value().template cast<double>();
}

template <class T>
RejectionResult<T> FEbm<T>::rejection_sample(const Energy<T>& model, const ad::Tensor<T>& proposals, ad::Rng& rng) const {
  const ad::Tensor<double> log_r = log_density_ratio(model, proposals);
  const int64_t n = proposals.rows(), d = proposals.cols();
  double log_m = -kInf;
  for (int64_t i = 0; i < n; ++i) log_m = std::max(log_m, log_r[i]);
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < n; ++i)
    if (rng.uniform() < std::exp(log_r[i] - log_m)) keep.push_back(i);  // in log space: r/M never overflows
  RejectionResult<T> out;
  out.accepted = ad::Tensor<T>(ad::Shape{static_cast<int64_t>(keep.size()), d});
  for (size_t k = 0; k < keep.size(); ++k)
    for (int64_t j = 0; j < d; ++j) out.accepted.at(static_cast<int64_t>(k), j) = proposals.at(keep[k], j);
  out.bound = std::exp(log_m);
  out.acceptance = n ? static_cast<double>(keep.size()) / static_cast<double>(n) : 0.0;
  return out;
}

#define EBM_INSTANTIATE(T)                                                        \
  template ad::Var<T> FDivergenceSpec::critic(const ad::Var<T>&) const;           \
  template ad::Var<T> FDivergenceSpec::conjugate_of_critic(const ad::Var<T>&) const; \
  template class FEbm<T>;
EBM_INSTANTIATE(float)
EBM_INSTANTIATE(double)
#undef EBM_INSTANTIATE

}  // namespace ebm
