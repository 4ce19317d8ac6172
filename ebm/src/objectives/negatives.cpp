#include "ebm/objectives/negatives.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#include <samplers/conditionals.hpp>
#include <samplers/gibbs.hpp>

#include "ebm/models/sampling.hpp"
#include "ebm/objectives/objective.hpp"

namespace ebm {

template <class T>
SamplerFactory<T> langevin_sampler(samplers::LangevinOptions o) {
  return [o](const Energy<T>& m) { return std::make_unique<samplers::Langevin<T>>(sampler_energy(m), o); };
}
template <class T>
SamplerFactory<T> mala_sampler(samplers::MalaOptions o) {
  return [o](const Energy<T>& m) { return std::make_unique<samplers::Mala<T>>(sampler_energy(m), o); };
}
template <class T>
SamplerFactory<T> hmc_sampler(samplers::HmcOptions o) {
  return [o](const Energy<T>& m) { return std::make_unique<samplers::Hmc<T>>(sampler_energy(m), o); };
}
template <class T>
SamplerFactory<T> gibbs_sampler(samplers::RbmChainUnits units) {
  return [units](const Energy<T>& m) -> std::unique_ptr<samplers::Sampler<T>> {
    if (const auto* rbm = dynamic_cast<const samplers::RbmConditionals<T>*>(&m)) return std::make_unique<samplers::BlockGibbs<T>>(*rbm, units);
    if (units == samplers::RbmChainUnits::hidden)
      throw std::invalid_argument("Gibbs sampling of hidden chains needs an RBM, not the model \"" + m.name() + "\"");
    if (const auto* bm = dynamic_cast<const samplers::BinaryConditionals<T>*>(&m)) return std::make_unique<samplers::SingleSiteGibbs<T>>(*bm);
    throw std::invalid_argument("Gibbs sampling needs an RBM or a Boltzmann machine, not the model \"" + m.name() + "\"");
  };
}

std::function<void(double*, int64_t, ad::Rng&)> bernoulli_init(double p_on) {
  return [p_on](double* row, int64_t d, ad::Rng& rng) {
    for (int64_t k = 0; k < d; ++k) row[k] = rng.uniform() < p_on ? 1.0 : 0.0;
  };
}

template <class T>
NegativePhase<T>::NegativePhase(SamplerFactory<T> sampler, NegativeOptions options, std::optional<uint64_t> seed)
    : sampler_(std::move(sampler)), options_(std::move(options)), seed_(seed) {
  if (!sampler_) throw std::invalid_argument("NegativePhase: no sampler");
  if (options_.steps < 0) throw std::invalid_argument("NegativePhase: steps must be >= 0");
  if (options_.count < 0) throw std::invalid_argument("NegativePhase: count must be >= 0");
  if (options_.buffer.capacity < 0) throw std::invalid_argument("NegativePhase: buffer capacity must be >= 0");
  if (options_.persist == samplers::RbmChainUnits::hidden) {
    if (options_.start != ChainStart::persistent) throw std::invalid_argument("NegativePhase: hidden chains must be persistent");
    if (options_.steps < 1) throw std::invalid_argument("NegativePhase: hidden chains need steps >= 1 (a visible draw)");
    if (!options_.buffer.init) options_.buffer.init = bernoulli_init();
  }
}

template <class T>
samplers::ReplayBuffer<T>& NegativePhase<T>::pool(int64_t dim, int64_t count, ad::Rng& rng) {
  if (!buffer_) {
    samplers::ReplayOptions o = options_.buffer;
    if (o.capacity == 0) o.capacity = count;
    if (!seed_) seed_ = rng.split(0x504f4f4c).next_u64();  // "POOL"
    buffer_.emplace(dim, o, *seed_);
  }
  if (buffer_->dim() != dim)
    throw std::invalid_argument("NegativePhase: the pool's chains have " + std::to_string(buffer_->dim()) + " units, this batch needs " +
                                std::to_string(dim));
  if (count > buffer_->capacity())
    throw std::invalid_argument("NegativePhase: " + std::to_string(count) + " negatives per batch from a buffer of " +
                                std::to_string(buffer_->capacity()) + " chains");
  return *buffer_;
}

namespace {

// Runs the k steps, recording ‖x‖² of the first 16 chains along the way when k >= 4 (see last_ess()).
template <class T>
samplers::SamplerStats advance(samplers::Sampler<T>& sampler, samplers::ChainState<T>& chains, int64_t steps, double& ess) {
  ess = std::numeric_limits<double>::quiet_NaN();
  if (steps <= 0) return {};
  if (steps < 4) return sampler.run(chains, steps);
  samplers::Trace<T> trace(0, std::min<int64_t>(16, chains.chains()));
  const samplers::SamplerStats st = sampler.run(chains, steps, trace.observer());
  if (trace.chains() >= 1) {
    const int64_t d = trace.dim();
    ess = samplers::ess(trace.map([d](const double* x) {
      double s = 0;
      for (int64_t k = 0; k < d; ++k) s += x[k] * x[k];
      return s;
    }));
  }
  return st;
}

}  // namespace

template <class T>
ad::Tensor<T> NegativePhase<T>::draw(const Energy<T>& model, const ad::Tensor<T>& data, ad::Rng& rng) {
  std::unique_ptr<samplers::Sampler<T>> sampler = sampler_(model);
  return draw_with(*sampler, data, rng);
}

template <class T>
ad::Tensor<T> NegativePhase<T>::draw(const Energy<T>& model, const ad::Tensor<T>& data, ad::Rng& rng, const LastStep<T>& last) {
  std::unique_ptr<samplers::Sampler<T>> sampler = sampler_(model);
  return draw_with(*sampler, data, rng, last);
}

template <class T>
ad::Tensor<T> NegativePhase<T>::draw_with(samplers::Sampler<T>& sampler, const ad::Tensor<T>& data, ad::Rng& rng, const LastStep<T>& last) {
  if (data.rank() != 2 || data.rows() < 1) throw ad::ShapeError("NegativePhase::draw: data must be [B >= 1, d], got " + data.shape().str());
  const int64_t d = data.cols(), count = options_.count > 0 ? options_.count : data.rows();
  if (last && options_.steps < 1) throw std::invalid_argument("NegativePhase::draw: a caller's last step needs steps >= 1");
  if (last && options_.persist == samplers::RbmChainUnits::hidden)
    throw std::invalid_argument("NegativePhase::draw: a caller's last step cannot advance hidden chains");
  const int64_t steps = last ? options_.steps - 1 : options_.steps;
  if (options_.start == ChainStart::data) {
    // Chain generators are split off the batch's stream: a fixed batch Rng gives fixed negatives.
    samplers::ChainState<T> chains;
    chains.x = ad::Tensor<T>(ad::Shape{count, d});
    const ad::Rng base = rng.split(0x4344);  // "CD"
    chains.rngs.reserve(static_cast<size_t>(count));
    for (int64_t c = 0; c < count; ++c) {
      const int64_t r = c % data.rows();
      std::memcpy(chains.row(c), data.data() + r * d, sizeof(T) * static_cast<size_t>(d));
      chains.rngs.push_back(base.split(static_cast<uint64_t>(c)));
    }
    stats_ = advance(sampler, chains, steps, ess_);
    if (last) last(chains, nullptr);
    poison_for_test(chains.x);
    return std::move(chains.x);
  }
  samplers::RbmHiddenChains<T>* hidden = nullptr;
  if (options_.persist == samplers::RbmChainUnits::hidden) {
    hidden = dynamic_cast<samplers::RbmHiddenChains<T>*>(&sampler);
    if (!hidden || hidden->chain_units() != samplers::RbmChainUnits::hidden)
      throw std::invalid_argument("NegativePhase: persistent hidden chains need a sampler of hidden chains (block Gibbs on an RBM)");
  }
  samplers::ReplayBuffer<T>& buf = pool(hidden ? hidden->num_hidden() : d, count, rng);
  // The other chains' positions, for a caller's last step: every slot not drawn now, as it was before the draw
  // (a copy taken before lend_all, which empties the pool until write_back).
  std::optional<ad::Tensor<T>> others;
  if (last && count < buf.capacity()) others = buf.slots().x;
  // Every slot (persistent chains): lent, not copied; written back below, before anything else can see the pool.
  auto batch = count == buf.capacity() ? buf.lend_all() : buf.draw(count);
  if (others) {
    ad::Tensor<T> kept(ad::Shape{buf.capacity() - count, d});
    int64_t row = 0;
    size_t next = 0;  // batch.slots is increasing
    for (int64_t slot = 0; slot < buf.capacity(); ++slot) {
      if (next < batch.slots.size() && batch.slots[next] == slot) {
        ++next;
        continue;
      }
      std::copy(others->data() + slot * d, others->data() + (slot + 1) * d, kept.data() + row * d);
      ++row;
    }
    others = std::move(kept);
  }
  try {
    stats_ = advance(sampler, batch.chains, steps, ess_);
    if (last) last(batch.chains, others ? &*others : nullptr);
  } catch (...) {
    // The pool must not stay lent: it takes back whatever positions the sampler left (a failed training step is
    // restored from a snapshot anyway). If even that fails, the pool says it is lent when next used.
    if (buf.lent()) try {
        buf.write_back(batch);
      } catch (...) {
      }
    throw;
  }
  poison_for_test(batch.chains.x);  // into the pool itself: the divergence guard must restore it
  buf.write_back(batch);
  return hidden ? hidden->take_visible() : std::move(batch.chains.x);
}

template <class T>
void NegativePhase<T>::poison_for_test(ad::Tensor<T>& chains) {
  ++draws_;
  const char* e = std::getenv("EBM_TEST_NAN_IN_CHAINS");
  if (e && std::atoll(e) == draws_ && chains.numel() > 0) chains[0] = std::numeric_limits<T>::quiet_NaN();
}

template <class T>
NegativePhase<T> NegativePhase<T>::shard(int s, int count) const {
  if (buffer_) throw std::logic_error("NegativePhase::shard: the pool exists already");
  NegativePhase<T> part = *this;
  if (count == 1) return part;
  if (options_.count > 0) part.options_.count = shard_share(options_.count, s, count, "negatives");
  if (options_.buffer.capacity > 0) part.options_.buffer.capacity = shard_share(options_.buffer.capacity, s, count, "buffer_size");
  // Without a seed, each pool's follows from its shard's stream at its first draw, apart already.
  if (seed_) part.seed_ = ad::Rng(*seed_, static_cast<uint64_t>(s)).next_u64();
  return part;
}

namespace {
constexpr char kMagic[8] = {'E', 'B', 'M', 'N', 'E', 'G', '0', '1'};
}

template <class T>
std::vector<uint8_t> NegativePhase<T>::save_state() const {
  if (!buffer_) return {};
  std::ostringstream out;
  out.write(kMagic, sizeof kMagic);
  const int64_t dims[2] = {buffer_->capacity(), buffer_->dim()};
  out.write(reinterpret_cast<const char*>(dims), sizeof dims);
  buffer_->save(out);
  const std::string s = out.str();
  return {s.begin(), s.end()};
}

template <class T>
void NegativePhase<T>::load_state(const std::vector<uint8_t>& blob) {
  if (blob.empty()) {  // saved before the first draw: nothing persistent yet
    buffer_.reset();
    return;
  }
  std::istringstream in(std::string(blob.begin(), blob.end()));
  char magic[8];
  int64_t dims[2];
  in.read(magic, sizeof magic);
  in.read(reinterpret_cast<char*>(dims), sizeof dims);
  if (!in || std::memcmp(magic, kMagic, sizeof magic) != 0) throw std::runtime_error("negative-phase state: not a chain-pool blob");
  if (options_.start != ChainStart::persistent) throw std::runtime_error("negative-phase state: chains saved, but this objective starts at the data");
  if (options_.buffer.capacity > 0 && dims[0] != options_.buffer.capacity)
    throw std::runtime_error("negative-phase state: a pool of " + std::to_string(dims[0]) + " chains, configured " +
                             std::to_string(options_.buffer.capacity));
  samplers::ReplayOptions o = options_.buffer;
  o.capacity = dims[0];
  buffer_.emplace(dims[1], o, seed_.value_or(0));  // every slot and generator is overwritten by load()
  buffer_->load(in);
}

#define EBM_NEGATIVES(T)                                                              \
  template SamplerFactory<T> langevin_sampler<T>(samplers::LangevinOptions);          \
  template SamplerFactory<T> mala_sampler<T>(samplers::MalaOptions);                  \
  template SamplerFactory<T> hmc_sampler<T>(samplers::HmcOptions);                    \
  template SamplerFactory<T> gibbs_sampler<T>(samplers::RbmChainUnits);              \
  template class NegativePhase<T>;
EBM_NEGATIVES(float)
EBM_NEGATIVES(double)
#undef EBM_NEGATIVES

}  // namespace ebm
