#include "ebm/optim/sharded_objective.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>

namespace ebm {

template <class T>
ShardedObjective<T>::ShardedObjective(Objective<T>& objective, int shards) : objective_(&objective) {
  if (shards < 1) throw std::invalid_argument("ShardedObjective: shards must be >= 1, got " + std::to_string(shards));
  for (int s = 0; s < shards; ++s) {
    parts_.push_back(objective.shard(s, shards));
    tapes_.push_back(std::make_unique<ad::Tape<T>>());
  }
}

namespace {

// The rows of a shard: a view of the batch itself when there is one shard, a copy otherwise.
template <class T>
struct ShardRows {
  ad::Tensor<T> copy;
  const ad::Tensor<T>* x = nullptr;
  std::vector<int64_t> labels;
  const std::vector<int64_t>* label_ptr = nullptr;
};

// Σ_s w_s · named term, for the names of shard 0's terms in their order (every shard reports the same ones).
std::vector<Term> weighted_terms(const std::vector<std::vector<Term>>& terms, const std::vector<double>& w) {
  std::vector<Term> out = terms.front();
  for (Term& t : out) {
    double sum = 0;
    for (size_t s = 0; s < terms.size(); ++s)
      for (const Term& u : terms[s])
        if (u.name == t.name) {
          sum += w[s] * u.value;
          break;
        }
    t.value = sum;
  }
  return out;
}

}  // namespace

template <class T>
LossAndGrad<T> ShardedObjective<T>::loss_and_grad(const Energy<T>& model, const ad::Tensor<T>& x, const ad::Rng& rng,
                                                  const std::vector<int64_t>* labels) {
  const int S = shards();
  if (x.rank() != 2 || x.rows() < S)
    throw ad::ShapeError("sharded step: a batch [B, d] of at least " + std::to_string(S) + " rows (one per shard), got " + x.shape().str());
  if (labels && static_cast<int64_t>(labels->size()) != x.rows())
    throw std::invalid_argument("sharded step: " + std::to_string(labels->size()) + " labels for " + std::to_string(x.rows()) + " rows");
  const int64_t B = x.rows();
  const std::vector<ad::RowRange> ranges = ad::split_rows(B, S);
  std::vector<double> weight(static_cast<size_t>(S));
  std::vector<ad::Rng> rngs;
  for (int s = 0; s < S; ++s) {
    weight[static_cast<size_t>(s)] = static_cast<double>(ranges[static_cast<size_t>(s)].size()) / static_cast<double>(B);
    rngs.push_back(rng.split(kShardStream + static_cast<uint64_t>(s)));
  }
  std::vector<ShardRows<T>> rows(static_cast<size_t>(S));
  const auto take_rows = [&](int s) {
    ShardRows<T>& r = rows[static_cast<size_t>(s)];
    const ad::RowRange range = ranges[static_cast<size_t>(s)];
    if (S == 1) {
      r.x = &x;
      r.label_ptr = labels;
      return;
    }
    r.copy = ad::rows_of(x, range);
    r.x = &r.copy;
    if (labels) {
      r.labels.assign(labels->begin() + range.begin, labels->begin() + range.end);
      r.label_ptr = &r.labels;
    }
  };

  LossAndGrad<T> out;
  std::vector<std::vector<Term>> terms(static_cast<size_t>(S));

  // A closed-form gradient (no tape), per shard; the shards' gradients are added in shard order.
  std::vector<std::optional<LossAndGrad<T>>> direct(static_cast<size_t>(S));
  ad::for_each_shard(S, [&](int s) {
    take_rows(s);
    ad::Rng r = rngs[static_cast<size_t>(s)];
    direct[static_cast<size_t>(s)] = parts_[static_cast<size_t>(s)]->direct_loss_and_grad(model, *rows[static_cast<size_t>(s)].x, r,
                                                                                            rows[static_cast<size_t>(s)].label_ptr);
  });
  const int direct_count = static_cast<int>(std::count_if(direct.begin(), direct.end(), [](const auto& d) { return d.has_value(); }));
  if (direct_count != 0 && direct_count != S) throw std::logic_error(objective_->name() + ": a closed-form gradient for some shards only");
  if (direct_count == S) {
    for (int s = 0; s < S; ++s) {
      LossAndGrad<T>& d = *direct[static_cast<size_t>(s)];
      const double w = weight[static_cast<size_t>(s)];
      out.loss += w * d.loss;
      terms[static_cast<size_t>(s)] = std::move(d.terms);
      if (S > 1)
        for (auto* group : {&d.grad_theta, &d.grad_extra})
          for (ad::Tensor<T>& g : *group)
            for (T& v : g) v *= static_cast<T>(w);
    }
    const auto add_group = [&](auto member, std::vector<ad::Tensor<T>>& dst) {
      const size_t n = ((*direct.front()).*member).size();
      for (size_t k = 0; k < n; ++k) {
        std::vector<const T*> parts;
        for (int s = 0; s < S; ++s) parts.push_back(((*direct[static_cast<size_t>(s)]).*member)[k].data());
        dst.push_back(std::move(((*direct.front()).*member)[k]));
        ad::add_in_order(dst.back(), parts);
      }
    };
    add_group(&LossAndGrad<T>::grad_theta, out.grad_theta);
    add_group(&LossAndGrad<T>::grad_extra, out.grad_extra);
    out.terms = weighted_terms(terms, weight);
    return out;
  }

  // On the tapes. Shard s's loss is its part's mean over its rows, weighted by its rows' share of the batch.
  std::vector<std::vector<ad::Var<T>>> theta(static_cast<size_t>(S)), extra(static_cast<size_t>(S));
  std::vector<double> statistics;
  const auto input = [&](int s) {
    const size_t k = static_cast<size_t>(s);
    return LossInput<T>{*tapes_[k], model, theta[k], extra[k], *rows[k].x, rngs[k], rows[k].label_ptr,
                        objective_->has_shard_statistics() ? &statistics : nullptr};
  };
  const auto bind = [&](int s) {
    const size_t k = static_cast<size_t>(s);
    tapes_[k]->clear();
    theta[k] = bind_params(*tapes_[k], model.params(), Bind::variable);
    extra[k] = bind_params(*tapes_[k], objective_->extra_params(), Bind::variable);
  };
  if (objective_->has_shard_statistics()) {
    std::vector<std::vector<double>> sums(static_cast<size_t>(S));
    ad::for_each_shard(S, [&](int s) {
      bind(s);
      sums[static_cast<size_t>(s)] = parts_[static_cast<size_t>(s)]->shard_statistics(input(s));
    });
    statistics.assign(sums.front().size(), 0.0);
    for (const std::vector<double>& part : sums) {
      if (part.size() != statistics.size()) throw std::logic_error(objective_->name() + ": shards report statistics of different lengths");
      for (size_t i = 0; i < part.size(); ++i) statistics[i] += part[i];
    }
  }
  std::vector<ad::Var<T>> losses(static_cast<size_t>(S));
  std::vector<ad::Tensor<T>> grads;
  out.loss = static_cast<double>(ad::sharded_value_and_grad<T>(
      S,
      [&](int s) {
        const size_t k = static_cast<size_t>(s);
        if (!objective_->has_shard_statistics()) bind(s);
        Loss<T> l = parts_[k]->loss(input(s));
        if (l.value.numel() != 1)
          throw ad::ShapeError(objective_->name() + ": loss must be a single number, got " + l.value.shape().str());
        terms[k] = std::move(l.terms);
        std::vector<ad::Var<T>> params = theta[k];
        params.insert(params.end(), extra[k].begin(), extra[k].end());
        return ad::ShardLoss<T>{S == 1 ? l.value : l.value * weight[k], std::move(params)};
      },
      grads));
  const size_t n_theta = model.params().size();
  for (size_t k = 0; k < grads.size(); ++k) (k < n_theta ? out.grad_theta : out.grad_extra).push_back(std::move(grads[k]));
  out.terms = weighted_terms(terms, weight);
  for (auto& tape : tapes_) tape->clear();
  return out;
}

template <class T>
std::vector<std::vector<uint8_t>> ShardedObjective<T>::save_state() const {
  std::vector<std::vector<uint8_t>> out;
  for (const auto& p : parts_) out.push_back(p->save_state());
  return out;
}

template <class T>
void ShardedObjective<T>::load_state(const std::vector<std::vector<uint8_t>>& blobs) {
  if (blobs.size() != parts_.size())
    throw std::runtime_error("objective state of " + std::to_string(blobs.size()) + " shards, this run has " + std::to_string(parts_.size()));
  for (size_t s = 0; s < blobs.size(); ++s) parts_[s]->load_state(blobs[s]);
}

template class ShardedObjective<float>;
template class ShardedObjective<double>;

}  // namespace ebm
