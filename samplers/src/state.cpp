#include "samplers/state.hpp"

#include <cstring>
#include <istream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "kernels.hpp"

namespace samplers {
namespace {

// Blob layout (native endianness; a checkpoint is read back on the machine family that wrote it):
//   "EBMCHAIN" | u32 version | u32 sizeof(T) | i64 rows | i64 cols | T values[rows*cols]
//   | u64 number of generators | per generator: u64 seed, stream, counter | u32 used | u8 has_spare | f64 spare
constexpr char kMagic[8] = {'E', 'B', 'M', 'C', 'H', 'A', 'I', 'N'};
constexpr uint32_t kVersion = 1;

template <class V>
void put(std::ostream& out, const V& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof(V));
}
template <class V>
V get(std::istream& in) {
  V v{};
  in.read(reinterpret_cast<char*>(&v), sizeof(V));
  if (!in) throw std::runtime_error("samplers::ChainState::load: truncated blob");
  return v;
}

}  // namespace

template <class T>
ChainState<T>::ChainState(int64_t chains, int64_t dim, uint64_t seed)
    : x(ad::Shape{chains, dim}), rngs(size_t(chains)) {
  detail::check_batch("ChainState", chains, dim);
  for (int64_t c = 0; c < chains; ++c) rngs[size_t(c)] = ad::Rng(seed, uint64_t(c));
}

template <class T>
ChainState<T>::ChainState(const ad::Tensor<T>& positions, uint64_t seed) : x(positions) {
  if (positions.rank() != 2)
    throw std::invalid_argument("samplers::ChainState: positions must have shape [chains, dim], got " +
                                positions.shape().str());
  rngs.resize(size_t(chains()));
  for (int64_t c = 0; c < chains(); ++c) rngs[size_t(c)] = ad::Rng(seed, uint64_t(c));
}

template <class T>
void ChainState<T>::fill_normal(double mean, double sd) {
  detail::for_each_chain(chains(), [&](int64_t c) {
    for (int64_t k = 0; k < dim(); ++k) row(c)[k] = T(mean + sd * rngs[size_t(c)].normal());
  });
}

template <class T>
void ChainState<T>::fill_uniform(double lo, double hi) {
  detail::for_each_chain(chains(), [&](int64_t c) {
    for (int64_t k = 0; k < dim(); ++k) row(c)[k] = T(lo + (hi - lo) * rngs[size_t(c)].uniform());
  });
}

template <class T>
void ChainState<T>::save(std::ostream& out) const {
  out.write(kMagic, sizeof kMagic);
  put(out, kVersion);
  put(out, uint32_t(sizeof(T)));
  put(out, int64_t(x.rank() == 2 ? chains() : 0));
  put(out, int64_t(x.rank() == 2 ? dim() : 0));
  if (x.rank() == 2) out.write(reinterpret_cast<const char*>(x.data()), std::streamsize(x.numel() * sizeof(T)));
  put(out, uint64_t(rngs.size()));
  for (const ad::Rng& r : rngs) {
    const ad::Rng::State s = r.state();
    put(out, s.seed), put(out, s.stream), put(out, s.counter), put(out, s.used);
    put(out, uint8_t(s.has_spare)), put(out, s.spare);
  }
  if (!out) throw std::runtime_error("samplers::ChainState::save: write failed");
}

template <class T>
ChainState<T> ChainState<T>::load(std::istream& in) {
  char magic[sizeof kMagic];
  in.read(magic, sizeof magic);
  if (!in || std::memcmp(magic, kMagic, sizeof kMagic) != 0)
    throw std::runtime_error("samplers::ChainState::load: not a chain-state blob (bad magic)");
  if (const auto v = get<uint32_t>(in); v != kVersion)
    throw std::runtime_error("samplers::ChainState::load: unsupported version " + std::to_string(v));
  if (const auto size = get<uint32_t>(in); size != sizeof(T))
    throw std::runtime_error("samplers::ChainState::load: blob holds " + std::to_string(size) +
                             "-byte values but this state has " + std::to_string(sizeof(T)) + "-byte values");
  const auto rows = get<int64_t>(in), cols = get<int64_t>(in);
  if (rows < 0 || cols < 0 || (cols > 0 && rows > (int64_t(1) << 40) / cols))
    throw std::runtime_error("samplers::ChainState::load: implausible shape");
  ChainState s;
  s.x = ad::Tensor<T>(ad::Shape{rows, cols});
  in.read(reinterpret_cast<char*>(s.x.data()), std::streamsize(s.x.numel() * sizeof(T)));
  if (!in) throw std::runtime_error("samplers::ChainState::load: truncated blob");
  const auto n = get<uint64_t>(in);
  if (n != uint64_t(rows))
    throw std::runtime_error("samplers::ChainState::load: " + std::to_string(n) + " generators for " +
                             std::to_string(rows) + " chains");
  s.rngs.resize(size_t(n));
  for (ad::Rng& r : s.rngs) {
    ad::Rng::State st;
    st.seed = get<uint64_t>(in), st.stream = get<uint64_t>(in), st.counter = get<uint64_t>(in);
    st.used = get<uint32_t>(in);
    st.has_spare = get<uint8_t>(in) != 0;
    st.spare = get<double>(in);
    if (st.used > 4) throw std::runtime_error("samplers::ChainState::load: corrupt generator state");
    r = ad::Rng(st);
  }
  return s;
}

template <class T>
std::vector<uint8_t> ChainState<T>::to_bytes() const {
  std::ostringstream out(std::ios::binary);
  save(out);
  const std::string s = out.str();
  return std::vector<uint8_t>(s.begin(), s.end());
}

template <class T>
ChainState<T> ChainState<T>::from_bytes(const std::vector<uint8_t>& bytes) {
  std::istringstream in(std::string(bytes.begin(), bytes.end()), std::ios::binary);
  return load(in);
}

SamplerStats& SamplerStats::operator+=(const SamplerStats& later) {
  proposals += later.proposals;
  accepted += later.accepted;
  nan_proposals += later.nan_proposals;
  divergences += later.divergences;
  step_size = later.step_size;
  temperature = later.temperature;
  if (!later.swap_rates.empty()) swap_rates = later.swap_rates;
  if (!later.level_accept_rates.empty()) level_accept_rates = later.level_accept_rates;
  if (!later.level_step_sizes.empty()) level_step_sizes = later.level_step_sizes;
  return *this;
}

template <class T>
void Trace<T>::record(const ChainState<T>& state) {
  const int64_t rows = rows_ < 0 ? state.chains() - first_ : rows_;
  if (first_ < 0 || rows <= 0 || first_ + rows > state.chains())
    throw std::invalid_argument("samplers::Trace: rows [" + std::to_string(first_) + ", " +
                                std::to_string(first_ + rows) + ") outside a state of " +
                                std::to_string(state.chains()) + " chains");
  if (data_.empty()) {
    data_.resize(size_t(rows));
    dim_ = state.dim();
  } else if (int64_t(data_.size()) != rows || dim_ != state.dim()) {
    throw std::invalid_argument("samplers::Trace: the state changed shape between records");
  }
  for (int64_t c = 0; c < rows; ++c) {
    const T* x = state.row(first_ + c);
    data_[size_t(c)].insert(data_[size_t(c)].end(), x, x + dim_);
  }
  ++draws_;
}

template <class T>
Chains Trace<T>::coordinate(int64_t k) const {
  return map([k](const double* x) { return x[k]; });
}

template <class T>
Chains Trace<T>::map(const std::function<double(const double* x)>& f) const {
  Chains out(data_.size(), std::vector<double>(size_t(draws_)));
  for (size_t c = 0; c < data_.size(); ++c)
    for (int64_t t = 0; t < draws_; ++t) out[c][size_t(t)] = f(data_[c].data() + t * dim_);
  return out;
}

template <class T>
std::vector<Summary> Trace<T>::summary() const {
  std::vector<Summary> out;
  for (int64_t k = 0; k < dim_; ++k) out.push_back(summarize(coordinate(k)));
  return out;
}

namespace detail {
void check_batch(const char* who, int64_t chains, int64_t dim) {
  if (chains <= 0 || dim <= 0)
    throw std::invalid_argument(std::string("samplers::") + who + ": need at least one chain of dimension >= 1, got " +
                                std::to_string(chains) + " chains of dimension " + std::to_string(dim));
}
}  // namespace detail

template struct ChainState<float>;
template struct ChainState<double>;
template class Trace<float>;
template class Trace<double>;

}  // namespace samplers
