#pragma once
// Private building blocks shared by the samplers: the parallel loop over chains, per-row outcome flags,
// and the random-walk Metropolis and MALA transitions with per-row step sizes and inverse temperatures
// (so parallel tempering runs the same code as the plain samplers, with a β per row).
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "autodiff/finite.hpp"
#include "autodiff/random.hpp"
#include "samplers/energy.hpp"
#include "samplers/state.hpp"

namespace samplers::detail {

/// f(c) for every chain c, in parallel. Per Note [One stream per chain], f must touch only row c and
/// the generator of chain c, so the partition cannot change the result.
/// Chains go to threads in blocks of at least kChainGrain: the per-chain work of a step is often tiny
/// (d = 2 takes ~100 ns), so finer tasks would cost more in scheduling than they compute.
constexpr int64_t kChainGrain = 8;
template <class F>
void for_each_chain(int64_t n, const F& f) {
  if (n <= kChainGrain) {
    for (int64_t c = 0; c < n; ++c) f(c);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, kChainGrain), [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t c = r.begin(); c != r.end(); ++c) f(c);
  });
}

/// for_each_chain for cheap per-chain work of about `units` elementary operations (~1/4 ns each): tasks of at
/// least ~64k operations, so that small batches (ten chains of 784 Bernoulli draws) run on the calling thread: a
/// worker that has gone to sleep between steps takes longer to wake than such work takes to do, and the caller
/// waits for it (measured: a tenth of an RBM step at batch 10 spent in sched_yield).
template <class F>
void for_each_chain_units(int64_t n, int64_t units, const F& f) {
  const int64_t grain = std::max<int64_t>(kChainGrain, (int64_t{1} << 16) / std::max<int64_t>(1, units));
  if (n <= grain) {
    for (int64_t c = 0; c < n; ++c) f(c);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, grain), [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t c = r.begin(); c != r.end(); ++c) f(c);
  });
}

/// An energy that is NaN or −∞ is a numerical failure; +∞ is a legitimate "outside the support".
template <class T>
bool bad_energy(T e) {
  return std::isnan(e) || e == -std::numeric_limits<T>::infinity();
}

void check_batch(const char* who, int64_t chains, int64_t dim);

/// Outcome of one step of every row, kept per row so totals are summed serially (reproducibly).
struct StepFlags {
  std::vector<uint8_t> accepted, nan;
  std::vector<double> accept_prob;  // min(1, α), 0 for a NaN proposal: the adaptation statistic

  void reset(int64_t n) {
    accepted.assign(size_t(n), 0);
    nan.assign(size_t(n), 0);
    accept_prob.assign(size_t(n), 0.0);
  }
  void add_to(SamplerStats& s) const {
    s.proposals += int64_t(accepted.size());
    for (size_t i = 0; i < accepted.size(); ++i) s.accepted += accepted[i], s.nan_proposals += nan[i];
  }
  double mean_accept(int64_t first, int64_t count) const {
    double sum = 0;
    for (int64_t i = first; i < first + count; ++i) sum += accept_prob[size_t(i)];
    return count ? sum / double(count) : 0.0;
  }
};

/// Metropolis test on log α: accepts with probability min(1, α) and reports that probability. A chain
/// whose current energy is not finite accepts any finite proposal (it could not be worse).
template <class T>
bool metropolis(double log_alpha, T current_energy, ad::Rng& rng, double& prob) {
  if (!std::isfinite(double(current_energy))) log_alpha = std::numeric_limits<double>::infinity();
  prob = log_alpha >= 0 ? 1.0 : std::exp(log_alpha);  // NaN log α gives prob NaN: rejected below
  if (std::isnan(prob)) prob = 0;
  return std::log(rng.uniform_pos()) < log_alpha;
}

/// Buffers of the MH/MALA transitions: energies and gradients at the current positions are kept
/// between steps, so a step costs one batched evaluation (at the proposals).
template <class T>
struct Workspace {
  std::vector<T> e, e_new;
  ad::Tensor<T> g, g_new, prop;
  std::vector<double> z;  // the proposals' standard normals, [chains, d]: each row from its chain's generator

  /// Row c of z, drawn from chain c's generator (vectorised: ad::fill_normal). z must be sized [chains, d]
  /// before the parallel loop over chains.
  double* normals(ChainState<T>& s, int64_t c) {
    const int64_t d = s.dim();
    double* row = z.data() + c * d;
    ad::fill_normal(row, d, s.rngs[size_t(c)]);
    return row;
  }

  void init(EnergyEvaluator<T>& ev, const BatchEnergy<T>& f, const ChainState<T>& s, bool need_grad) {
    if (need_grad)
      ev.energy_grad(f, s.x, e, g);
    else
      ev.energy(f, s.x, e);
    prop = ad::Tensor<T>(s.x.shape());
  }
};

/// Random-walk Metropolis: x'_k = x_k + scale_r dim_scale_k z_k, z ~ N(0, I), accepted with
/// min(1, exp(−β_r ΔE)). dim_scale may be null (all ones).
template <class T>
void rwmh_step(EnergyEvaluator<T>& ev, const BatchEnergy<T>& f, ChainState<T>& s, Workspace<T>& w,
               const double* scale, const double* dim_scale, const double* beta, StepFlags& flags) {
  const int64_t n = s.chains(), d = s.dim();
  flags.reset(n);
  for_each_chain(n, [&](int64_t c) {
    const T* x = s.row(c);
    T* p = w.prop.data() + c * d;
    for (int64_t k = 0; k < d; ++k)
      p[k] = T(x[k] + scale[c] * (dim_scale ? dim_scale[k] : 1.0) * s.rngs[size_t(c)].normal());
  });
  ev.energy(f, w.prop, w.e_new);
  for_each_chain(n, [&](int64_t c) {
    const size_t i = size_t(c);
    const T* p = w.prop.data() + c * d;
    if (!ad::all_finite(p, d) || bad_energy(w.e_new[i])) {
      flags.nan[i] = 1;  // rejected, never carried forward
      return;
    }
    const double log_alpha = beta[c] * (double(w.e[i]) - double(w.e_new[i]));
    if (metropolis(log_alpha, w.e[i], s.rngs[i], flags.accept_prob[i])) {
      flags.accepted[i] = 1;
      std::copy(p, p + d, s.row(c));
      w.e[i] = w.e_new[i];
    }
  });
}

/// MALA on the tempered target exp(−β_r E): x' = x − (ε_r/2) β_r ∇E(x) + √ε_r z, with the
/// Metropolis–Hastings correction for the asymmetric Gaussian proposal q(x'|x) = N(x'; x − (ε/2)β∇E, ε I).
template <class T>
void mala_step(EnergyEvaluator<T>& ev, const BatchEnergy<T>& f, ChainState<T>& s, Workspace<T>& w,
               const double* eps, const double* beta, StepFlags& flags) {
  const int64_t n = s.chains(), d = s.dim();
  flags.reset(n);
  std::vector<double> log_q_fwd(size_t(n), 0.0);  // log q(x'|x) up to the shared constant: −|z|²/2
  if (w.z.size() != static_cast<size_t>(n * d)) w.z.resize(static_cast<size_t>(n * d));  // before the parallel loop
  for_each_chain(n, [&](int64_t c) {
    const T* x = s.row(c);
    const T* g = w.g.data() + c * d;
    T* p = w.prop.data() + c * d;
    const double h = 0.5 * eps[c] * beta[c], sd = std::sqrt(eps[c]);
    const double* zc = w.normals(s, c);
    double zz = 0;
    for (int64_t k = 0; k < d; ++k) {
      const double z = zc[k];
      zz += z * z;
      p[k] = T(x[k] - h * g[k] + sd * z);
    }
    log_q_fwd[size_t(c)] = -0.5 * zz;
  });
  ev.energy_grad(f, w.prop, w.e_new, w.g_new);
  for_each_chain(n, [&](int64_t c) {
    const size_t i = size_t(c);
    const T* p = w.prop.data() + c * d;
    const T* gp = w.g_new.data() + c * d;
    if (!ad::all_finite(p, d) || bad_energy(w.e_new[i]) ||
        (std::isfinite(w.e_new[i]) && !ad::all_finite(gp, d))) {
      flags.nan[i] = 1;
      return;
    }
    const T* x = s.row(c);
    const double h = 0.5 * eps[c] * beta[c];
    double rr = 0;  // |x − x' + (ε/2)β∇E(x')|²
    for (int64_t k = 0; k < d; ++k) {
      const double r = double(x[k]) - double(p[k]) + h * double(gp[k]);
      rr += r * r;
    }
    const double log_q_rev = -rr / (2 * eps[c]);
    const double log_alpha = beta[c] * (double(w.e[i]) - double(w.e_new[i])) + log_q_rev - log_q_fwd[i];
    if (metropolis(log_alpha, w.e[i], s.rngs[i], flags.accept_prob[i])) {
      flags.accepted[i] = 1;
      std::copy(p, p + d, s.row(c));
      std::copy(gp, gp + d, w.g.data() + c * d);
      w.e[i] = w.e_new[i];
    }
  });
}

}  // namespace samplers::detail

namespace samplers::detail {

/// Per-step knobs of an unadjusted Langevin update (see langevin.hpp for their meaning).
struct LangevinKnobs {
  double step = 0, noise = 0;
  double clip_value = 0, clip_norm = 0;
  bool clamp = false;
  double lo = 0, hi = 0;
};

/// Note [Checked Langevin moves] for samplers without an accept/reject step (ULA, SVGD): with E and ∇E evaluated
/// at the proposals (w.e_new, w.g_new), every chain moves there unless the position, E or ∇E is not finite (or
/// `live`, when given, says the chain is out): then it stays and counts as a NaN proposal. `loop(n, f)` runs f
/// over the chains (the caller's grain).
template <class T, class Loop>
void take_checked_moves(ChainState<T>& s, Workspace<T>& w, StepFlags& flags, const uint8_t* live, const Loop& loop) {
  const int64_t d = s.dim();
  loop(s.chains(), [&](int64_t c) {
    const size_t i = size_t(c);
    const T* p = w.prop.data() + c * d;
    const T* gp = w.g_new.data() + c * d;
    if ((live && !live[i]) || !ad::all_finite(p, d) || !std::isfinite(w.e_new[i]) || !ad::all_finite(gp, d)) {
      flags.nan[i] = 1;
      return;
    }
    flags.accepted[i] = 1;
    flags.accept_prob[i] = 1;
    std::copy(p, p + d, s.row(c));
    std::copy(gp, gp + d, w.g.data() + c * d);
    w.e[i] = w.e_new[i];
  });
}

/// x' = clamp(x − (ε/2) clip(∇E(x)) + σ_noise z), taken unless x' or E(x') or ∇E(x') is not finite: such a
/// proposal is rejected and counted as NaN (Note [Checked Langevin moves] in langevin.hpp). w must hold E and
/// ∇E at the current positions (Workspace::init); the evaluation at x' serves the next step.
template <class T>
void langevin_step(EnergyEvaluator<T>& ev, const BatchEnergy<T>& f, ChainState<T>& s, Workspace<T>& w,
                   const LangevinKnobs& k, StepFlags& flags) {
  const int64_t n = s.chains(), d = s.dim();
  flags.reset(n);
  if (k.noise != 0 && w.z.size() != static_cast<size_t>(n * d)) w.z.resize(static_cast<size_t>(n * d));  // before the parallel loop
  for_each_chain(n, [&](int64_t c) {
    const T* x = s.row(c);
    const T* gr = w.g.data() + c * d;
    T* p = w.prop.data() + c * d;
    const double* z = k.noise != 0 ? w.normals(s, c) : nullptr;  // σ_noise = 0: gradient descent, no draws
    double factor = 1;  // norm clipping rescales the whole gradient, keeping its direction
    if (k.clip_norm > 0) {
      double nn = 0;
      for (int64_t j = 0; j < d; ++j) nn += double(gr[j]) * double(gr[j]);
      if (nn > k.clip_norm * k.clip_norm) factor = k.clip_norm / std::sqrt(nn);
    }
    for (int64_t j = 0; j < d; ++j) {
      double gj = factor * double(gr[j]);
      if (k.clip_value > 0) gj = std::clamp(gj, -k.clip_value, k.clip_value);
      double y = double(x[j]) - 0.5 * k.step * gj + (z ? k.noise * z[j] : 0.0);
      if (k.clamp) y = std::clamp(y, k.lo, k.hi);  // NaN passes through std::clamp and is caught below
      p[j] = T(y);
    }
  });
  ev.energy_grad(f, w.prop, w.e_new, w.g_new);
  take_checked_moves(s, w, flags, nullptr, [](int64_t n_, const auto& f_) { for_each_chain(n_, f_); });
}

}  // namespace samplers::detail
