#pragma once
// The row_shards methods' shared pieces: each shard's tape with θ and its rows, the sharded row-mean loss and
// its gradient (ad::sharded_value_and_grad). Included by workloads.hpp only.
#include <algorithm>
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
// computation. Row-mean losses are each shard's row sum over B; their θ-gradient comes from
// ad::sharded_value_and_grad (Note [Sharded gradients]). The shard count is fixed, not the thread count, so 1 and
// 2 threads give the same bits.
constexpr int kShards = 2;

template <class T>
struct Shard {
  std::shared_ptr<Tape<T>> tape = make_tape<T>();
  int index = 0;  // its place in the shard list
  ad::RowRange rows;
  Params<T> P;
  Var<T> X, V;  // this shard's rows of X (a variable when wanted) and of V
  typename Tape<T>::Mark mark;
  Var<T> out;                 // this iteration's per-row output (score, hvp)
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

/// The loss and the gradients (in kParamNames order) as a method reports them.
template <class T>
void report_sharded_grads(Outputs<T>* out, T loss, const std::vector<Tensor<T>>& grads) {
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
/// its tape; the method divides it by B, and reports the loss and its θ-gradient by ad::sharded_value_and_grad
/// (Note [Sharded gradients]: the wide weights' products computed once over both shards' rows after the region,
/// instead of a full-size product per shard and a sum of them).
template <class T, class RowSum>
std::function<double(Outputs<T>*)> sharded_mean_loss(const Problem<T>& pb, bool x_variable, RowSum row_sum) {
  const Shards<T> shards = make_shards(pb, true, x_variable);
  auto grads = std::make_shared<std::vector<Tensor<T>>>();
  const T inv_B = T(1) / static_cast<T>(pb.B);
  return [=](Outputs<T>* out) {
    const T L = ad::sharded_value_and_grad<T>(
        kShards,
        [&](int s) {
          Shard<T>& sh = (*shards)[static_cast<size_t>(s)];
          sh.tape->rewind(sh.mark);
          return ad::ShardLoss<T>{row_sum(sh) * inv_B, sh.P.list()};
        },
        *grads);
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
