#pragma once
// The eight workloads, each a list of methods (one-tape and row_shards); make() picks one by name. Included by
// ebm_bench.cpp only.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "autodiff/autodiff.hpp"
#include "problem.hpp"
#include "row_shards.hpp"

namespace bench {

template <class T>
std::vector<Method<T>> energy_grad(const Problem<T>& pb, bool) {
  auto tape = make_tape<T>();
  const Params<T> P = put(*tape, pb.theta, true);
  const Var<T> X = tape->constant(pb.X);
  const auto mark = tape->mark();
  return {{"autograd", [=](Outputs<T>* out) {
             tape->rewind(mark);
             const Var<T> L = ad::mean(energy(X, P));
             const auto gs = ad::grad<T>({L}, P.list());
             report_grads(out, L, gs);
             return static_cast<double>(L.item());
           }},
          {"row_shards", sharded_mean_loss(pb, false, [](Shard<T>& sh) { return ad::sum(energy(sh.X, sh.P)); })}};
}

template <class T>
std::vector<Method<T>> score(const Problem<T>& pb, bool) {
  auto tape = make_tape<T>();
  const Params<T> P = put(*tape, pb.theta, false);
  const Var<T> X = tape->variable(pb.X);
  const auto mark = tape->mark();
  return {{"autograd", [=](Outputs<T>* out) {
             tape->rewind(mark);
             const Var<T> s = ad::grad(ad::sum(energy(X, P)), X);
             if (out) out->emplace_back("s", s.value());
             return total(s);
           }},
          {"row_shards", sharded_rows(pb, "s", [](Shard<T>& sh) { return ad::grad(ad::sum(energy(sh.X, sh.P)), sh.X); })}};
}

template <class T>
std::vector<Method<T>> hvp(const Problem<T>& pb, bool) {
  auto tape = make_tape<T>();
  const Params<T> P = put(*tape, pb.theta, false);
  const Var<T> X = tape->variable(pb.X), V = tape->constant(pb.V);
  const auto mark = tape->mark();
  auto method = [=](ad::HvpMode mode) {
    return [=](Outputs<T>* out) {
      tape->rewind(mark);
      const Var<T> hv = ad::hvp(ad::sum(energy(X, P)), X, V, false, mode);
      if (out) out->emplace_back("hv", hv.value());
      return total(hv);
    };
  };
  auto sharded = [&pb](ad::HvpMode mode) {
    return sharded_rows(pb, "hv", [mode](Shard<T>& sh) {
      return ad::hvp(ad::sum(energy(sh.X, sh.P)), sh.X, sh.V, false, mode);
    });
  };
  return {{"fwd_over_rev", method(ad::HvpMode::forward_over_reverse)},
          {"rev_over_rev", method(ad::HvpMode::reverse_over_reverse)},
          {"row_shards(fwd_over_rev)", sharded(ad::HvpMode::forward_over_reverse)},
          {"row_shards(rev_over_rev)", sharded(ad::HvpMode::reverse_over_reverse)}};
}

template <class T>
std::vector<Method<T>> ssm_step(const Problem<T>& pb, bool) {
  auto tape = make_tape<T>();
  const Params<T> P = put(*tape, pb.theta, true);
  const Var<T> X = tape->variable(pb.X), V = tape->constant(pb.V);
  const auto mark = tape->mark();
  // Per row: ½‖g‖² − vᵀ(H v), g = ∇ₓE; the mean over rows (a shard: its row sum over B).
  auto row_losses = [](const Var<T>& X, const Var<T>& V, const Params<T>& P, bool forward) {
    const Var<T> g = ad::grad(ad::sum(energy(X, P)), X, true);
    const Var<T> hv = forward ? ad::jvp<T>({g}, {X}, {V}, true)[0] : ad::grad<T>({g}, {X}, {V}, true)[0];
    return 0.5 * ad::sum(g * g, 1) - ad::sum(V * hv, 1);
  };
  auto method = [=](bool forward) {
    return [=](Outputs<T>* out) {
      tape->rewind(mark);
      const Var<T> L = ad::mean(row_losses(X, V, P, forward));
      const auto gs = ad::grad<T>({L}, P.list());
      report_grads(out, L, gs);
      return static_cast<double>(L.item());
    };
  };
  auto sharded = [&](bool forward) {
    return sharded_mean_loss(pb, true, [=](Shard<T>& sh) { return ad::sum(row_losses(sh.X, sh.V, sh.P, forward)); });
  };
  return {{"rev_over_rev", method(false)},
          {"rev_over_fwd_over_rev", method(true)},
          {"row_shards(rev_over_rev)", sharded(false)},
          {"row_shards(rev_over_fwd_over_rev)", sharded(true)}};
}

// tr H_n by d HVPs along the unit vectors e_k, each for the whole batch at once. Two ways: the engine's
// hessian_trace (batched forward over reverse: the unit tangents go through the recorded gradient 32 at a time,
// as matrix products), and a loop of reverse-over-reverse HVPs like the torch reference.
template <class T>
std::vector<Method<T>> sm_exact_step(const Problem<T>& pb, bool) {
  auto tape = make_tape<T>();
  const Params<T> P = put(*tape, pb.theta, true);
  const Var<T> X = tape->variable(pb.X);
  std::vector<Var<T>> onehot;
  for (int64_t k = 0; k < pb.d; ++k) {
    Tensor<T> e(Shape{pb.B, pb.d});
    for (int64_t n = 0; n < pb.B; ++n) e.at(n, k) = T(1);
    onehot.push_back(tape->constant(e));
  }
  const auto mark = tape->mark();
  auto method = [=](bool forward) {
    return [=](Outputs<T>* out) {
      tape->rewind(mark);
      const Var<T> f = ad::sum(energy(X, P));
      const Var<T> g = ad::grad(f, X, true);
      Var<T> tr;
      if (forward) {
        tr = ad::hessian_trace(f, X, true, g);
      } else {
        for (const Var<T>& e : onehot) {
          const Var<T> hk = ad::grad<T>({g}, {X}, {e}, true)[0];
          const Var<T> diag = ad::sum(hk * e, 1);  // (H_n e_k)_k
          tr = tr.defined() ? tr + diag : diag;
        }
      }
      const Var<T> L = ad::mean(0.5 * ad::sum(g * g, 1) - tr);
      const auto gs = ad::grad<T>({L}, P.list());
      report_grads(out, L, gs);
      return static_cast<double>(L.item());
    };
  };
  auto row_sum = [](Shard<T>& sh) {
    const Var<T> f = ad::sum(energy(sh.X, sh.P));
    const Var<T> g = ad::grad(f, sh.X, true);
    return ad::sum(0.5 * ad::sum(g * g, 1) - ad::hessian_trace(f, sh.X, true, g));
  };
  return {{"rev_over_rev_loop", method(false)},
          {"batched_fwd_over_rev(hessian_trace)", method(true)},
          {"row_shards(batched_fwd_over_rev(hessian_trace))", sharded_mean_loss(pb, true, row_sum)}};
}

template <class T>
std::vector<Method<T>> dsm_step(const Problem<T>& pb, bool) {
  auto tape = make_tape<T>();
  const Params<T> P = put(*tape, pb.theta, true);
  const Var<T> V = tape->constant(pb.V);
  const auto mark = tape->mark();
  auto xt = std::make_shared<Tensor<T>>(pb.X.shape());
  auto xts = std::make_shared<std::vector<Tensor<T>>>();  // each row shard's x̃
  for (const ad::RowRange& r : ad::split_rows(pb.B, kShards)) xts->emplace_back(Shape{r.size(), pb.d});
  auto row_sum = [=, X = pb.X, Vh = pb.V](Shard<T>& sh) {
    // x̃ = x + σv for this shard's rows, a fresh variable every iteration as in the unsharded method.
    Tensor<T>& xs = (*xts)[static_cast<size_t>(sh.index)];
    const int64_t at = sh.rows.begin * X.cols();
    for (int64_t i = 0; i < xs.numel(); ++i) xs[i] = X[at + i] + static_cast<T>(kSigma) * Vh[at + i];
    const Var<T> Xt = sh.tape->variable(xs);
    const Var<T> g = ad::grad(ad::sum(energy(Xt, sh.P)), Xt, true);
    const Var<T> r = g - sh.V / kSigma;
    return 0.5 * ad::sum(r * r);
  };
  return {{"autograd", [=, X = pb.X, Vh = pb.V](Outputs<T>* out) {
             tape->rewind(mark);
             for (int64_t i = 0; i < X.numel(); ++i) (*xt)[i] = X[i] + static_cast<T>(kSigma) * Vh[i];
             const Var<T> Xt = tape->variable(*xt);
             const Var<T> g = ad::grad(ad::sum(energy(Xt, P)), Xt, true);
             const Var<T> r = g - V / kSigma;
             const Var<T> L = 0.5 * ad::mean(ad::sum(r * r, 1));
             const auto gs = ad::grad<T>({L}, P.list());
             report_grads(out, L, gs);
             return static_cast<double>(L.item());
           }},
          {"row_shards", sharded_mean_loss(pb, false, row_sum)}};
}

/// body(lo, hi) over [0, n) in fixed pieces on the engine's threads (elementwise host updates).
template <class F>
void parallel_rows(int64_t n, F body) {
  constexpr int64_t kGrain = 1 << 14;
  if (n < 2 * kGrain) return body(0, n);
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, kGrain),
                    [&](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); }, tbb::simple_partitioner());
}

/// K steps of x <- x - (ε/2) ∇ₓE(x) + √ε z, with P constants on `tape`. z = 0 when rng is null.
/// The tape is rewound after every step, so it never grows.
template <class T>
void langevin_chain(Tape<T>& tape, const Params<T>& P, Tensor<T>& x, int K, ad::Rng* rng, Tensor<T>& z) {
  const auto mark = tape.mark();
  const T step = static_cast<T>(-kEps / 2.0), noise = static_cast<T>(std::sqrt(kEps));
  const int64_t n = x.numel();
  for (int t = 0; t < K; ++t) {
    tape.rewind(mark);
    const Var<T> xv = tape.variable(x);
    const Var<T> g = ad::grad(ad::sum(energy(xv, P)), xv);
    const T* gp = g.data();
    T* xp = x.data();
    if (rng) {
      ad::fill_normal(z, *rng);
      const T* zp = z.data();
      parallel_rows(n, [=](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) xp[i] = (xp[i] + step * gp[i]) + noise * zp[i];
      });
    } else {
      parallel_rows(n, [=](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) xp[i] = xp[i] + step * gp[i];
      });
    }
  }
  tape.rewind(mark);
}

template <class T>
std::vector<Method<T>> langevin(const Problem<T>& pb, bool check) {
  auto tape = make_tape<T>();
  const Params<T> P = put(*tape, pb.theta, false);
  struct State {
    Tensor<T> x, z;
    ad::Rng rng{0};
  };
  auto st = std::make_shared<State>(State{pb.V, pb.V, ad::Rng(0)});
  // row_shards: each shard runs its rows' whole chain on its own tape, with its own noise stream.
  const Shards<T> shards = make_shards(pb, false, false);
  auto sst = std::make_shared<std::vector<State>>();
  for (int s = 0; s < kShards; ++s) {
    const Tensor<T> v = ad::rows_of(pb.V, (*shards)[static_cast<size_t>(s)].rows);
    sst->push_back(State{v, v, ad::Rng(0, static_cast<uint64_t>(s) + 1)});
  }
  return {{"autograd", [=, V0 = pb.V](Outputs<T>* out) {
             std::copy(V0.begin(), V0.end(), st->x.begin());
             langevin_chain(*tape, P, st->x, kLangevinSteps, check ? nullptr : &st->rng, st->z);
             if (out) out->emplace_back("x", st->x);
             double s = 0;
             for (const T v : st->x) s += v;
             return s;
           }},
          {"row_shards", [=, V0 = pb.V](Outputs<T>* out) {
             ad::for_each_shard(kShards, [&](int k) {
               Shard<T>& sh = (*shards)[static_cast<size_t>(k)];
               State& ss = (*sst)[static_cast<size_t>(k)];
               std::copy_n(V0.data() + sh.rows.begin * V0.cols(), ss.x.numel(), ss.x.begin());
               langevin_chain(*sh.tape, sh.P, ss.x, kLangevinSteps, check ? nullptr : &ss.rng, ss.z);
             });
             Tensor<T> x(V0.shape());
             for (int k = 0; k < kShards; ++k) {
               const Tensor<T>& xs = (*sst)[static_cast<size_t>(k)].x;
               std::copy(xs.begin(), xs.end(), x.data() + (*shards)[static_cast<size_t>(k)].rows.begin * V0.cols());
             }
             if (out) out->emplace_back("x", x);
             double s = 0;
             for (const T v : x) s += v;
             return s;
           }}};
}

/// Contrastive divergence: negatives from K_cd Langevin steps at the current θ, L = mean E(X) - mean
/// E(x_neg), ∇θ L, one Adam step (torch.optim.Adam). θ and the Adam state persist across iterations.
template <class T>
struct CdState {
  std::array<Tensor<T>, 6> theta, m, v;
  Tensor<T> x, z;
  ad::Rng rng{0};
  int64_t step = 0;
  std::shared_ptr<Tape<T>> tape = make_tape<T>();
  // row_shards only: each shard's tape, rows, negatives, noise.
  std::vector<std::shared_ptr<Tape<T>>> tapes;
  std::vector<ad::RowRange> rows;
  std::vector<Tensor<T>> data, xs, zs;  // its rows of X; its chains and their noise
  std::vector<ad::Rng> rngs;
  std::vector<Tensor<T>> shard_grads;  // the θ-gradient of the shards' loss

  explicit CdState(const Problem<T>& pb) : theta(pb.theta), x(pb.V), z(pb.V), rows(ad::split_rows(pb.B, kShards)) {
    for (int k = 0; k < 6; ++k) m[k] = v[k] = Tensor<T>(pb.theta[k].shape());
    for (int s = 0; s < kShards; ++s) {
      tapes.push_back(make_tape<T>());
      data.push_back(ad::rows_of(pb.X, rows[static_cast<size_t>(s)]));
      xs.push_back(ad::rows_of(pb.V, rows[static_cast<size_t>(s)]));
      zs.push_back(xs.back());
      rngs.emplace_back(0, static_cast<uint64_t>(s) + 1);
    }
  }

  /// Adam, written as torch 1.13's _single_tensor_adam.
  void adam(const std::array<const T*, 6>& gs) {
    ++step;
    const double bc1 = 1.0 - std::pow(kBeta1, static_cast<double>(step));
    const double bc2 = 1.0 - std::pow(kBeta2, static_cast<double>(step));
    const T step_size = static_cast<T>(kLr / bc1), bc2_sqrt = static_cast<T>(std::sqrt(bc2));
    const T b1 = static_cast<T>(kBeta1), b2 = static_cast<T>(kBeta2), eps = static_cast<T>(kAdamEps);
    const T c1 = static_cast<T>(1.0 - kBeta1), c2 = static_cast<T>(1.0 - kBeta2);
    for (int k = 0; k < 6; ++k) {
      const T* g = gs[static_cast<size_t>(k)];
      T *p = theta[k].data(), *mk = m[k].data(), *vk = v[k].data();
      parallel_rows(theta[k].numel(), [=](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          mk[i] = mk[i] * b1 + c1 * g[i];
          vk[i] = vk[i] * b2 + c2 * (g[i] * g[i]);
          const T denom = std::sqrt(vk[i]) / bc2_sqrt + eps;
          p[i] = p[i] - step_size * (mk[i] / denom);
        }
      });
    }
  }
};

template <class T>
std::vector<Method<T>> cd_step(const Problem<T>& pb, bool check) {
  auto st = std::make_shared<CdState<T>>(pb);
  auto sst = std::make_shared<CdState<T>>(pb);
  auto report = [](Outputs<T>* out, const CdState<T>& s, const Tensor<T>& x_neg) {
    out->emplace_back("x_neg", x_neg);
    for (int k = 0; k < 6; ++k) out->emplace_back(std::string(kParamNames[k]) + "_new", s.theta[k]);
  };
  return {{"autograd+Adam", [=, X = pb.X, V0 = pb.V](Outputs<T>* out) {
             Tape<T>& tape = *st->tape;
             tape.clear();
             const Params<T> Pc = put(tape, st->theta, false);
             std::copy(V0.begin(), V0.end(), st->x.begin());
             langevin_chain(tape, Pc, st->x, kCdSteps, check ? nullptr : &st->rng, st->z);
             tape.clear();
             const Params<T> P = put(tape, st->theta, true);
             const Var<T> L = ad::mean(energy(tape.constant(X), P)) - ad::mean(energy(tape.constant(st->x), P));
             const auto gs = ad::grad<T>({L}, P.list());
             st->adam({gs[0].data(), gs[1].data(), gs[2].data(), gs[3].data(), gs[4].data(), gs[5].data()});
             if (out) {
               report_grads(out, L, gs);
               report(out, *st, st->x);
             }
             return static_cast<double>(L.item());
           }},
          {"row_shards(autograd+Adam)", [=, V0 = pb.V, inv_B = T(1) / static_cast<T>(pb.B)](Outputs<T>* out) {
             CdState<T>& s = *sst;
             // Each shard: its chains' Langevin run, then its part of the loss; the θ-gradient by
             // ad::sharded_value_and_grad (Note [Sharded gradients]).
             const T L = ad::sharded_value_and_grad<T>(
                 kShards,
                 [&](int k) {
                   const size_t i = static_cast<size_t>(k);
                   Tape<T>& tape = *s.tapes[i];
                   const ad::RowRange r = s.rows[i];
                   tape.clear();
                   const Params<T> Pc = put(tape, s.theta, false);
                   std::copy_n(V0.data() + r.begin * V0.cols(), s.xs[i].numel(), s.xs[i].begin());
                   langevin_chain(tape, Pc, s.xs[i], kCdSteps, check ? nullptr : &s.rngs[i], s.zs[i]);
                   tape.clear();
                   const Params<T> P = put(tape, s.theta, true);
                   const Var<T> part =
                       (ad::sum(energy(tape.constant(s.data[i]), P)) - ad::sum(energy(tape.constant(s.xs[i]), P))) * inv_B;
                   return ad::ShardLoss<T>{part, P.list()};
                 },
                 s.shard_grads);
             const std::array<const T*, 6> gs{s.shard_grads[0].data(), s.shard_grads[1].data(), s.shard_grads[2].data(),
                                              s.shard_grads[3].data(), s.shard_grads[4].data(), s.shard_grads[5].data()};
             if (out) {
               report_sharded_grads(out, L, s.shard_grads);  // before Adam's step: the gradients at the old θ
               Tensor<T> x_neg(V0.shape());
               for (size_t k = 0; k < s.xs.size(); ++k)
                 std::copy(s.xs[k].begin(), s.xs[k].end(), x_neg.data() + s.rows[k].begin * V0.cols());
               s.adam(gs);
               report(out, s, x_neg);
             } else {
               s.adam(gs);
             }
             return static_cast<double>(L);
           }}};
}

template <class T>
std::vector<Method<T>> make(const std::string& w, const Problem<T>& pb, bool check) {
  if (w == "energy_grad") return energy_grad(pb, check);
  if (w == "score") return score(pb, check);
  if (w == "hvp") return hvp(pb, check);
  if (w == "ssm_step") return ssm_step(pb, check);
  if (w == "sm_exact_step") return sm_exact_step(pb, check);
  if (w == "dsm_step") return dsm_step(pb, check);
  if (w == "langevin") return langevin(pb, check);
  if (w == "cd_step") return cd_step(pb, check);
  throw std::invalid_argument("unknown workload " + w);
}
}  // namespace bench
