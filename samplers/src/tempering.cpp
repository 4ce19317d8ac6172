#include "samplers/tempering.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "kernels.hpp"

namespace samplers {

std::vector<double> TemperingOptions::geometric(int levels, double beta_min) {
  if (levels < 1 || !(beta_min > 0 && beta_min <= 1))
    throw std::invalid_argument("samplers::TemperingOptions::geometric: need levels >= 1 and 0 < beta_min <= 1");
  std::vector<double> b(static_cast<size_t>(levels));
  for (int k = 0; k < levels; ++k) b[size_t(k)] = levels == 1 ? 1.0 : std::pow(beta_min, double(k) / (levels - 1));
  return b;
}

template <class T>
ParallelTempering<T>::ParallelTempering(BatchEnergy<T> energy, TemperingOptions options)
    : energy_(std::move(energy)), options_(std::move(options)) {
  const auto& b = options_.betas;
  if (b.empty() || b[0] != 1.0) throw std::invalid_argument("samplers::ParallelTempering: betas must start at 1 (the target)");
  for (size_t k = 1; k < b.size(); ++k)
    if (!(b[k] > 0 && b[k] < b[k - 1]))
      throw std::invalid_argument("samplers::ParallelTempering: betas must be positive and strictly decreasing");
  if (!(options_.step_size > 0)) throw std::invalid_argument("samplers::ParallelTempering: step_size must be positive");
  if (options_.local_steps < 1) throw std::invalid_argument("samplers::ParallelTempering: local_steps must be >= 1");
  if (options_.target_accept < 0) options_.target_accept = options_.move == LocalMove::mala ? 0.574 : 0.234;
  for (double beta : b)
    steps_.push_back(options_.move == LocalMove::mala ? options_.step_size / beta : options_.step_size / std::sqrt(beta));
}

template <class T>
void ParallelTempering<T>::set_level_steps(const std::vector<double>& steps) {
  if (steps.size() != steps_.size()) throw std::invalid_argument("samplers::ParallelTempering: one step per level needed");
  for (double s : steps)
    if (!(s > 0) || !std::isfinite(s)) throw std::invalid_argument("samplers::ParallelTempering: steps must be positive");
  steps_ = steps;
}

template <class T>
ChainState<T> ParallelTempering<T>::make_state(int64_t chains, int64_t dim, uint64_t seed) const {
  return ChainState<T>(chains * levels(), dim, seed);
}

template <class T>
ad::Tensor<T> ParallelTempering<T>::level(const ChainState<T>& state, int k) const {
  if (k < 0 || k >= levels() || state.chains() % levels() != 0)
    throw std::invalid_argument("samplers::ParallelTempering::level: bad level or state");
  const int64_t b = state.chains() / levels(), d = state.dim();
  return ad::Tensor<T>(ad::Shape{b, d}, state.x.data() + int64_t(k) * b * d);
}

template <class T>
SamplerStats ParallelTempering<T>::run(ChainState<T>& state, int64_t rounds, const Observer<T>& observe) {
  return go(state, rounds, observe, false);
}

template <class T>
SamplerStats ParallelTempering<T>::warmup(ChainState<T>& state, int64_t rounds) {
  return go(state, rounds, {}, true);
}

template <class T>
SamplerStats ParallelTempering<T>::go(ChainState<T>& state, int64_t rounds, const Observer<T>& observe, bool adapt) {
  const int64_t rows = state.chains(), d = state.dim();
  const int K = levels();
  detail::check_batch("ParallelTempering", rows, d);
  if (rows % K != 0)
    throw std::invalid_argument("samplers::ParallelTempering: the state has " + std::to_string(rows) +
                                " rows, not a multiple of the " + std::to_string(K) + " levels");
  const int64_t B = rows / K;
  const bool mala = options_.move == LocalMove::mala;

  detail::Workspace<T> w;
  w.init(eval_, energy_, state, mala);
  detail::StepFlags flags;
  std::vector<double> step(static_cast<size_t>(rows)), beta(static_cast<size_t>(rows));
  auto spread = [&] {
    for (int64_t r = 0; r < rows; ++r) step[size_t(r)] = steps_[size_t(r / B)], beta[size_t(r)] = options_.betas[size_t(r / B)];
  };
  spread();
  std::vector<DualAveraging> da;
  for (int k = 0; k < K; ++k) da.emplace_back(steps_[size_t(k)], options_.target_accept);
  std::vector<int64_t> level_acc(size_t(K), 0), level_prop(size_t(K), 0);
  std::vector<int64_t> swap_acc(size_t(K > 1 ? K - 1 : 0), 0), swap_try(swap_acc.size(), 0);
  std::vector<uint8_t> swapped(size_t(B * (K - 1)));
  SamplerStats stats;

  for (int64_t t = 0; t < rounds; ++t) {
    for (int s = 0; s < options_.local_steps; ++s) {
      if (mala)
        detail::mala_step(eval_, energy_, state, w, step.data(), beta.data(), flags);
      else
        detail::rwmh_step(eval_, energy_, state, w, step.data(), nullptr, beta.data(), flags);
      flags.add_to(stats);
      for (int64_t r = 0; r < rows; ++r) level_acc[size_t(r / B)] += flags.accepted[size_t(r)], ++level_prop[size_t(r / B)];
      if (adapt) {
        for (int k = 0; k < K; ++k) steps_[size_t(k)] = da[size_t(k)].update(flags.mean_accept(k * B, B));
        spread();
      }
    }
    // Swap pass: replica set b is independent of the others, so the sets run in parallel; within a set
    // the proposed pairs are disjoint, and the lower row's generator decides.
    const int parity = int(round_++ % 2);
    std::fill(swapped.begin(), swapped.end(), uint8_t(0));
    detail::for_each_chain(B, [&](int64_t b) {
      for (int k = parity; k + 1 < K; k += 2) {
        const size_t r1 = size_t(k * B + b), r2 = size_t((k + 1) * B + b);
        const double log_alpha = (options_.betas[size_t(k)] - options_.betas[size_t(k + 1)]) * (double(w.e[r1]) - double(w.e[r2]));
        if (!(std::log(state.rngs[r1].uniform_pos()) < log_alpha)) continue;  // NaN energies never swap
        swapped[size_t(b * (K - 1) + k)] = 1;
        std::swap_ranges(state.row(int64_t(r1)), state.row(int64_t(r1)) + d, state.row(int64_t(r2)));
        std::swap(w.e[r1], w.e[r2]);
        if (mala) std::swap_ranges(w.g.data() + r1 * size_t(d), w.g.data() + (r1 + 1) * size_t(d), w.g.data() + r2 * size_t(d));
      }
    });
    for (int k = parity; k + 1 < K; k += 2) {
      swap_try[size_t(k)] += B;
      for (int64_t b = 0; b < B; ++b) swap_acc[size_t(k)] += swapped[size_t(b * (K - 1) + k)];
    }
    if (observe) observe(t, state);
  }
  if (adapt && rounds > 0) {
    for (int k = 0; k < K; ++k) steps_[size_t(k)] = da[size_t(k)].final_step();
  }
  for (size_t k = 0; k < swap_acc.size(); ++k)
    stats.swap_rates.push_back(swap_try[k] ? double(swap_acc[k]) / double(swap_try[k]) : 0.0);
  for (int k = 0; k < K; ++k)
    stats.level_accept_rates.push_back(level_prop[size_t(k)] ? double(level_acc[size_t(k)]) / double(level_prop[size_t(k)]) : 0.0);
  stats.level_step_sizes = steps_;
  stats.step_size = steps_[0];
  return stats;
}

template class ParallelTempering<float>;
template class ParallelTempering<double>;

}  // namespace samplers
