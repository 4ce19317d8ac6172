#pragma once
// The row_shards methods' shared pieces: each shard's tape with θ and its rows, the sharded row-mean loss and
// its ordered gradient sum. Included by workloads.hpp only.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/autodiff.hpp"

#include "problem.hpp"

namespace bench {

// ------------------------------------------------------------------------------------------- row shards
// The `row_shards` methods split the batch into kShards fixed row ranges (ad::split_rows), each with its own
// tape holding θ and its rows, bound once; one parallel region (ad::for_each_shard) runs every shard's whole
// computation. Row-mean losses are each shard's row sum over B; gradients are added in shard order
// (ad::add_in_order). The shard count is fixed, not the thread count, so 1 and 2 threads give the same bits.
constexpr int kShards = 2;

template <class T>
struct Shard {
  std::shared_ptr<Tape<T>> tape = make_tape<T>();
  int index = 0;  // its place in the shard list
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
    sh.index = s;
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

/// A row_shards method for a row-mean loss: row_sum(shard) is the sum of the shard's per-row losses, recorded on
/// its tape; the method divides it by B, and reports the loss and the shards' θ-gradients added in shard order.
template <class T, class RowSum>
std::function<double(Outputs<T>*)> sharded_mean_loss(const Problem<T>& pb, bool x_variable, bool record_sweep,
                                                     RowSum row_sum) {
  const Shards<T> shards = make_shards(pb, true, x_variable);
  auto grads = std::make_shared<std::array<Tensor<T>, 6>>(zeros_like(pb.theta));
  const T inv_B = T(1) / static_cast<T>(pb.B);
  return [=](Outputs<T>* out) {
    const T L = sharded_loss_grad(*shards, *grads, record_sweep, [&](Shard<T>& sh) { return row_sum(sh) * inv_B; });
    report_sharded_grads(out, L, *grads);
    return static_cast<double>(L);
  };
}

/// A row_shards method for a per-row result (θ constants, X a variable): rows(shard) is the shard's [rows, d]
/// result; it is reported under `name`, stacked in row order.
template <class T, class Rows>
std::function<double(Outputs<T>*)> sharded_rows(const Problem<T>& pb, const std::string& name, Rows rows) {
  const Shards<T> shards = make_shards(pb, false, true);
  return [=, B = pb.B](Outputs<T>* out) {
    ad::for_each_shard(kShards, [&](int k) {
      Shard<T>& sh = (*shards)[static_cast<size_t>(k)];
      sh.tape->rewind(sh.mark);
      sh.out = rows(sh);
    });
    if (out) out->emplace_back(name, stacked_outputs(*shards, B));
    return sharded_output_total(*shards);
  };
}

}  // namespace bench
