#include "samplers/replay.hpp"

#include <algorithm>
#include <istream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <utility>

#include "kernels.hpp"

namespace samplers {
namespace {
constexpr char kMagic[8] = {'E', 'B', 'M', 'R', 'P', 'L', 'A', 'Y'};
}

template <class T>
ReplayBuffer<T>::ReplayBuffer(int64_t dim, ReplayOptions options, uint64_t seed)
    : options_(std::move(options)),
      slots_(options_.capacity, dim, seed),
      capacity_(options_.capacity),
      dim_(dim),
      rng_(ad::Rng(seed, uint64_t(options_.capacity)).split(0)) {
  if (!(options_.reinit_prob >= 0 && options_.reinit_prob <= 1))
    throw std::invalid_argument("samplers::ReplayBuffer: reinit_prob must lie in [0, 1]");
  if (options_.noise == InitNoise::uniform && !(options_.lo < options_.hi))
    throw std::invalid_argument("samplers::ReplayBuffer: uniform noise needs lo < hi");
  detail::for_each_chain(capacity(), [&](int64_t i) { reinit(slots_, i); });
}

template <class T>
void ReplayBuffer<T>::reinit(ChainState<T>& s, int64_t row) {
  ad::Rng& rng = s.rngs[size_t(row)];
  T* x = s.row(row);
  const int64_t d = s.dim();
  if (options_.init) {
    std::vector<double> tmp(static_cast<size_t>(d));
    options_.init(tmp.data(), d, rng);
    for (int64_t k = 0; k < d; ++k) x[k] = T(tmp[size_t(k)]);
  } else if (options_.noise == InitNoise::uniform) {
    for (int64_t k = 0; k < d; ++k) x[k] = T(options_.lo + (options_.hi - options_.lo) * rng.uniform());
  } else {
    for (int64_t k = 0; k < d; ++k) x[k] = T(options_.sd * rng.normal());
  }
}

template <class T>
void ReplayBuffer<T>::check_not_lent(const char* what) const {
  if (lent_)
    throw std::logic_error(std::string("samplers::ReplayBuffer::") + what + ": the positions are lent out (lend_all without write_back)");
}

template <class T>
const ChainState<T>& ReplayBuffer<T>::slots() const {
  check_not_lent("slots");
  return slots_;
}

template <class T>
typename ReplayBuffer<T>::Batch ReplayBuffer<T>::draw(int64_t batch) {
  return take(batch, false);
}

template <class T>
typename ReplayBuffer<T>::Batch ReplayBuffer<T>::lend_all() {
  return take(capacity(), true);
}

template <class T>
typename ReplayBuffer<T>::Batch ReplayBuffer<T>::take(int64_t batch, bool lend) {
  check_not_lent(lend ? "lend_all" : "draw");
  const int64_t n = capacity(), d = dim();
  if (batch < 1 || batch > n)
    throw std::invalid_argument("samplers::ReplayBuffer::draw: batch " + std::to_string(batch) + " not in [1, " +
                                std::to_string(n) + "]");
  Batch out;
  if (batch == n) {
    out.slots.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) out.slots[size_t(i)] = i;
  } else {
    std::unordered_set<int64_t> chosen;  // Floyd: exactly `batch` draws, uniform over subsets
    for (int64_t j = n - batch; j < n; ++j) {
      const int64_t t = int64_t(rng_.below(uint64_t(j + 1)));
      chosen.insert(chosen.count(t) ? j : t);
    }
    out.slots.assign(chosen.begin(), chosen.end());
    std::sort(out.slots.begin(), out.slots.end());
  }
  out.fresh.resize(size_t(batch));
  for (auto& f : out.fresh) f = rng_.uniform() < options_.reinit_prob;
  if (lend && std::none_of(out.fresh.begin(), out.fresh.end(), [](uint8_t f) { return f != 0; })) {
    out.chains.x = std::move(slots_.x);
    out.chains.rngs = slots_.rngs;
    lent_ = true;
    return out;
  }
  out.chains.x = ad::Tensor<T>(ad::Shape{batch, d}, ad::uninitialized);  // every row is copied in
  out.chains.rngs.resize(size_t(batch));
  detail::for_each_chain_units(batch, d, [&](int64_t r) {
    const int64_t s = out.slots[size_t(r)];
    std::copy(slots_.row(s), slots_.row(s) + d, out.chains.row(r));
    out.chains.rngs[size_t(r)] = slots_.rngs[size_t(s)];
    if (out.fresh[size_t(r)]) reinit(out.chains, r);
  });
  return out;
}

template <class T>
void ReplayBuffer<T>::write_back(const Batch& batch) {
  const int64_t d = dim();
  if (batch.chains.dim() != d || batch.chains.chains() != int64_t(batch.slots.size()) ||
      batch.chains.rngs.size() != batch.slots.size())
    throw std::invalid_argument("samplers::ReplayBuffer::write_back: batch does not match its slots or the buffer");
  std::vector<char> taken(size_t(capacity()), 0);
  for (const int64_t s : batch.slots) {
    if (s < 0 || s >= capacity()) throw std::invalid_argument("samplers::ReplayBuffer::write_back: slot out of range");
    if (taken[size_t(s)]) throw std::invalid_argument("samplers::ReplayBuffer::write_back: slot " + std::to_string(s) + " twice");
    taken[size_t(s)] = 1;
  }
  if (lent_) {  // only every slot can return the loan: the pool has no positions to keep for the others
    if (int64_t(batch.slots.size()) != capacity())
      throw std::invalid_argument("samplers::ReplayBuffer::write_back: the positions are lent out; only a batch of every slot returns them");
    slots_.x = ad::Tensor<T>(ad::Shape{capacity(), d}, ad::uninitialized);  // every row is copied in below
    lent_ = false;
  }
  // Distinct slots: the rows can be copied in parallel (on two cores each copies the rows it also drew).
  detail::for_each_chain_units(int64_t(batch.slots.size()), d, [&](int64_t r) {
    const int64_t s = batch.slots[size_t(r)];
    std::copy(batch.chains.row(r), batch.chains.row(r) + d, slots_.row(s));
    slots_.rngs[size_t(s)] = batch.chains.rngs[size_t(r)];
  });
}

template <class T>
void ReplayBuffer<T>::save(std::ostream& out) const {
  check_not_lent("save");
  out.write(kMagic, sizeof kMagic);
  const ad::Rng::State s = rng_.state();
  out.write(reinterpret_cast<const char*>(&s.seed), sizeof s.seed);
  out.write(reinterpret_cast<const char*>(&s.stream), sizeof s.stream);
  out.write(reinterpret_cast<const char*>(&s.counter), sizeof s.counter);
  out.write(reinterpret_cast<const char*>(&s.used), sizeof s.used);
  const uint8_t spare = s.has_spare;
  out.write(reinterpret_cast<const char*>(&spare), sizeof spare);
  out.write(reinterpret_cast<const char*>(&s.spare), sizeof s.spare);
  slots_.save(out);
}

template <class T>
void ReplayBuffer<T>::load(std::istream& in) {
  char magic[sizeof kMagic];
  in.read(magic, sizeof magic);
  if (!in || !std::equal(magic, magic + sizeof magic, kMagic))
    throw std::runtime_error("samplers::ReplayBuffer::load: not a replay-buffer blob (bad magic)");
  ad::Rng::State s;
  uint8_t spare = 0;
  in.read(reinterpret_cast<char*>(&s.seed), sizeof s.seed);
  in.read(reinterpret_cast<char*>(&s.stream), sizeof s.stream);
  in.read(reinterpret_cast<char*>(&s.counter), sizeof s.counter);
  in.read(reinterpret_cast<char*>(&s.used), sizeof s.used);
  in.read(reinterpret_cast<char*>(&spare), sizeof spare);
  in.read(reinterpret_cast<char*>(&s.spare), sizeof s.spare);
  if (!in || s.used > 4) throw std::runtime_error("samplers::ReplayBuffer::load: truncated or corrupt blob");
  s.has_spare = spare != 0;
  ChainState<T> slots = ChainState<T>::load(in);
  if (slots.chains() != capacity() || slots.dim() != dim())
    throw std::runtime_error("samplers::ReplayBuffer::load: blob has " + std::to_string(slots.chains()) + " slots of dimension " +
                             std::to_string(slots.dim()) + ", buffer has " + std::to_string(capacity()) + " of dimension " +
                             std::to_string(dim()));
  slots_ = std::move(slots);
  rng_ = ad::Rng(s);
  lent_ = false;
}

template class ReplayBuffer<float>;
template class ReplayBuffer<double>;

}  // namespace samplers
