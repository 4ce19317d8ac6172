#include "ebm/optim/sharded_objective.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

namespace ebm {

template <class T>
ShardedObjective<T>::ShardedObjective(Objective<T>& objective, int shards)
    : objective_(&objective), comm_(std::make_shared<SingleProcess>()) {
  if (shards < 1) throw std::invalid_argument("ShardedObjective: shards must be >= 1, got " + std::to_string(shards));
  for (int s = 0; s < shards; ++s) {
    parts_.push_back(objective.shard(s, shards));
    tapes_.push_back(std::make_unique<ad::Tape<T>>());
  }
}

template <class T>
void ShardedObjective<T>::distribute(std::shared_ptr<const ShardComm> comm) {
  if (!comm) throw std::invalid_argument("ShardedObjective::distribute: no communicator");
  comm_ = std::move(comm);
}

namespace {

// What a shard sends to the other processes, as bytes (Note [Shards across processes]).
class Writer {
 public:
  template <class V>
  void put(const V& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof v);
  }
  void put_bytes(const void* data, size_t n) {
    put(static_cast<uint64_t>(n));
    const auto* p = static_cast<const uint8_t*>(data);
    bytes.insert(bytes.end(), p, p + n);
  }
  std::vector<uint8_t> bytes;
};

class Reader {
 public:
  explicit Reader(const std::vector<uint8_t>& b) : b_(b) {}
  template <class V>
  V get() {
    V v;
    need(sizeof v);
    std::memcpy(&v, b_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  const uint8_t* get_bytes(size_t& n) {
    n = static_cast<size_t>(get<uint64_t>());
    need(n);
    const uint8_t* p = b_.data() + at_;
    at_ += n;
    return p;
  }

 private:
  void need(size_t n) const {
    if (b_.size() - at_ < n) throw std::runtime_error("sharded step: a process sent a short message");
  }
  const std::vector<uint8_t>& b_;
  size_t at_ = 0;
};

// One shard's part of a step: its loss (the mean over its rows), terms, and its gradients already weighted by its
// rows' share of the batch (model parameters, then the objective's).
template <class T>
struct ShardResult {
  double loss = 0;
  std::vector<Term> terms;
  std::vector<ad::Tensor<T>> grads;
};

template <class T>
void write_result(Writer& w, const ShardResult<T>& r) {
  w.put(r.loss);
  w.put(static_cast<uint64_t>(r.terms.size()));
  for (const Term& t : r.terms) {
    w.put_bytes(t.name.data(), t.name.size());
    w.put(t.value);
  }
  w.put(static_cast<uint64_t>(r.grads.size()));
  for (const ad::Tensor<T>& g : r.grads) w.put_bytes(g.data(), sizeof(T) * static_cast<size_t>(g.numel()));
}

// `shapes`: the parameters' shapes, which the receiver knows.
template <class T>
ShardResult<T> read_result(Reader& r, const std::vector<ad::Shape>& shapes) {
  ShardResult<T> out;
  out.loss = r.get<double>();
  const uint64_t n_terms = r.get<uint64_t>();
  for (uint64_t i = 0; i < n_terms; ++i) {
    size_t n = 0;
    const uint8_t* p = r.get_bytes(n);
    Term t{std::string(reinterpret_cast<const char*>(p), n), 0.0};
    t.value = r.get<double>();
    out.terms.push_back(std::move(t));
  }
  if (r.get<uint64_t>() != shapes.size()) throw std::runtime_error("sharded step: a process sent another number of gradients");
  for (const ad::Shape& shape : shapes) {
    size_t n = 0;
    const uint8_t* p = r.get_bytes(n);
    if (n != sizeof(T) * static_cast<size_t>(shape.numel())) throw std::runtime_error("sharded step: a process sent a gradient of another size");
    out.grads.emplace_back(shape, reinterpret_cast<const T*>(p));  // Tensor(shape, values) copies
  }
  return out;
}

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

// Every shard's bytes in shard order, from every process's concatenation of its own shards' (r, r + P, ...).
template <class Item, class Write, class Read>
std::vector<Item> exchange(const ShardComm& comm, int S, std::vector<Item>& mine, Write write, Read read) {
  std::vector<Item> all(static_cast<size_t>(S));
  if (comm.size() == 1) {
    for (int s = 0; s < S; ++s) all[static_cast<size_t>(s)] = std::move(mine[static_cast<size_t>(s)]);
    return all;
  }
  Writer w;
  for (int s = comm.rank(); s < S; s += comm.size()) write(w, mine[static_cast<size_t>(s)]);
  const std::vector<std::vector<uint8_t>> got = comm.all_gather(w.bytes);
  for (int r = 0; r < comm.size(); ++r) {
    Reader rd(got[static_cast<size_t>(r)]);
    for (int s = r; s < S; s += comm.size()) all[static_cast<size_t>(s)] = read(rd);
  }
  return all;
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
  std::vector<int> mine;  // this process's shards
  std::vector<ad::Rng> rngs;
  for (int s = 0; s < S; ++s) {
    weight[static_cast<size_t>(s)] = static_cast<double>(ranges[static_cast<size_t>(s)].size()) / static_cast<double>(B);
    rngs.push_back(rng.split(kShardStream + static_cast<uint64_t>(s)));
    if (comm_->owns(s)) mine.push_back(s);
  }
  const int M = static_cast<int>(mine.size());
  // The rows of a shard: the batch itself when there is one shard, a copy otherwise.
  std::vector<ad::Tensor<T>> row_copies(static_cast<size_t>(S));
  std::vector<std::vector<int64_t>> label_copies(static_cast<size_t>(S));
  const auto rows_of = [&](int s) -> const ad::Tensor<T>& { return S == 1 ? x : row_copies[static_cast<size_t>(s)]; };
  const auto labels_of = [&](int s) { return !labels ? nullptr : S == 1 ? labels : &label_copies[static_cast<size_t>(s)]; };
  const auto take_rows = [&](int s) {
    if (S == 1) return;
    const ad::RowRange range = ranges[static_cast<size_t>(s)];
    row_copies[static_cast<size_t>(s)] = ad::rows_of(x, range);
    if (labels) label_copies[static_cast<size_t>(s)].assign(labels->begin() + range.begin, labels->begin() + range.end);
  };

  std::vector<ShardResult<T>> results(static_cast<size_t>(S));
  // A closed-form gradient (no tape), when the objective has one for this model.
  std::vector<char> direct(static_cast<size_t>(S), 0);
  ad::for_each_shard(M, [&](int i) {
    const int s = mine[static_cast<size_t>(i)];
    const size_t k = static_cast<size_t>(s);
    take_rows(s);
    ad::Rng r = rngs[k];
    std::optional<LossAndGrad<T>> d = parts_[k]->direct_loss_and_grad(model, rows_of(s), r, labels_of(s));
    if (!d) return;
    direct[k] = 1;
    results[k].loss = d->loss;
    results[k].terms = std::move(d->terms);
    for (auto* group : {&d->grad_theta, &d->grad_extra})
      for (ad::Tensor<T>& g : *group) {
        if (S > 1)
          for (T& v : g) v *= static_cast<T>(weight[k]);
        results[k].grads.push_back(std::move(g));
      }
  });
  const int direct_count = static_cast<int>(std::count(direct.begin(), direct.end(), 1));
  if (direct_count != 0 && direct_count != M) throw std::logic_error(objective_->name() + ": a closed-form gradient for some shards only");

  if (direct_count == 0) {
    // On the tapes. Objectives whose loss needs batch-wide numbers compute them first (Note [Statistics across shards]).
    std::vector<std::vector<ad::Var<T>>> theta(static_cast<size_t>(S)), extra(static_cast<size_t>(S));
    std::vector<double> statistics;
    const bool two_phase = objective_->has_shard_statistics();
    const auto input = [&](int s) {
      const size_t k = static_cast<size_t>(s);
      return LossInput<T>{*tapes_[k], model, theta[k], extra[k], rows_of(s), rngs[k], labels_of(s), two_phase ? &statistics : nullptr};
    };
    const auto bind = [&](int s) {
      const size_t k = static_cast<size_t>(s);
      tapes_[k]->clear();
      theta[k] = bind_params(*tapes_[k], model.params(), Bind::variable);
      extra[k] = bind_params(*tapes_[k], objective_->extra_params(), Bind::variable);
    };
    if (two_phase) {
      std::vector<std::vector<double>> sums(static_cast<size_t>(S));
      ad::for_each_shard(M, [&](int i) {
        const int s = mine[static_cast<size_t>(i)];
        bind(s);
        sums[static_cast<size_t>(s)] = parts_[static_cast<size_t>(s)]->shard_statistics(input(s));
      });
      sums = exchange(
          *comm_, S, sums,
          [](Writer& w, const std::vector<double>& v) { w.put_bytes(v.data(), sizeof(double) * v.size()); },
          [](Reader& r) {
            size_t n = 0;
            const uint8_t* p = r.get_bytes(n);
            std::vector<double> v(n / sizeof(double));
            std::memcpy(v.data(), p, n);
            return v;
          });
      statistics.assign(sums.front().size(), 0.0);
      for (const std::vector<double>& part : sums) {
        if (part.size() != statistics.size()) throw std::logic_error(objective_->name() + ": shards report statistics of different lengths");
        for (size_t i = 0; i < part.size(); ++i) statistics[i] += part[i];
      }
    }
    ad::for_each_shard(M, [&](int i) {
      const int s = mine[static_cast<size_t>(i)];
      const size_t k = static_cast<size_t>(s);
      if (!two_phase) bind(s);
      Loss<T> l = parts_[k]->loss(input(s));
      if (l.value.numel() != 1) throw ad::ShapeError(objective_->name() + ": loss must be a single number, got " + l.value.shape().str());
      std::vector<ad::Var<T>> params = theta[k];
      params.insert(params.end(), extra[k].begin(), extra[k].end());
      results[k].loss = static_cast<double>(l.value.item());
      results[k].terms = std::move(l.terms);
      if (!params.empty())
        for (const ad::Var<T>& g : ad::grad<T>({S == 1 ? l.value : l.value * weight[k]}, params)) results[k].grads.push_back(g.value());
      tapes_[k]->clear();
    });
  }

  // Every shard's part on every process, then the sums in shard order.
  std::vector<ad::Shape> shapes;
  for (const Param<T>& p : model.params()) shapes.push_back(p.value.shape());
  for (const Param<T>& p : objective_->extra_params()) shapes.push_back(p.value.shape());
  results = exchange(
      *comm_, S, results, [](Writer& w, const ShardResult<T>& r) { write_result(w, r); },
      [&shapes](Reader& r) { return read_result<T>(r, shapes); });
  LossAndGrad<T> out;
  std::vector<std::vector<Term>> terms;
  for (int s = 0; s < S; ++s) {
    out.loss += weight[static_cast<size_t>(s)] * results[static_cast<size_t>(s)].loss;
    terms.push_back(std::move(results[static_cast<size_t>(s)].terms));
  }
  const size_t n_theta = model.params().size();
  for (size_t k = 0; k < shapes.size(); ++k) {
    ad::Tensor<T> sum = std::move(results.front().grads[k]);
    if (S > 1) {
      std::vector<const T*> parts;
      parts.push_back(sum.data());
      for (int s = 1; s < S; ++s) parts.push_back(results[static_cast<size_t>(s)].grads[k].data());
      ad::add_in_order(sum, parts);
    }
    (k < n_theta ? out.grad_theta : out.grad_extra).push_back(std::move(sum));
  }
  out.terms = weighted_terms(terms, weight);
  last_terms_ = out.terms;
  return out;
}

template <class T>
std::vector<std::vector<uint8_t>> ShardedObjective<T>::save_state() const {
  std::vector<std::vector<uint8_t>> out(parts_.size());
  for (size_t s = 0; s < parts_.size(); ++s)
    if (comm_->owns(static_cast<int>(s))) out[s] = parts_[s]->save_state();
  return exchange(
      *comm_, shards(), out, [](Writer& w, const std::vector<uint8_t>& b) { w.put_bytes(b.data(), b.size()); },
      [](Reader& r) {
        size_t n = 0;
        const uint8_t* p = r.get_bytes(n);
        return std::vector<uint8_t>(p, p + n);
      });
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
