// ebm-bench: the EBM workloads of /work/shared/bench/WORKLOADS.md on this engine, mirroring
// /work/shared/bench/torch_reference.py (same flags, same JSON rows). See bench/README.md.
//
//   ebm-bench [--only W] [--size small|mid|large|all] [--threads N] [--check]
//             [--min-time S] [--budget S] [--max-reps N] [--method PREFIX] [--unsharded]
//
// Timing mode runs in float32, --check in float64 (one evaluation per workload, z = 0 in Langevin). Timing
// reports each workload's fastest method (the others under "alt"); --check prints a row per method, and
// compare.py checks the last one of each workload, so check a method family with --method or --unsharded.
// Every method owns its tapes. Loop-invariant leaves (θ, X, V, unit vectors) are put on them once, then
// each iteration rewinds to the mark after them: after the first iteration nothing is allocated on a tape.
// The row_shards methods run the batch as two fixed row shards in one parallel region (see "row shards").
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "autodiff/autodiff.hpp"

namespace {

using ad::Shape;
using ad::Tape;
using ad::Tensor;
using ad::Var;
using json = nlohmann::ordered_json;

// ------------------------------------------------------------------------------------------- constants
constexpr double kSigma = 0.1;  // dsm noise scale
constexpr double kEps = 0.01;   // Langevin step size
constexpr int kLangevinSteps = 100;
constexpr int kCdSteps = 20;
constexpr double kLr = 1e-4, kBeta1 = 0.9, kBeta2 = 0.999, kAdamEps = 1e-8;

struct Size {
  const char* name;
  int64_t d, h, B;
};
const Size kSizes[] = {{"small", 2, 128, 1024}, {"mid", 32, 128, 256}, {"large", 784, 512, 128}};
const char* const kWorkloads[] = {"energy_grad", "score",    "hvp",      "ssm_step",
                                  "sm_exact_step", "dsm_step", "langevin", "cd_step"};
const char* const kParamNames[] = {"W1", "b1", "W2", "b2", "w3", "b3"};

bool runs_at(const std::string& workload, const std::string& size) {
  if (workload == "sm_exact_step") return size == "small" || size == "mid";
  return size == "small" || size == "large";
}

// ------------------------------------------------------------------------------------------- problem
template <class T>
struct Problem {
  int64_t d, h, B;
  std::array<Tensor<T>, 6> theta;  // W1 [h,d], b1 [h], W2 [h,h], b2 [h], w3 [h], b3 []
  Tensor<T> X, V;                  // [B,d]
};

// The deterministic initialisation, in double, in exactly the written order. No FMA contraction here:
// the values must be bit-identical to the reference's Python math.sin / math.cos.
template <class T>
__attribute__((optimize("fp-contract=off"))) Problem<T> make_problem(const Size& s) {
  const int64_t d = s.d, h = s.h, B = s.B;
  const double sd = std::sqrt(static_cast<double>(d)), sh = std::sqrt(static_cast<double>(h));
  Problem<T> p{d, h, B, {}, Tensor<T>(Shape{B, d}), Tensor<T>(Shape{B, d})};
  Tensor<T> W1(Shape{h, d}), b1(Shape{h}), W2(Shape{h, h}), b2(Shape{h}), w3(Shape{h});
  for (int64_t i = 0; i < h; ++i) {
    const double di = static_cast<double>(i);
    for (int64_t j = 0; j < d; ++j)
      W1.at(i, j) = static_cast<T>(0.5 * std::sin(1.0 + 0.37 * di + 0.11 * static_cast<double>(j)) / sd);
    b1[i] = static_cast<T>(0.1 * std::cos(0.5 * di));
    for (int64_t j = 0; j < h; ++j)
      W2.at(i, j) = static_cast<T>(0.5 * std::sin(2.0 + 0.23 * di + 0.19 * static_cast<double>(j)) / sh);
    b2[i] = static_cast<T>(0.1 * std::cos(0.7 * di));
    w3[i] = static_cast<T>(0.5 * std::sin(3.0 + 0.31 * di) / sh);
  }
  for (int64_t n = 0; n < B; ++n)
    for (int64_t k = 0; k < d; ++k) {
      const double dn = static_cast<double>(n), dk = static_cast<double>(k);
      p.X.at(n, k) = static_cast<T>(std::sin(0.3 * dn + 0.7 * dk + 0.1) * 1.5);
      p.V.at(n, k) = static_cast<T>(std::cos(0.9 * dn + 0.4 * dk) * 1.2);
    }
  p.theta = {std::move(W1), std::move(b1), std::move(W2), std::move(b2), std::move(w3), Tensor<T>::scalar(T(0.05))};
  return p;
}

// ------------------------------------------------------------------------------------------- tapes
template <class T>
std::shared_ptr<Tape<T>> make_tape() {
  return std::make_shared<Tape<T>>();
}

// ------------------------------------------------------------------------------------------- model
template <class T>
struct Params {
  Var<T> W1, b1, W2, b2, w3, b3;
  std::vector<Var<T>> list() const { return {W1, b1, W2, b2, w3, b3}; }
};

/// θ onto the tape: as variables (gradients wanted) or as constants (θ constant).
template <class T>
Params<T> put(Tape<T>& tape, const std::array<Tensor<T>, 6>& th, bool variable) {
  auto leaf = [&](const Tensor<T>& t) { return variable ? tape.variable(t) : tape.constant(t); };
  return {leaf(th[0]), leaf(th[1]), leaf(th[2]), leaf(th[3]), leaf(th[4]), leaf(th[5])};
}

/// E(x_n) = w3 · silu(W2 silu(W1 x_n + b1) + b2) + b3 for every row of X: shape [B].
template <class T>
Var<T> energy(const Var<T>& X, const Params<T>& P) {
  const Var<T> a1 = ad::silu(ad::matmul(X, P.W1, false, true) + P.b1);
  const Var<T> a2 = ad::silu(ad::matmul(a1, P.W2, false, true) + P.b2);
  return ad::sum(a2 * P.w3, 1) + P.b3;
}

// ------------------------------------------------------------------------------------------- workloads
// A workload is a list of methods; run(out) performs one iteration and returns `value`. When `out` is
// given (check mode) it also collects the named outputs.
template <class T>
using Outputs = std::vector<std::pair<std::string, Tensor<T>>>;
template <class T>
struct Method {
  std::string name;
  std::function<double(Outputs<T>*)> run;
};

template <class T>
double total(const Var<T>& v) {
  double s = 0;
  const T* p = v.data();
  for (int64_t i = 0, n = v.numel(); i < n; ++i) s += p[i];
  return s;
}

template <class T>
void report_grads(Outputs<T>* out, const Var<T>& L, const std::vector<Var<T>>& gs) {
  if (!out) return;
  out->emplace_back("loss", L.value());
  for (size_t k = 0; k < gs.size(); ++k) out->emplace_back(std::string("g") + kParamNames[k], gs[k].value());
}

// ------------------------------------------------------------------------------------------- row shards
// The `row_shards` methods split the batch into kShards fixed row ranges (ad::split_rows), each with its own
// tape holding θ and its rows, bound once; one parallel region (ad::for_each_shard) runs every shard's whole
// computation. Row-mean losses are each shard's row sum over B; gradients are added in shard order
// (ad::add_in_order). The shard count is fixed, not the thread count, so 1 and 2 threads give the same bits.
constexpr int kShards = 2;

template <class T>
struct Shard {
  std::shared_ptr<Tape<T>> tape = make_tape<T>();
  ad::RowRange rows;
  Params<T> P;
  Var<T> X, V;  // this shard's rows of X (a variable when wanted) and of V
  typename Tape<T>::Mark mark;
  std::vector<Var<T>> grads;  // this iteration's ∇θ of its part of the loss
  Var<T> out;                 // this iteration's per-row output (score, hvp)
  T loss = 0;
};

template <class T>
using Shards = std::shared_ptr<std::vector<Shard<T>>>;

template <class T>
Shards<T> make_shards(const Problem<T>& pb, bool theta_variable, bool x_variable) {
  auto shards = std::make_shared<std::vector<Shard<T>>>(kShards);
  const std::vector<ad::RowRange> ranges = ad::split_rows(pb.B, kShards);
  for (int s = 0; s < kShards; ++s) {
    Shard<T>& sh = (*shards)[static_cast<size_t>(s)];
    sh.rows = ranges[static_cast<size_t>(s)];
    sh.P = put(*sh.tape, pb.theta, theta_variable);
    const Tensor<T> xs = ad::rows_of(pb.X, sh.rows);
    sh.X = x_variable ? sh.tape->variable(xs) : sh.tape->constant(xs);
    sh.V = sh.tape->constant(ad::rows_of(pb.V, sh.rows));
    sh.mark = sh.tape->mark();
  }
  return shards;
}

/// ∇θ of Σ_shards part(shard), each part recorded on its shard's tape; returns the loss, fills `grads`.
/// `record_sweep` runs each shard's θ-gradient sweep with create_graph: that skips grad's copy of the results
/// into slots kept before the sweep (2.6 MB per shard at the large size), but the sums of several contributions
/// to one weight's gradient are then new nodes instead of adds in place. Measured per workload (1 thread,
/// interleaved): recording wins for energy_grad (2.60 vs 2.97 ms) and dsm_step (6.53 vs 6.95), the in-place
/// sums for ssm_step (12.9 vs 13.1) and sm_exact_step (14.9 vs 16.1), whose weights take more contributions.
template <class T, class Part>
T sharded_loss_grad(std::vector<Shard<T>>& shards, std::array<Tensor<T>, 6>& grads, bool record_sweep, Part part) {
  ad::for_each_shard(kShards, [&](int s) {
    Shard<T>& sh = shards[static_cast<size_t>(s)];
    sh.tape->rewind(sh.mark);
    const Var<T> L = part(sh);
    sh.grads = ad::grad<T>({L}, sh.P.list(), {}, record_sweep);
    sh.loss = L.item();
  });
  T loss = 0;
  for (const Shard<T>& sh : shards) loss += sh.loss;
  for (size_t k = 0; k < grads.size(); ++k) {
    std::vector<const T*> parts;
    for (const Shard<T>& sh : shards) parts.push_back(sh.grads[k].data());
    ad::add_in_order(grads[k], parts);
  }
  return loss;
}

template <class T>
std::array<Tensor<T>, 6> zeros_like(const std::array<Tensor<T>, 6>& theta) {
  std::array<Tensor<T>, 6> z;
  for (size_t k = 0; k < z.size(); ++k) z[k] = Tensor<T>(theta[k].shape());
  return z;
}

template <class T>
void report_sharded_grads(Outputs<T>* out, T loss, const std::array<Tensor<T>, 6>& grads) {
  if (!out) return;
  out->emplace_back("loss", Tensor<T>::scalar(loss));
  for (size_t k = 0; k < grads.size(); ++k) out->emplace_back(std::string("g") + kParamNames[k], grads[k]);
}

/// The shards' per-row outputs stacked in row order: [B, cols].
template <class T>
Tensor<T> stacked_outputs(const std::vector<Shard<T>>& shards, int64_t B) {
  const int64_t cols = shards.front().out.shape().cols();
  Tensor<T> t(Shape{B, cols});
  for (const Shard<T>& sh : shards) std::copy_n(sh.out.data(), sh.rows.size() * cols, t.data() + sh.rows.begin * cols);
  return t;
}

template <class T>
double sharded_output_total(const std::vector<Shard<T>>& shards) {
  double s = 0;
  for (const Shard<T>& sh : shards) s += total(sh.out);
  return s;
}

template <class T>
std::vector<Method<T>> energy_grad(const Problem<T>& pb, bool) {
  auto tape = make_tape<T>();
  const Params<T> P = put(*tape, pb.theta, true);
  const Var<T> X = tape->constant(pb.X);
  const auto mark = tape->mark();
  const Shards<T> shards = make_shards(pb, true, false);
  auto grads = std::make_shared<std::array<Tensor<T>, 6>>(zeros_like(pb.theta));
  const T inv_B = T(1) / static_cast<T>(pb.B);
  return {{"autograd", [=](Outputs<T>* out) {
             tape->rewind(mark);
             const Var<T> L = ad::mean(energy(X, P));
             const auto gs = ad::grad<T>({L}, P.list());
             report_grads(out, L, gs);
             return static_cast<double>(L.item());
           }},
          {"row_shards", [=](Outputs<T>* out) {
             const T L = sharded_loss_grad(*shards, *grads, true, [&](Shard<T>& sh) {
               return ad::sum(energy(sh.X, sh.P)) * inv_B;
             });
             report_sharded_grads(out, L, *grads);
             return static_cast<double>(L);
           }}};
}

template <class T>
std::vector<Method<T>> score(const Problem<T>& pb, bool) {
  auto tape = make_tape<T>();
  const Params<T> P = put(*tape, pb.theta, false);
  const Var<T> X = tape->variable(pb.X);
  const auto mark = tape->mark();
  const Shards<T> shards = make_shards(pb, false, true);
  return {{"autograd", [=](Outputs<T>* out) {
             tape->rewind(mark);
             const Var<T> s = ad::grad(ad::sum(energy(X, P)), X);
             if (out) out->emplace_back("s", s.value());
             return total(s);
           }},
          {"row_shards", [=, B = pb.B](Outputs<T>* out) {
             ad::for_each_shard(kShards, [&](int k) {
               Shard<T>& sh = (*shards)[static_cast<size_t>(k)];
               sh.tape->rewind(sh.mark);
               sh.out = ad::grad(ad::sum(energy(sh.X, sh.P)), sh.X);
             });
             if (out) out->emplace_back("s", stacked_outputs(*shards, B));
             return sharded_output_total(*shards);
           }}};
}

template <class T>
std::vector<Method<T>> hvp(const Problem<T>& pb, bool) {
  auto tape = make_tape<T>();
  const Params<T> P = put(*tape, pb.theta, false);
  const Var<T> X = tape->variable(pb.X), V = tape->constant(pb.V);
  const auto mark = tape->mark();
  const Shards<T> shards = make_shards(pb, false, true);
  auto method = [=](ad::HvpMode mode) {
    return [=](Outputs<T>* out) {
      tape->rewind(mark);
      const Var<T> hv = ad::hvp(ad::sum(energy(X, P)), X, V, false, mode);
      if (out) out->emplace_back("hv", hv.value());
      return total(hv);
    };
  };
  auto sharded = [=, B = pb.B](ad::HvpMode mode) {
    return [=](Outputs<T>* out) {
      ad::for_each_shard(kShards, [&](int k) {
        Shard<T>& sh = (*shards)[static_cast<size_t>(k)];
        sh.tape->rewind(sh.mark);
        sh.out = ad::hvp(ad::sum(energy(sh.X, sh.P)), sh.X, sh.V, false, mode);
      });
      if (out) out->emplace_back("hv", stacked_outputs(*shards, B));
      return sharded_output_total(*shards);
    };
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
  const Shards<T> shards = make_shards(pb, true, true);
  auto grads = std::make_shared<std::array<Tensor<T>, 6>>(zeros_like(pb.theta));
  const T inv_B = T(1) / static_cast<T>(pb.B);
  auto sharded = [=](bool forward) {
    return [=](Outputs<T>* out) {
      const T L = sharded_loss_grad(*shards, *grads, false, [&](Shard<T>& sh) {
        return ad::sum(row_losses(sh.X, sh.V, sh.P, forward)) * inv_B;
      });
      report_sharded_grads(out, L, *grads);
      return static_cast<double>(L);
    };
  };
  return {{"rev_over_rev", method(false)},
          {"rev_over_fwd_over_rev", method(true)},
          {"row_shards(rev_over_rev)", sharded(false)},
          {"row_shards(rev_over_fwd_over_rev)", sharded(true)}};
}

// tr H_n by d HVPs along the unit vectors e_k, each for the whole batch at once. Two ways: the engine's
// hessian_trace (forward over reverse), and a loop of reverse-over-reverse HVPs like the torch reference.
// Both are generic HVPs; batching the d unit tangents into one pass is future work (bench/README.md).
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
  const Shards<T> shards = make_shards(pb, true, true);
  auto grads = std::make_shared<std::array<Tensor<T>, 6>>(zeros_like(pb.theta));
  const T inv_B = T(1) / static_cast<T>(pb.B);
  auto sharded = [=](Outputs<T>* out) {
    const T L = sharded_loss_grad(*shards, *grads, false, [&](Shard<T>& sh) {
      const Var<T> f = ad::sum(energy(sh.X, sh.P));
      const Var<T> g = ad::grad(f, sh.X, true);
      return ad::sum(0.5 * ad::sum(g * g, 1) - ad::hessian_trace(f, sh.X, true, g)) * inv_B;
    });
    report_sharded_grads(out, L, *grads);
    return static_cast<double>(L);
  };
  return {{"rev_over_rev_loop", method(false)},
          {"batched_fwd_over_rev(hessian_trace)", method(true)},
          {"row_shards(batched_fwd_over_rev(hessian_trace))", sharded}};
}

template <class T>
std::vector<Method<T>> dsm_step(const Problem<T>& pb, bool) {
  auto tape = make_tape<T>();
  const Params<T> P = put(*tape, pb.theta, true);
  const Var<T> V = tape->constant(pb.V);
  const auto mark = tape->mark();
  auto xt = std::make_shared<Tensor<T>>(pb.X.shape());
  const Shards<T> shards = make_shards(pb, true, false);
  auto xts = std::make_shared<std::vector<Tensor<T>>>();  // each shard's x̃
  for (const Shard<T>& sh : *shards) xts->emplace_back(Shape{sh.rows.size(), pb.d});
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
          {"row_shards", [=, X = pb.X, Vh = pb.V, grads = std::make_shared<std::array<Tensor<T>, 6>>(zeros_like(pb.theta)),
                          inv_B = T(1) / static_cast<T>(pb.B)](Outputs<T>* out) {
             const T L = sharded_loss_grad(*shards, *grads, true, [&](Shard<T>& sh) {
               // x̃ = x + σv for this shard's rows, a fresh variable every iteration as in the unsharded method.
               Tensor<T>& xs = (*xts)[static_cast<size_t>(&sh - shards->data())];
               const int64_t at = sh.rows.begin * X.cols();
               for (int64_t i = 0; i < xs.numel(); ++i) xs[i] = X[at + i] + static_cast<T>(kSigma) * Vh[at + i];
               const Var<T> Xt = sh.tape->variable(xs);
               const Var<T> g = ad::grad(ad::sum(energy(Xt, sh.P)), Xt, true);
               const Var<T> r = g - sh.V / kSigma;
               return 0.5 * ad::sum(r * r) * inv_B;
             });
             report_sharded_grads(out, L, *grads);
             return static_cast<double>(L);
           }}};
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
  std::array<Tensor<T>, 6> theta, m, v, grads;
  Tensor<T> x, z;
  ad::Rng rng{0};
  int64_t step = 0;
  std::shared_ptr<Tape<T>> tape = make_tape<T>();
  // row_shards only: each shard's tape, rows, negatives, noise.
  std::vector<std::shared_ptr<Tape<T>>> tapes;
  std::vector<ad::RowRange> rows;
  std::vector<Tensor<T>> data, xs, zs;  // its rows of X; its chains and their noise
  std::vector<ad::Rng> rngs;
  std::vector<std::vector<Var<T>>> shard_grads;
  std::vector<T> shard_loss;

  explicit CdState(const Problem<T>& pb) : theta(pb.theta), x(pb.V), z(pb.V), rows(ad::split_rows(pb.B, kShards)) {
    for (int k = 0; k < 6; ++k) m[k] = v[k] = grads[k] = Tensor<T>(pb.theta[k].shape());
    for (int s = 0; s < kShards; ++s) {
      tapes.push_back(make_tape<T>());
      data.push_back(ad::rows_of(pb.X, rows[static_cast<size_t>(s)]));
      xs.push_back(ad::rows_of(pb.V, rows[static_cast<size_t>(s)]));
      zs.push_back(xs.back());
      rngs.emplace_back(0, static_cast<uint64_t>(s) + 1);
    }
    shard_grads.resize(kShards);
    shard_loss.resize(kShards);
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
             ad::for_each_shard(kShards, [&](int k) {
               const size_t i = static_cast<size_t>(k);
               Tape<T>& tape = *s.tapes[i];
               const ad::RowRange r = s.rows[i];
               tape.clear();
               const Params<T> Pc = put(tape, s.theta, false);
               std::copy_n(V0.data() + r.begin * V0.cols(), s.xs[i].numel(), s.xs[i].begin());
               langevin_chain(tape, Pc, s.xs[i], kCdSteps, check ? nullptr : &s.rngs[i], s.zs[i]);
               tape.clear();
               const Params<T> P = put(tape, s.theta, true);
               const Var<T> L = (ad::sum(energy(tape.constant(s.data[i]), P)) - ad::sum(energy(tape.constant(s.xs[i]), P))) * inv_B;
               s.shard_grads[i] = ad::grad<T>({L}, P.list());
               s.shard_loss[i] = L.item();
             });
             std::array<const T*, 6> gs;
             for (size_t k = 0; k < 6; ++k) {
               std::vector<const T*> parts;
               for (const auto& g : s.shard_grads) parts.push_back(g[k].data());
               ad::add_in_order(s.grads[k], parts);
               gs[k] = s.grads[k].data();
             }
             T L = 0;
             for (const T l : s.shard_loss) L += l;
             if (out) {
               report_sharded_grads(out, L, s.grads);  // before Adam's step: the gradients at the old θ
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

// ------------------------------------------------------------------------------------------- output
/// 0-dim tensors as plain numbers; others as {sum, asum, wsum} over the row-major flattening.
template <class T>
json checksum(const Tensor<T>& t) {
  if (t.rank() == 0) return static_cast<double>(t.item());
  double s = 0, a = 0, w = 0;
  for (int64_t k = 0; k < t.numel(); ++k) {
    const double x = static_cast<double>(t[k]);
    s += x;
    a += std::fabs(x);
    w += static_cast<double>(k % 7 + 1) * x;
  }
  return json{{"sum", s}, {"asum", a}, {"wsum", w}};
}

void emit(const json& row) { std::cout << row.dump() << std::endl; }

// ------------------------------------------------------------------------------------------- timing
struct Timing {
  double median_ms, min_ms;
  int reps;
  double value;
  std::string method;
};

/// The reference's protocol: one call, warm-up, reps = clamp(ceil(min_time / t_est), 5, max_reps) within the
/// budget (≥ 3 reps), each rep timed on its own.
Timing bench(const std::function<double(void*)>& fn, double min_time, int max_reps, double budget) {
  using clock = std::chrono::steady_clock;
  auto seconds = [](clock::duration d) { return std::chrono::duration<double>(d).count(); };
  auto t0 = clock::now();
  fn(nullptr);
  const double first = seconds(clock::now() - t0);
  const int nwarm = first > 0.05 ? 2 : std::max(3, std::min(200, static_cast<int>(0.25 / std::max(first, 1e-6))));
  t0 = clock::now();
  for (int i = 0; i < nwarm; ++i) fn(nullptr);
  const double est = seconds(clock::now() - t0) / nwarm;
  int reps = std::max(5, std::min(max_reps, static_cast<int>(std::ceil(min_time / est))));
  if (reps * est > budget) reps = std::max(3, static_cast<int>(budget / est));
  std::vector<double> times;
  double value = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t = clock::now();
    value = fn(nullptr);
    times.push_back(seconds(clock::now() - t) * 1e3);
  }
  std::sort(times.begin(), times.end());
  const size_t n = times.size();
  const double median = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
  return {median, times.front(), reps, value, ""};
}

double round6(double x) { return std::round(x * 1e6) / 1e6; }

struct Args {
  std::string only, size = "all", method;  // method: time only the method whose name starts with this
  int threads = 2, max_reps = 5000;
  bool check = false, unsharded = false;  // unsharded: leave out the row_shards methods
  double min_time = 1.0, budget = 25.0;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(k + " needs a value");
      return argv[++i];
    };
    if (k == "--only") a.only = next();
    else if (k == "--size") a.size = next();
    else if (k == "--method") a.method = next();
    else if (k == "--threads") a.threads = std::stoi(next());
    else if (k == "--check") a.check = true;
    else if (k == "--unsharded") a.unsharded = true;
    else if (k == "--min-time") a.min_time = std::stod(next());
    else if (k == "--budget") a.budget = std::stod(next());
    else if (k == "--max-reps") a.max_reps = std::stoi(next());
    else throw std::invalid_argument("unknown argument " + k);
  }
  if (!a.only.empty() && std::find(std::begin(kWorkloads), std::end(kWorkloads), a.only) == std::end(kWorkloads))
    throw std::invalid_argument("unknown workload " + a.only);
  if (a.size != "all" && a.size != "small" && a.size != "mid" && a.size != "large")
    throw std::invalid_argument("unknown size " + a.size);
  return a;
}

/// The methods --method and --unsharded leave in.
bool selected(const Args& args, const std::string& method) {
  if (method.rfind(args.method, 0) != 0) return false;
  return !(args.unsharded && method.rfind("row_shards", 0) == 0);
}

void run_check(const Args& args, const std::vector<std::string>& workloads, const std::vector<Size>& sizes) {
  for (const Size& s : sizes) {
    const Problem<double> pb = make_problem<double>(s);
    json outs;
    for (int k = 0; k < 6; ++k) outs[kParamNames[k]] = checksum(pb.theta[k]);
    outs["x"] = checksum(pb.X);
    outs["v"] = checksum(pb.V);
    emit({{"impl", "ours"}, {"mode", "check"}, {"dtype", "float64"}, {"workload", "init"}, {"size", s.name},
          {"outputs", outs}});
  }
  for (const std::string& w : workloads)
    for (const Size& s : sizes) {
      if (!runs_at(w, s.name)) continue;
      const Problem<double> pb = make_problem<double>(s);
      for (const Method<double>& m : make(w, pb, true)) {
        if (!selected(args, m.name)) continue;
        Outputs<double> out;
        const double value = m.run(&out);
        json outs;
        for (const auto& [name, t] : out) outs[name] = checksum(t);
        emit({{"impl", "ours"}, {"mode", "check"}, {"dtype", "float64"}, {"workload", w}, {"size", s.name},
              {"method", m.name}, {"value", value}, {"outputs", outs}});
      }
    }
}

void run_timing(const Args& args, const std::vector<std::string>& workloads, const std::vector<Size>& sizes) {
  for (const std::string& w : workloads)
    for (const Size& s : sizes) {
      if (!runs_at(w, s.name)) continue;
      const auto wall0 = std::chrono::steady_clock::now();
      const Problem<float> pb = make_problem<float>(s);
      std::vector<Timing> res;
      for (const Method<float>& m : make(w, pb, false)) {
        if (!selected(args, m.name)) continue;
        Timing t = bench([&](void*) { return m.run(nullptr); }, args.min_time, args.max_reps, args.budget);
        t.method = m.name;
        res.push_back(t);
      }
      if (res.empty()) continue;  // --method / --unsharded left no method of this workload
      std::sort(res.begin(), res.end(), [](const Timing& a, const Timing& b) { return a.median_ms < b.median_ms; });
      json row{{"impl", "ours"},          {"workload", w},       {"size", s.name},
               {"threads", args.threads}, {"ms_median", round6(res[0].median_ms)},
               {"ms_min", round6(res[0].min_ms)}, {"reps", res[0].reps}, {"value", res[0].value},
               {"method", res[0].method}};
      if (res.size() > 1) {
        json alt;
        for (size_t i = 1; i < res.size(); ++i)
          alt[res[i].method] = {{"ms_median", round6(res[i].median_ms)}, {"ms_min", round6(res[i].min_ms)},
                                {"reps", res[i].reps}};
        row["alt"] = alt;
      }
      row["wall_s"] = std::round(std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count() * 100) / 100;
      emit(row);
    }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args = parse(argc, argv);
    ad::ThreadLimit limit(args.threads);
    std::vector<std::string> workloads;
    if (args.only.empty()) workloads.assign(std::begin(kWorkloads), std::end(kWorkloads));
    else workloads.push_back(args.only);
    std::vector<Size> sizes;
    for (const Size& s : kSizes)
      if (args.size == "all" || args.size == s.name) sizes.push_back(s);
    if (args.check) run_check(args, workloads, sizes);
    else run_timing(args, workloads, sizes);
  } catch (const std::exception& e) {
    std::cerr << "ebm-bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
