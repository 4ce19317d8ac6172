#include "models/rbm_gibbs_step.hpp"

#include <algorithm>
#include <limits>
#include <tuple>
#include <samplers/gibbs.hpp>

#include <autodiff/random.hpp>

namespace ebm::detail {

template <class T>
struct RbmGibbsStep<T>::Shard {
  int64_t d0 = 0, d1 = 0, c0 = 0, c1 = 0;  // its data rows [d0, d1) and chains [c0, c1)
  bool binary = true;                       // its data rows and initial states are 0/1
  BitRows data_bits, cur, prev;             // bits of its data rows, its chains' visible states and their previous ones
  BitRows hid;                              // hidden chains: its chains' hidden states
  bool has_prev = false;
  int64_t accepted = 0;
  double f_data = 0, f_neg = 0;  // Σ F over its data rows and its final states
  std::vector<T> gc;             // its share of ∂/∂c
};

template <class T>
RbmGibbsStep<T>::RbmGibbsStep(const RbmLayers<T>& layers, const ad::Tensor<T>& data, samplers::RbmChainUnits units)
    : layers_(layers), data_(data), units_(units), nv_(layers.num_visible()), nh_(layers.num_hidden()) {}

template <class T>
RbmGibbsStep<T>::~RbmGibbsStep() = default;

template <class T>
bool RbmGibbsStep<T>::data_product(Shard& sh, const HiddenMatrix& wm, const T* states) {
  const bool hidden = units_ == samplers::RbmChainUnits::hidden;
  const int64_t V = nv_, nc = sh.c1 - sh.c0, nd = sh.d1 - sh.d0, units = hidden ? nh_ : nv_;
  BitRows& state_bits = hidden ? sh.hid : sh.cur;
  if (!sh.data_bits.assign(data_.data() + sh.d0 * V, nd, V) || !state_bits.assign(states + sh.c0 * units, nc, units)) {
    sh.binary = false;
    return false;
  }
  delta_product<T>(plan_tree<T>(sh.data_bits, nullptr, wm.in_place_cols), wm.m, V, nh_, layers_.hidden_bias(), nullptr,
                   pre_data_.data() + sh.d0 * nh_, shards_.size() == 1);
  sh.has_prev = false;
  return true;
}

template <class T>
void RbmGibbsStep<T>::chain_pre(Shard& sh, const HiddenMatrix& wm, T* out, const ad::Tensor<T>& prev_pre) {
  const int64_t H = nh_;
  BitRows refs = sh.data_bits;
  std::vector<const T*> ref_rows;
  for (int64_t r = sh.d0; r < sh.d1; ++r) ref_rows.push_back(pre_data_.data() + r * H);
  if (sh.has_prev) {
    refs.append(sh.prev);
    for (int64_t r = sh.c0; r < sh.c1; ++r) ref_rows.push_back(prev_pre.data() + r * H);
  }
  delta_product<T>(plan_tree<T>(sh.cur, &refs, wm.in_place_cols), wm.m, nv_, H, layers_.hidden_bias(), ref_rows.data(), out,
                   shards_.size() == 1);
}

template <class T>
void RbmGibbsStep<T>::gradient_rows(Shard& sh, const T* v, const T* a_final) {
  const int64_t V = nv_, H = nh_, nc = sh.c1 - sh.c0, nd = sh.d1 - sh.d0;
  const int64_t n_data = data_.rows(), n_chains = pre_[0].rows();
  const T* b = layers_.visible_bias();
  sh.gc.assign(static_cast<size_t>(H), T(0));
  sh.f_data = free_energy_rows(b, V, H, data_.data() + sh.d0 * V, pre_data_.data() + sh.d0 * H, nd, 1.0 / double(n_data),
                               q_.data() + sh.d0 * H, sh.gc.data());
  sh.f_neg = free_energy_rows(b, V, H, v + sh.c0 * V, a_final, nc, -1.0 / double(n_chains), q_.data() + (n_data + sh.c0) * H,
                              sh.gc.data());
}

// One sweep of shard sh over visible chains: states `from` → `to` (both [chains, V], this shard's rows only),
// pre-activations of the states into pre_[p] (and of the new states into pre_[1 − p] when `last`).
template <class T>
void RbmGibbsStep<T>::sweep(Shard& sh, const HiddenMatrix& wm, const T* from, T* to, std::vector<ad::Rng>& rngs, int p, bool first,
                            bool last) {
  const int64_t V = nv_, H = nh_, nc = sh.c1 - sh.c0;
  const bool parallel = shards_.size() == 1;  // a lone shard lets its products' panels run in parallel
  if (first && !data_product(sh, wm, from)) return;
  T* a = pre_[p].data() + sh.c0 * H;
  chain_pre(sh, wm, a, pre_[1 - p]);

  // h ~ p(h | v), then v ~ p(v | h), chain by chain from its own generator (as samplers::BlockGibbs draws them),
  // straight from the pre-activations into bits (Note [Bernoulli from logits]; a NaN pre-activation, the one that
  // makes a mean non-finite, keeps the chain's state). Row by row, so that the draws find the row in L1.
  Scratch<T> m_scratch;
  T* m = m_scratch.get(static_cast<size_t>(nc * V));
  std::vector<char> ok(static_cast<size_t>(nc), 1);
  BitRows hb, next;
  hb.reset(nc, H);
  for (int64_t i = 0; i < nc; ++i)
    ok[static_cast<size_t>(i)] = ad::fill_bernoulli_logit(a + i * H, static_cast<T*>(nullptr), hb.row(i), H, rngs[static_cast<size_t>(sh.c0 + i)]);
  delta_product_transposed<T>(plan_tree<T>(hb, nullptr, 0), layers_.weights(), H, V, layers_.visible_bias(), nullptr, m, parallel);
  next.reset(nc, V);
  for (int64_t i = 0; i < nc; ++i) {
    T* out = to + (sh.c0 + i) * V;
    const bool finite = ad::fill_bernoulli_logit(m + i * V, out, next.row(i), V, rngs[static_cast<size_t>(sh.c0 + i)]);
    if (ok[static_cast<size_t>(i)] && finite) {
      ++sh.accepted;
    } else {  // keeps its state
      std::copy(from + (sh.c0 + i) * V, from + (sh.c0 + i + 1) * V, out);
      std::copy(sh.cur.row(i), sh.cur.row(i) + sh.cur.words, next.row(i));
    }
  }
  sh.prev = std::move(sh.cur);
  sh.cur = std::move(next);
  sh.has_prev = true;
  if (!last) return;

  // The final states' c + vW, then both parts' rows of the free-energy gradient: q = −coef σ(a), Σ q into gc, Σ F.
  // Each final state from its own previous state: ~15 % more additions than a tree over both states and the data
  // rows would find, but no tree to search (whose distances cost more than those additions at 64 hidden units).
  T* a_final = pre_[1 - p].data() + sh.c0 * H;
  std::vector<const T*> prev_rows;
  for (int64_t r = sh.c0; r < sh.c1; ++r) prev_rows.push_back(pre_[p].data() + r * H);
  delta_product<T>(plan_pairs<T>(sh.cur, sh.prev, wm.in_place_cols), wm.m, V, H, layers_.hidden_bias(), prev_rows.data(), a_final, parallel);
  gradient_rows(sh, to, a_final);
}

// One sweep of shard sh over hidden chains: states `from` → `to` (both [chains, H]); the visible draws into
// visible_, their pre-activations into pre_[p].
template <class T>
void RbmGibbsStep<T>::sweep_hidden(Shard& sh, const HiddenMatrix& wm, const T* from, T* to, std::vector<ad::Rng>& rngs, int p,
                                   bool first, bool last) {
  const int64_t V = nv_, H = nh_, nc = sh.c1 - sh.c0;
  const bool parallel = shards_.size() == 1;
  if (first && !data_product(sh, wm, from)) return;

  // v ~ p(v | h), then h ~ p(h | v), chain by chain from its own generator (as samplers::BlockGibbs draws them),
  // straight from the pre-activations, with their bits (Note [Bernoulli from logits]).
  Scratch<T> m_scratch;
  T* m = m_scratch.get(static_cast<size_t>(nc * V));
  std::vector<char> ok(static_cast<size_t>(nc), 1);
  delta_product_transposed<T>(plan_tree<T>(sh.hid, nullptr, 0), layers_.weights(), H, V, layers_.visible_bias(), nullptr, m, parallel);
  T* v = visible_.data();
  BitRows drawn, hid;
  drawn.reset(nc, V);
  for (int64_t i = 0; i < nc; ++i)
    ok[static_cast<size_t>(i)] =
        ad::fill_bernoulli_logit(m + i * V, v + (sh.c0 + i) * V, drawn.row(i), V, rngs[static_cast<size_t>(sh.c0 + i)]);
  sh.prev = std::move(sh.cur);
  sh.cur = std::move(drawn);
  T* a = pre_[p].data() + sh.c0 * H;
  chain_pre(sh, wm, a, pre_[1 - p]);
  hid.reset(nc, H);
  for (int64_t i = 0; i < nc; ++i) {
    T* out = to + (sh.c0 + i) * H;
    const bool finite = ad::fill_bernoulli_logit(a + i * H, out, hid.row(i), H, rngs[static_cast<size_t>(sh.c0 + i)]);
    if (ok[static_cast<size_t>(i)] && finite) {
      ++sh.accepted;
    } else {  // keeps its state
      std::copy(from + (sh.c0 + i) * H, from + (sh.c0 + i + 1) * H, out);
      std::copy(sh.hid.row(i), sh.hid.row(i) + sh.hid.words, hid.row(i));
    }
  }
  sh.has_prev = true;
  sh.hid = std::move(hid);
  if (last) gradient_rows(sh, v, a);
}

template <class T>
samplers::SamplerStats RbmGibbsStep<T>::run(samplers::ChainState<T>& state, int64_t sweeps, const samplers::Observer<T>& observe) {
  const int64_t n = state.chains(), nd = data_.rows();
  const bool hidden = units_ == samplers::RbmChainUnits::hidden;
  sharded_ = false;
  auto dense = [&] {  // BlockGibbs over the layers: its checks and errors, and states that are not 0/1
    samplers::BlockGibbs<T> gibbs(layers_, units_);
    const samplers::SamplerStats st = gibbs.run(state, sweeps, observe);
    if (hidden) visible_ = gibbs.take_visible();
    return st;
  };
  if (sweeps <= 0 || n < 1 || state.dim() != (hidden ? nh_ : nv_) || int64_t(state.rngs.size()) < n || data_.rank() != 2 || nd < 1 ||
      data_.cols() != nv_)
    return dense();
  const Shards rows = shards_of(std::max(nd, n));
  shards_.assign(static_cast<size_t>(rows.count), Shard{});
  for (int64_t s = 0; s < rows.count; ++s) {
    Shard& sh = shards_[static_cast<size_t>(s)];
    sh.d0 = nd * s / rows.count, sh.d1 = nd * (s + 1) / rows.count;
    sh.c0 = n * s / rows.count, sh.c1 = n * (s + 1) / rows.count;
  }
  pre_data_ = ad::Tensor<T>(ad::Shape{nd, nh_}, ad::uninitialized);
  for (ad::Tensor<T>& t : pre_) t = ad::Tensor<T>(ad::Shape{n, nh_}, ad::uninitialized);
  q_.resize(static_cast<size_t>((nd + n) * nh_));
  if (hidden) visible_ = ad::Tensor<T>(ad::Shape{n, nv_}, ad::uninitialized);
  // W: packed by each shard for itself when large (Note [Shard-packed W]), else read in place or packed here,
  // before the tasks read it. Wᵀ is packed panel by panel inside the tasks (Note [Panels packed on the fly]).
  const bool pack_per_shard = rows.count > 1 && nv_ * nh_ * int64_t(sizeof(T)) > kSharedMatrixBytes;
  if (!pack_per_shard) layers_.hidden_matrix();

  // Without an observer every sweep runs in one region; with one, a region per sweep (it sees each state).
  const int64_t per_region = observe ? 1 : sweeps;
  samplers::SamplerStats stats;
  int parity = 0;
  for (int64_t t = 0; t < sweeps; t += per_region) {
    ad::Tensor<T> buf[2];
    buf[0] = ad::Tensor<T>(state.x.shape(), ad::uninitialized);
    if (per_region > 1) buf[1] = ad::Tensor<T>(state.x.shape(), ad::uninitialized);
    for (Shard& sh : shards_) sh.accepted = 0;
    ad::for_each_shard(static_cast<int>(rows.count), [&](int64_t s) {
      Shard& sh = shards_[static_cast<size_t>(s)];
      // Note [Shard-packed W].
      Scratch<T> packed;
      HiddenMatrix wm;
      if (pack_per_shard) {
        T* buf = packed.get(static_cast<size_t>(panels<T>(nh_) * nv_ * DeltaLayout<T>::width()));
        pack_panels(layers_.weights(), false, nv_, nh_, buf, std::numeric_limits<int64_t>::max());
        wm = {buf, 0};
      } else {
        std::tie(wm.m, wm.in_place_cols) = layers_.hidden_matrix();
      }
      const T* from = state.x.data();
      for (int64_t u = 0; u < per_region; ++u) {
        T* to = buf[u % 2].data();
        const int p = (parity + int(u)) % 2;
        const bool first = t + u == 0, last = t + u == sweeps - 1;
        if (hidden) {
          sweep_hidden(sh, wm, from, to, state.rngs, p, first, last);
        } else {
          sweep(sh, wm, from, to, state.rngs, p, first, last);
        }
        if (!sh.binary) return;
        from = to;
      }
    });
    if (std::any_of(shards_.begin(), shards_.end(), [](const Shard& sh) { return !sh.binary; }))
      return dense();  // not 0/1: dense products (state untouched)
    state.x = std::move(buf[(per_region - 1) % 2]);
    parity = (parity + int(per_region)) % 2;
    int64_t accepted = 0;
    for (const Shard& sh : shards_) accepted += sh.accepted;
    stats.accepted += accepted;
    stats.proposals += n * per_region;
    stats.nan_proposals += n * per_region - accepted;
    if (observe) observe(t, state);
  }
  sharded_ = true;
  final_ = hidden ? visible_.data() : state.x.data();
  return stats;
}

template <class T>
std::pair<double, double> RbmGibbsStep<T>::contrastive_grad(const ad::Tensor<T>& negatives, std::vector<ad::Tensor<T>>& grads) {
  const double n_data = double(data_.rows()), n_neg = double(negatives.rows());
  if (!sharded_ || negatives.data() != final_ || negatives.rows() != pre_[0].rows()) {
    // No sweeps in shards: both parts' products now (the negatives start from the data where they are alike).
    const ad::Tensor<T> pre_data = layers_.hidden_pre(data_, true);
    const ad::Tensor<T> pre_neg = layers_.hidden_pre(negatives, false);
    const std::vector<double> f = layers_.free_energy_grad({{&data_, &pre_data, 1.0 / n_data}, {&negatives, &pre_neg, -1.0 / n_neg}}, grads);
    return {f[0] / n_data, f[1] / n_neg};
  }
  if (grads.size() != 3 || grads[0].numel() != nv_ * nh_ || grads[1].numel() != nv_ || grads[2].numel() != nh_)
    throw ad::ShapeError("BernoulliRbm: gradients must be shaped like W, b, c");
  // The shards' sums in shard order (a fixed order, whatever the thread count).
  double f_data = 0, f_neg = 0;
  T* gc = grads[2].data();
  std::fill(gc, gc + nh_, T(0));
  std::vector<const BitRows*> bits;
  for (const Shard& sh : shards_) {
    f_data += sh.f_data, f_neg += sh.f_neg;
    for (int64_t j = 0; j < nh_; ++j) gc[j] += sh.gc[static_cast<size_t>(j)];
    bits.push_back(&sh.data_bits);
  }
  for (const Shard& sh : shards_) bits.push_back(&sh.cur);  // the stack: data rows, then the chains
  const auto nd = int64_t(n_data), nn = int64_t(n_neg);
  layers_.binary_weight_grads(bits, {0, nd, nd + nn}, {1.0 / n_data, -1.0 / n_neg}, q_.data(), grads);
  return {f_data / n_data, f_neg / n_neg};
}

template class RbmGibbsStep<float>;
template class RbmGibbsStep<double>;

}  // namespace ebm::detail
