#include "ebm/objectives/lsd.hpp"

#include <cstring>
#include <sstream>
#include <stdexcept>

namespace ebm {

namespace {

constexpr char kMagic[8] = {'E', 'B', 'M', 'L', 'S', 'D', '0', '1'};

// Grathwohl et al.'s critic optimiser: Adam with β1 = 0 (no momentum, which would carry the critic past a
// moving optimum of the game).
AdamOptions inner_adam_options() {
  AdamOptions o;
  o.beta1 = 0.0;
  o.beta2 = 0.999;
  return o;
}

}  // namespace

template <class T>
ad::Var<T> jacobian_trace(const ad::Var<T>& f, const ad::Var<T>& x, bool exact, int probes, ad::Probe kind, ad::Rng& rng,
                          bool create_graph) {
  // The trace routines differentiate the map x ↦ grad_f whatever it is; passing the critic's output as grad_f
  // gives Σ_k ∂f_k/∂x_k per row (exact: unit tangents through forward mode), and vᵀ(∇ₓf)ᵀv = vᵀ∇ₓf v (Hutchinson:
  // a vector-Jacobian product), so neither needs the Jacobian to be symmetric. `f` only names the tape there.
  return exact ? ad::hessian_trace(f, x, create_graph, f) : ad::hutchinson_trace(f, x, probes, rng, kind, create_graph, f);
}

template <class T>
SteinRows<T> stein_rows(const ad::Var<T>& score, const ad::Var<T>& f, const ad::Var<T>& x, bool exact, int probes, ad::Probe kind,
                        ad::Rng& rng, bool create_graph) {
  const ad::Var<T> tr = jacobian_trace(f, x, exact, probes, kind, rng, create_graph);
  return {ad::sum(score * f, 1) + tr, ad::sum(ad::square(f), 1), tr};
}

template <class T>
LearnedSteinDiscrepancy<T>::LearnedSteinDiscrepancy(int64_t dim, LsdOptions options)
    : options_(std::move(options)), dim_(dim), inner_(constant_lr(options_.critic_lr), inner_adam_options()) {
  if (dim < 1) throw std::invalid_argument("LSD: the data dimension must be at least 1");
  if (!(options_.lambda > 0)) throw std::invalid_argument("LSD: lambda must be > 0");
  if (options_.critic_steps < 1) throw std::invalid_argument("LSD: critic_steps must be >= 1");
  if (!(options_.critic_lr > 0)) throw std::invalid_argument("LSD: critic_lr must be > 0");
  if (options_.probes < 1) throw std::invalid_argument("LSD: probes must be >= 1");
  widths_.push_back(dim);
  widths_.insert(widths_.end(), options_.hidden.begin(), options_.hidden.end());
  widths_.push_back(dim);
  ad::Rng rng(options_.init_seed, 0x4c5344ULL);  // "LSD": a stream of its own, apart from the model's
  this->extra_ = mlp_init<T>(widths_, rng, "f.");
}

template <class T>
ad::Var<T> LearnedSteinDiscrepancy<T>::critic(const std::vector<ad::Var<T>>& omega, const ad::Var<T>& x) const {
  if (offset_.empty()) return mlp_forward(omega, 0, widths_.size() - 1, x, options_.activation);
  std::vector<ad::Var<T>> c;
  c.reserve(omega.size());
  for (size_t k = 0; k < omega.size(); ++k) c.push_back(omega[k] + x.tape().constant(offset_[k]));
  return mlp_forward(c, 0, widths_.size() - 1, x, options_.activation);
}

template <class T>
typename LearnedSteinDiscrepancy<T>::Game LearnedSteinDiscrepancy<T>::game(const LossInput<T>& in) const {
  if (in.x.cols() != dim_)
    throw ad::ShapeError("LSD: data has " + in.x.shape().str() + " but the critic was built for d = " + std::to_string(dim_));
  const ad::Var<T> x = in.tape.variable(in.x);
  const ad::Var<T> s = -ad::grad(ad::sum(in.model.energy(in.theta, x)), x, true);
  // The critic on a leaf of its own, so the trace's sweeps run over the critic's nodes only.
  const ad::Var<T> xc = in.tape.variable(in.x);
  const ad::Var<T> f = critic(in.extra, xc);
  return {s, f, stein_rows(s, f, xc, options_.exact_trace(dim_), options_.probes, options_.probe, in.rng, true)};
}

template <class T>
void LearnedSteinDiscrepancy<T>::critic_steps(const LossInput<T>& in) {
  if (options_.critic_steps <= 1) return;
  // The score with θ fixed at the values being trained (in.theta), once for all the inner steps.
  ad::Tensor<T> score;
  {
    ad::Tape<T> tape;
    std::vector<ad::Var<T>> theta;
    for (const ad::Var<T>& v : in.theta) theta.push_back(tape.constant(v.value()));
    const ad::Var<T> x = tape.variable(in.x);
    score = (-ad::grad(ad::sum(in.model.energy(theta, x)), x)).value();
  }
  if (offset_.empty())
    for (const ad::Var<T>& w : in.extra) offset_.emplace_back(w.shape(), T(0));
  std::vector<ad::Tensor<T>*> delta;
  for (ad::Tensor<T>& t : offset_) delta.push_back(&t);
  for (int step = 1; step < options_.critic_steps; ++step) {
    ad::Tape<T> tape;
    // ω + Δ as the variables: the gradient in Δ is the critic's.
    std::vector<ad::Var<T>> c;
    for (size_t k = 0; k < in.extra.size(); ++k) {
      ad::Tensor<T> v = in.extra[k].value();
      for (int64_t i = 0; i < v.numel(); ++i) v[i] += offset_[k][i];
      c.push_back(tape.variable(v));
    }
    const ad::Var<T> x = tape.variable(in.x);
    const ad::Var<T> f = mlp_forward(c, 0, widths_.size() - 1, x, options_.activation);
    const SteinRows<T> r = stein_rows(tape.constant(score), f, x, options_.exact_trace(dim_), options_.probes, options_.probe, in.rng, true);
    // Ascent on J: the optimiser descends −J.
    const ad::Var<T> neg_j = options_.lambda * ad::mean(r.penalty) - ad::mean(r.stein);
    std::vector<ad::Tensor<T>> grads;
    for (const ad::Var<T>& g : ad::grad<T>({neg_j}, c)) grads.push_back(g.value());
    inner_.step(delta, grads);
  }
}

template <class T>
Loss<T> LearnedSteinDiscrepancy<T>::loss(const LossInput<T>& in) {
  critic_steps(in);
  const Game g = game(in);
  const auto sg = [](const ad::Var<T>& v) { return ad::stop_gradient(v); };
  const double lambda = options_.lambda;
  // θ's view: the penalty does not depend on θ, so ∇θ J = ∇θ mean sᵀ f with f held fixed.
  const ad::Var<T> theta_part = ad::mean(ad::sum(g.score * sg(g.f), 1));
  // The critic's view, J with the score held fixed; its value is J itself.
  const ad::Var<T> penalty = ad::mean(g.rows.penalty);
  const ad::Var<T> omega_part = ad::mean(ad::sum(sg(g.score) * g.f, 1) + g.rows.trace) - lambda * penalty;
  // Value J; gradient ∇θ J for θ and −∇ω J for ω (ascent under the one optimiser).
  const ad::Var<T> value = (theta_part - sg(theta_part)) + (sg(omega_part) - omega_part) + sg(omega_part);
  const double j = static_cast<double>(omega_part.item());
  return {value,
          {{"lsd", j},
           {"stein", j + lambda * static_cast<double>(penalty.item())},
           {"penalty", static_cast<double>(penalty.item())},
           mean_term("trace", g.rows.trace)}};
}

template <class T>
ad::Var<T> LearnedSteinDiscrepancy<T>::gradcheck_value(const LossInput<T>& in) {
  const Game g = game(in);
  return ad::mean(g.rows.stein) - options_.lambda * ad::mean(g.rows.penalty);
}

template <class T>
std::vector<uint8_t> LearnedSteinDiscrepancy<T>::save_state() const {
  if (offset_.empty()) return {};
  const typename Adam<T>::State a = inner_.state();
  std::ostringstream out;
  out.write(kMagic, sizeof kMagic);
  const int64_t head[3] = {static_cast<int64_t>(offset_.size()), a.step, static_cast<int64_t>(a.m.size())};
  out.write(reinterpret_cast<const char*>(head), sizeof head);
  for (const auto* list : {&offset_, &a.m, &a.v})
    for (const ad::Tensor<T>& t : *list) out.write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(sizeof(T) * size_t(t.numel())));
  const std::string s = out.str();
  return {s.begin(), s.end()};
}

template <class T>
void LearnedSteinDiscrepancy<T>::load_state(const std::vector<uint8_t>& blob) {
  if (blob.empty()) {  // saved before the first inner step: no offset, a fresh inner optimiser
    offset_.clear();
    inner_ = Adam<T>(constant_lr(options_.critic_lr), inner_adam_options());
    return;
  }
  std::istringstream in(std::string(blob.begin(), blob.end()));
  char magic[8];
  int64_t head[3];
  in.read(magic, sizeof magic);
  in.read(reinterpret_cast<char*>(head), sizeof head);
  if (!in || std::memcmp(magic, kMagic, sizeof magic) != 0) throw std::runtime_error("LSD state: not a critic-offset blob");
  const size_t n = this->extra_.size();
  if (head[0] != static_cast<int64_t>(n) || (head[2] != 0 && head[2] != head[0]))
    throw std::runtime_error("LSD state: " + std::to_string(head[0]) + " critic tensors saved, this critic has " + std::to_string(n));
  const auto read_list = [&](size_t count) {
    std::vector<ad::Tensor<T>> list;
    for (size_t k = 0; k < count; ++k) {
      ad::Tensor<T> t(this->extra_[k].value.shape());
      in.read(reinterpret_cast<char*>(t.data()), static_cast<std::streamsize>(sizeof(T) * size_t(t.numel())));
      list.push_back(std::move(t));
    }
    return list;
  };
  std::vector<ad::Tensor<T>> offset = read_list(n);
  typename Adam<T>::State a;
  a.step = head[1];
  a.m = read_list(size_t(head[2]));
  a.v = read_list(size_t(head[2]));
  if (!in || in.peek() != std::char_traits<char>::eof()) throw std::runtime_error("LSD state: the blob's length does not match the critic");
  offset_ = std::move(offset);
  inner_.set_state(std::move(a));
}

#define EBM_INSTANTIATE(T)                                                                                                    \
  template ad::Var<T> jacobian_trace(const ad::Var<T>&, const ad::Var<T>&, bool, int, ad::Probe, ad::Rng&, bool);             \
  template SteinRows<T> stein_rows(const ad::Var<T>&, const ad::Var<T>&, const ad::Var<T>&, bool, int, ad::Probe, ad::Rng&, bool); \
  template class LearnedSteinDiscrepancy<T>;
EBM_INSTANTIATE(float)
EBM_INSTANTIATE(double)
#undef EBM_INSTANTIATE

}  // namespace ebm
