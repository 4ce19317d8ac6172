#include "samplers/gibbs.hpp"
#include <autodiff/scalar.hpp>

#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels.hpp"

namespace samplers {
namespace {

double off_value(BinaryUnits u) { return u == BinaryUnits::zero_one ? 0.0 : -1.0; }

using ad::scalar::sigmoid;

}  // namespace

template <class T>
void fill_binary(ChainState<T>& state, BinaryUnits units) {
  const double off = off_value(units);
  detail::for_each_chain(state.chains(), [&](int64_t c) {
    for (int64_t i = 0; i < state.dim(); ++i) state.row(c)[i] = T(state.rngs[size_t(c)].uniform() < 0.5 ? 1.0 : off);
  });
}

template <class T>
SingleSiteGibbs<T>::SingleSiteGibbs(const BinaryConditionals<T>& model, ScanOrder order) : model_(model), order_(order) {}

template <class T>
SamplerStats SingleSiteGibbs<T>::run(ChainState<T>& state, int64_t sweeps, const Observer<T>& observe) {
  const int64_t n = state.chains(), d = state.dim();
  detail::check_batch("SingleSiteGibbs", n, d);
  if (d != model_.num_units())
    throw std::invalid_argument("samplers::SingleSiteGibbs: state has " + std::to_string(d) + " units per chain, model has " +
                                std::to_string(model_.num_units()));
  const double off = off_value(model_.units());
  for (int64_t i = 0; i < state.x.numel(); ++i)
    if (!(state.x[i] == T(1) || state.x[i] == T(off)))
      throw std::invalid_argument("samplers::SingleSiteGibbs: state value " + std::to_string(double(state.x[i])) +
                                  " is not a unit value (" + (off == 0 ? "0 or 1" : "-1 or +1") + ")");
  std::vector<int64_t> nan(static_cast<size_t>(n));
  SamplerStats stats;
  for (int64_t t = 0; t < sweeps; ++t) {
    detail::for_each_chain(n, [&](int64_t c) {
      ad::Rng& rng = state.rngs[size_t(c)];
      T* x = state.row(c);
      for (int64_t s = 0; s < d; ++s) {
        const int64_t i = order_ == ScanOrder::systematic ? s : int64_t(rng.below(uint64_t(d)));
        const double logit = model_.conditional_logit(x, i);
        const double u = rng.uniform();
        if (std::isnan(logit)) {  // ±∞ are fine: the unit is then deterministic
          ++nan[size_t(c)];
          continue;
        }
        x[i] = T(u < sigmoid(logit) ? 1.0 : off);
      }
    });
    stats.proposals += n * d;
    int64_t bad = 0;
    for (int64_t& v : nan) bad += v, v = 0;
    stats.nan_proposals += bad;
    stats.accepted += n * d - bad;
    if (observe) observe(t, state);
  }
  return stats;
}

template <class T>
BlockGibbs<T>::BlockGibbs(const RbmConditionals<T>& model, RbmChainUnits units) : model_(model), units_(units) {}

template <class T>
ad::Tensor<T> BlockGibbs<T>::sample_hidden(const ad::Tensor<T>& v, std::vector<ad::Rng>& rngs,
                                           std::vector<uint8_t>* ok) const {
  const int64_t n = v.rows(), h = model_.num_hidden();
  ad::Tensor<T> p = model_.hidden_mean(v);
  if (p.rank() != 2 || p.rows() != n || p.cols() != h)
    throw std::invalid_argument("samplers::BlockGibbs: hidden_mean returned " + p.shape().str() + " for visible " +
                                v.shape().str() + " and " + std::to_string(h) + " hidden units");
  if (int64_t(rngs.size()) < n) throw std::invalid_argument("samplers::BlockGibbs: fewer generators than chains");
  if (ok) ok->assign(size_t(n), 1);
  detail::for_each_chain_units(n, 4 * h, [&](int64_t c) {
    T* row = p.data() + c * h;
    const bool finite = ad::all_finite(row, h);
    ad::fill_bernoulli(row, row, h, rngs[size_t(c)]);  // in place over the means
    if (!finite && ok) (*ok)[size_t(c)] = 0;
  });
  return p;  // sampled in place over the means
}

template <class T>
ad::Tensor<T> BlockGibbs<T>::sample_visible(const ad::Tensor<T>& h, std::vector<ad::Rng>& rngs,
                                            std::vector<uint8_t>* ok) const {
  const int64_t n = h.rows(), nv = model_.num_visible();
  ad::Tensor<T> m = model_.visible_mean(h);
  if (m.rank() != 2 || m.rows() != n || m.cols() != nv)
    throw std::invalid_argument("samplers::BlockGibbs: visible_mean returned " + m.shape().str() + " for hidden " +
                                h.shape().str() + " and " + std::to_string(nv) + " visible units");
  if (int64_t(rngs.size()) < n) throw std::invalid_argument("samplers::BlockGibbs: fewer generators than chains");
  const bool gaussian = model_.visible_units() == VisibleUnits::gaussian;
  ad::Tensor<T> sd;
  if (gaussian) {
    sd = model_.visible_stddev();
    if (sd.numel() != nv)
      throw std::invalid_argument("samplers::BlockGibbs: visible_stddev has " + std::to_string(sd.numel()) +
                                  " values for " + std::to_string(nv) + " visible units");
  }
  if (ok) ok->assign(size_t(n), 1);
  detail::for_each_chain_units(n, 4 * nv, [&](int64_t c) {
    T* row = m.data() + c * nv;
    const bool finite = ad::all_finite(row, nv);
    ad::Rng& rng = rngs[size_t(c)];
    if (gaussian) {
      for (int64_t i = 0; i < nv; ++i) row[i] = T(row[i] + sd[i] * rng.normal());
    } else {
      ad::fill_bernoulli(row, row, nv, rng);
    }
    if (!finite && ok) (*ok)[size_t(c)] = 0;
  });
  return m;
}

template <class T>
SamplerStats BlockGibbs<T>::run(ChainState<T>& state, int64_t sweeps, const Observer<T>& observe) {
  const int64_t n = state.chains(), d = state.dim();
  detail::check_batch("BlockGibbs", n, d);
  const bool hidden_chains = units_ == RbmChainUnits::hidden;
  const int64_t units = hidden_chains ? model_.num_hidden() : model_.num_visible();
  if (d != units)
    throw std::invalid_argument("samplers::BlockGibbs: state has " + std::to_string(d) + " units per chain, model has " +
                                std::to_string(units) + (hidden_chains ? " hidden units" : " visible units"));
  std::vector<uint8_t> ok_h, ok_v;
  SamplerStats stats;
  for (int64_t t = 0; t < sweeps; ++t) {
    ad::Tensor<T> next;
    if (hidden_chains) {
      visible_ = sample_visible(state.x, state.rngs, &ok_v);
      next = sample_hidden(visible_, state.rngs, &ok_h);
    } else {
      hidden_ = sample_hidden(state.x, state.rngs, &ok_h);
      next = sample_visible(hidden_, state.rngs, &ok_v);
    }
    int64_t accepted = 0;
    for (int64_t c = 0; c < n; ++c) accepted += ok_h[size_t(c)] && ok_v[size_t(c)];
    if (accepted == n) {
      state.x = std::move(next);  // every chain moves: take the new states whole
    } else {
      for (int64_t c = 0; c < n; ++c)
        if (ok_h[size_t(c)] && ok_v[size_t(c)]) std::copy(next.data() + c * d, next.data() + (c + 1) * d, state.row(c));
      // the others keep their state
    }
    stats.accepted += accepted;
    stats.nan_proposals += n - accepted;
    stats.proposals += n;
    if (observe) observe(t, state);
  }
  return stats;
}

template void fill_binary(ChainState<float>&, BinaryUnits);
template void fill_binary(ChainState<double>&, BinaryUnits);
template class SingleSiteGibbs<float>;
template class SingleSiteGibbs<double>;
template class BlockGibbs<float>;
template class BlockGibbs<double>;

}  // namespace samplers
