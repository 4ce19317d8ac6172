#include "samplers/svgd.hpp"

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "autodiff/linalg.hpp"
#include "kernels.hpp"

namespace samplers {

namespace {

// Kernel values per block when svgd_block_rows chooses: 2^18 (2 MiB of doubles) stays in a core's cache.
constexpr int64_t kBlockValues = int64_t{1} << 18;
// Fewer rows would leave the Gram product too narrow for the packed matmul kernel to pay off.
constexpr int64_t kMinBlockRows = 32;

// x [n, d] minus its column means (summed serially, in row order: the same bits on any thread count), and the
// squared norms of the centred rows (Note [SVGD blocks]).
template <class T>
void centre(const T* x, int64_t n, int64_t d, ad::Tensor<T>& xc, std::vector<T>& sq) {
  std::vector<double> mean(size_t(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) mean[size_t(k)] += double(x[i * d + k]);
  for (double& m : mean) m /= double(n);
  xc = ad::Tensor<T>(ad::Shape{n, d}, ad::uninitialized);
  sq.resize(size_t(n));
  detail::for_each_chain_units(n, d, [&](int64_t i) {
    double s = 0;
    for (int64_t k = 0; k < d; ++k) {
      const T v = T(double(x[i * d + k]) - mean[size_t(k)]);
      xc.data()[i * d + k] = v;
      s += double(v) * double(v);
    }
    sq[size_t(i)] = T(s);
  });
}

// Squared distances between rows [r, r + rows) and all n rows of the centred positions, into dist [rows, n]:
// one Gram product, then ‖x_i‖² + ‖x_j‖² − 2 x_i·x_j, clamped at 0 (rounding can take it below), and exactly 0
// on the diagonal.
template <class T>
void distance_block(const ad::Tensor<T>& xc, const std::vector<T>& sq, int64_t r, int64_t rows, T* dist) {
  const int64_t n = xc.rows(), d = xc.cols();
  ad::matmul_into(false, true, rows, n, d, xc.data() + r * d, xc.data(), dist, false);
  detail::for_each_chain_units(rows, n, [&](int64_t a) {
    T* row = dist + a * n;
    const T sa = sq[size_t(r + a)];
    for (int64_t j = 0; j < n; ++j) row[j] = std::max(T(0), sa + sq[size_t(j)] - T(2) * row[j]);
    row[r + a] = T(0);
  });
}

// k = exp(−scale·dist²) in place over `rows` rows of n squared distances, in SIMD batches (the exp is most of a
// step's work). The last partial batch of a row is padded to a full one, so every value goes through the same
// instructions: a particle's kernel values do not depend on which block or thread computes them.
template <class T>
void kernel_values(T* dist, int64_t rows, int64_t n, T scale) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  detail::for_each_chain_units(rows, n * 4, [&](int64_t a) {
    T* row = dist + a * n;
    const B s(scale);
    int64_t j = 0;
    for (; j + W <= n; j += W) xsimd::exp(B::load_unaligned(row + j) * s).store_unaligned(row + j);
    if (j < n) {
      alignas(64) T buf[W] = {};
      std::copy(row + j, row + n, buf);
      xsimd::exp(B::load_aligned(buf) * s).store_aligned(buf);
      std::copy(buf, buf + (n - j), row + j);
    }
  });
}

}  // namespace

int64_t svgd_block_rows(int64_t n, int64_t requested) {
  if (n <= 0) return 0;
  if (requested > 0) return std::min(requested, n);
  return std::min(n, std::max(kMinBlockRows, kBlockValues / n));
}

template <class T>
double svgd_median_bandwidth(const ad::Tensor<T>& x) {
  const int64_t n_all = x.rows(), d = x.cols();
  if (n_all < 2) return 1.0;
  // Particles at evenly spaced indices when there are many (Note [SVGD bandwidth]).
  const int64_t m = std::min(n_all, kSvgdMedianParticles);
  ad::Tensor<T> sub(ad::Shape{m, d}, ad::uninitialized);
  for (int64_t a = 0; a < m; ++a) {
    const int64_t i = a * n_all / m;
    std::copy(x.data() + i * d, x.data() + (i + 1) * d, sub.data() + a * d);
  }
  ad::Tensor<T> xc;
  std::vector<T> sq;
  centre(sub.data(), m, d, xc, sq);
  std::vector<T> pairs;
  pairs.reserve(size_t(m * (m - 1) / 2));
  const int64_t b = svgd_block_rows(m);
  std::vector<T> dist(size_t(b * m));
  for (int64_t r = 0; r < m; r += b) {
    const int64_t rows = std::min(b, m - r);
    distance_block(xc, sq, r, rows, dist.data());
    for (int64_t a = 0; a < rows; ++a)
      pairs.insert(pairs.end(), dist.begin() + a * m + r + a + 1, dist.begin() + (a + 1) * m);  // j > i only
  }
  const size_t half = pairs.size() / 2;
  std::nth_element(pairs.begin(), pairs.begin() + long(half), pairs.end());
  double med2 = double(pairs[half]);
  if (pairs.size() % 2 == 0) med2 = 0.5 * (med2 + double(*std::max_element(pairs.begin(), pairs.begin() + long(half))));
  const double h = med2 / std::log(double(n_all) + 1);
  return h > 0 && std::isfinite(h) ? h : 1.0;
}

template <class T>
void svgd_direction(const ad::Tensor<T>& x, const ad::Tensor<T>& grad, double bandwidth, int64_t block_rows,
                    ad::Tensor<T>& phi) {
  const int64_t n = x.rows(), d = x.cols();
  if (x.rank() != 2 || grad.shape() != x.shape())
    throw std::invalid_argument("samplers::svgd_direction: positions and gradients must have one shape [n, d], got " +
                                x.shape().str() + " and " + grad.shape().str());
  if (!(bandwidth > 0) || !std::isfinite(bandwidth))
    throw std::invalid_argument("samplers::svgd_direction: bandwidth must be positive and finite");
  if (phi.shape() != x.shape()) phi = ad::Tensor<T>(x.shape(), ad::uninitialized);
  if (n == 0) return;
  ad::Tensor<T> xc;
  std::vector<T> sq;
  centre(x.data(), n, d, xc, sq);
  // The right-hand side [−G | X | 1] of the second product (Note [SVGD blocks]).
  const int64_t w = 2 * d + 1;
  ad::Tensor<T> rhs(ad::Shape{n, w}, ad::uninitialized);
  detail::for_each_chain_units(n, w, [&](int64_t j) {
    T* row = rhs.data() + j * w;
    for (int64_t k = 0; k < d; ++k) row[k] = -grad.data()[j * d + k], row[d + k] = xc.data()[j * d + k];
    row[2 * d] = T(1);
  });
  const int64_t b = svgd_block_rows(n, block_rows);
  std::vector<T> kern(size_t(b * n)), prod(size_t(b * w));
  const double inv_h = 1 / bandwidth, repulse = 2 / bandwidth, inv_n = 1 / double(n);
  for (int64_t r = 0; r < n; r += b) {
    const int64_t rows = std::min(b, n - r);
    distance_block(xc, sq, r, rows, kern.data());
    kernel_values(kern.data(), rows, n, T(-inv_h));
    ad::matmul_into(false, false, rows, w, n, kern.data(), rhs.data(), prod.data(), false);
    detail::for_each_chain_units(rows, d, [&](int64_t a) {
      const T* p = prod.data() + a * w;
      const T* xi = xc.data() + (r + a) * d;
      T* out = phi.data() + (r + a) * d;
      const double s = double(p[2 * d]);  // Σ_j k(x_j, x_i)
      for (int64_t k = 0; k < d; ++k)
        out[k] = T(inv_n * (double(p[k]) + repulse * (s * double(xi[k]) - double(p[d + k]))));
    });
  }
}

template <class T>
Svgd<T>::Svgd(BatchEnergy<T> energy, SvgdOptions options) : energy_(std::move(energy)), options_(options) {
  if (!(options_.step_size > 0) || !std::isfinite(options_.step_size))
    throw std::invalid_argument("samplers::Svgd: step_size must be positive and finite");
  if (!(options_.bandwidth >= 0) || !std::isfinite(options_.bandwidth))
    throw std::invalid_argument("samplers::Svgd: bandwidth must be finite and non-negative (0: median heuristic)");
  if (options_.block_rows < 0) throw std::invalid_argument("samplers::Svgd: block_rows must be non-negative (0: automatic)");
}

template <class T>
SamplerStats Svgd<T>::run(ChainState<T>& state, int64_t steps, const Observer<T>& observe) {
  const int64_t n = state.chains(), d = state.dim();
  detail::check_batch("Svgd", n, d);
  SamplerStats stats;
  stats.step_size = options_.step_size;
  if (steps <= 0) return stats;
  detail::Workspace<T> w;
  w.init(eval_, energy_, state, true);  // not cached across calls: the energy may have changed since
  // Note [Checked SVGD moves]: only particles with a finite position, energy and gradient interact.
  std::vector<uint8_t> live(static_cast<size_t>(n));
  for (int64_t c = 0; c < n; ++c)
    live[size_t(c)] = ad::all_finite(state.row(c), d) && std::isfinite(w.e[size_t(c)]) && ad::all_finite(w.g.data() + c * d, d);
  std::vector<int64_t> index;
  for (int64_t c = 0; c < n; ++c)
    if (live[size_t(c)]) index.push_back(c);
  const int64_t m = int64_t(index.size());
  ad::Tensor<T> xs(ad::Shape{m, d}), gs(ad::Shape{m, d}), phi;
  detail::StepFlags flags;
  for (int64_t t = 0; t < steps; ++t) {
    flags.reset(n);
    std::copy(state.x.begin(), state.x.end(), w.prop.begin());
    if (m > 0) {
      for (int64_t a = 0; a < m; ++a) {
        std::copy(state.row(index[size_t(a)]), state.row(index[size_t(a)]) + d, xs.data() + a * d);
        std::copy(w.g.data() + index[size_t(a)] * d, w.g.data() + (index[size_t(a)] + 1) * d, gs.data() + a * d);
      }
      bandwidth_ = options_.bandwidth > 0 ? options_.bandwidth : svgd_median_bandwidth(xs);
      svgd_direction(xs, gs, bandwidth_, options_.block_rows, phi);
      const double eps = options_.step_size;
      detail::for_each_chain_units(m, d, [&](int64_t a) {
        T* p = w.prop.data() + index[size_t(a)] * d;
        const T* f = phi.data() + a * d;
        for (int64_t k = 0; k < d; ++k) p[k] = T(double(p[k]) + eps * double(f[k]));
      });
    }
    eval_.energy_grad(energy_, w.prop, w.e_new, w.g_new);
    detail::take_checked_moves(state, w, flags, live.data(),
                               [d](int64_t n_, const auto& f) { detail::for_each_chain_units(n_, d, f); });
    flags.add_to(stats);
    if (observe) observe(t, state);
  }
  return stats;
}

template double svgd_median_bandwidth(const ad::Tensor<float>&);
template double svgd_median_bandwidth(const ad::Tensor<double>&);
template void svgd_direction(const ad::Tensor<float>&, const ad::Tensor<float>&, double, int64_t, ad::Tensor<float>&);
template void svgd_direction(const ad::Tensor<double>&, const ad::Tensor<double>&, double, int64_t, ad::Tensor<double>&);
template class Svgd<float>;
template class Svgd<double>;

}  // namespace samplers
