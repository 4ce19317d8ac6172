// Gibbs samplers against exact enumeration. Each probability is the mean of an indicator over all kept
// sweeps of all chains; |p̂ − p| ≤ 4.5 MCSE (Note [MC tolerance] in test_gaussian.cpp), with the MCSE from
// the ESS of the indicator series (samplers::mcse_mean). For rare states some split chains never visit
// the state, and the diagnostics then return NaN, as Stan does for a constant chain. There the MCSE comes
// from the chains themselves: the 64 chains are independent, so their means are i.i.d. with mean p and
// MCSE = sd(chain means)/√64 (batch means with the chains as batches; with 63 degrees of freedom,
// P(|t| > 4.5) ≈ 3e-5).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "samplers/diagnostics.hpp"
#include "samplers/gibbs.hpp"

using State = samplers::ChainState<double>;

namespace {

double mcse(const samplers::Chains& c) {
  const double m = samplers::mcse_mean(c);
  if (!std::isnan(m)) return m;
  std::vector<double> means;
  double grand = 0;
  for (const auto& chain : c) {
    double s = 0;
    for (double v : chain) s += v;
    means.push_back(s / double(chain.size()));
    grand += means.back() / double(c.size());
  }
  double ss = 0;
  for (double v : means) ss += (v - grand) * (v - grand);
  return std::sqrt(ss / double(means.size() - 1) / double(means.size()));
}

bool verbose() { return std::getenv("EBM_VERBOSE") != nullptr; }

// A fully visible Boltzmann machine p(x) ∝ exp(Σ_{i<j} w_ij x_i x_j + Σ_i b_i x_i), w symmetric, zero diagonal.
class BoltzmannMachine final : public samplers::BinaryConditionals<double> {
 public:
  BoltzmannMachine(std::vector<std::vector<double>> w, std::vector<double> b, samplers::BinaryUnits u)
      : w_(std::move(w)), b_(std::move(b)), units_(u) {}
  int64_t num_units() const override { return int64_t(b_.size()); }
  samplers::BinaryUnits units() const override { return units_; }
  double conditional_logit(const double* x, int64_t i) const override {
    double a = b_[size_t(i)];
    for (size_t j = 0; j < b_.size(); ++j)
      if (int64_t(j) != i) a += w_[size_t(i)][j] * x[j];
    // log p(on)/p(off): on − off is 1 for {0,1} units and 2 for ±1 units.
    return units_ == samplers::BinaryUnits::plus_minus_one ? 2 * a : a;
  }
  double log_weight(const std::vector<double>& x) const {
    double s = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      s += b_[i] * x[i];
      for (size_t j = i + 1; j < x.size(); ++j) s += w_[i][j] * x[i] * x[j];
    }
    return s;
  }

 private:
  std::vector<std::vector<double>> w_;
  std::vector<double> b_;
  samplers::BinaryUnits units_;
};

// The configuration with index `code` (bit i set = unit i on).
std::vector<double> config(int code, int d, double off) {
  std::vector<double> x(static_cast<size_t>(d));
  for (int i = 0; i < d; ++i) x[size_t(i)] = (code >> i) & 1 ? 1.0 : off;
  return x;
}

int code_of(const double* x, int64_t d) {
  int code = 0;
  for (int64_t i = 0; i < d; ++i) code |= (x[i] == 1.0 ? 1 : 0) << i;
  return code;
}

// Checks every state probability and every marginal p(x_i = 1) of the trace against `probs`.
void check_distribution(const std::string& who, const samplers::Trace<double>& tr, const std::vector<double>& probs) {
  const int64_t d = tr.dim();
  auto check = [&](const std::string& what, const std::function<double(const double*)>& f, double truth) {
    const samplers::Chains c = tr.map(f);
    double sum = 0, n = 0;
    for (const auto& chain : c)
      for (double v : chain) sum += v, n += 1;
    const double est = sum / n, se = mcse(c);
    CAPTURE(who);
    CAPTURE(what);
    CAPTURE(est);
    CAPTURE(truth);
    CHECK(std::abs(est - truth) <= 4.5 * se);
    if (verbose()) std::printf("%-10s %-8s est %.4f truth %.4f |err|/mcse %.2f\n", who.c_str(), what.c_str(), est, truth,
                               std::abs(est - truth) / se);
  };
  for (int code = 0; code < int(probs.size()); ++code)
    check("p(x=" + std::to_string(code) + ")", [code, d](const double* x) { return code_of(x, d) == code ? 1.0 : 0.0; },
          probs[size_t(code)]);
  for (int64_t i = 0; i < d; ++i) {
    double p = 0;
    for (int code = 0; code < int(probs.size()); ++code)
      if ((code >> i) & 1) p += probs[size_t(code)];
    check("p(x" + std::to_string(i + 1) + "=1)", [i](const double* x) { return x[i] == 1.0 ? 1.0 : 0.0; }, p);
  }
}

}  // namespace

TEST_CASE("single-site Gibbs on the 3-unit Boltzmann machine matches exact enumeration") {
  // p(x) ∝ exp(w12 x1x2 + w13 x1x3 + w23 x2x3 + b2 x2), x_i ∈ {−1, +1}.
  const BoltzmannMachine bm({{0, -1, -1}, {-1, 0, 2}, {-1, 2, 0}}, {0, 1, 0}, samplers::BinaryUnits::plus_minus_one);
  double z = 0, z_x1 = 0;
  std::vector<double> probs(8);
  for (int code = 0; code < 8; ++code) {
    const double wgt = std::exp(bm.log_weight(config(code, 3, -1)));
    probs[size_t(code)] = wgt;
    z += wgt;
    if (code & 1) z_x1 += wgt;
  }
  for (double& p : probs) p /= z;
  // The published values, to the digits given.
  CHECK(std::abs(z - 172.420) < 5e-4);
  CHECK(std::abs(z_x1 / z - 0.135) < 5e-4);
  if (verbose()) std::printf("BM3: Z = %.6f, p(x1=+1) = %.6f\n", z, z_x1 / z);

  for (auto order : {samplers::ScanOrder::systematic, samplers::ScanOrder::random}) {
    const std::string who = order == samplers::ScanOrder::systematic ? "BM3/sys" : "BM3/rand";
    State s(64, 3, 41);
    samplers::fill_binary(s, samplers::BinaryUnits::plus_minus_one);
    samplers::SingleSiteGibbs<double> gibbs(bm, order);
    gibbs.run(s, 100);
    samplers::Trace<double> tr;
    const auto st = gibbs.run(s, 2000, tr.observer());
    CHECK(st.proposals == 64 * 3 * 2000);
    CHECK(st.nan_proposals == 0);
    check_distribution(who, tr, probs);
  }
}

TEST_CASE("single-site Gibbs on a {0,1} Boltzmann machine matches exact enumeration") {
  const BoltzmannMachine bm({{0, 1.5, -0.5, 0.3}, {1.5, 0, 0.8, -1.2}, {-0.5, 0.8, 0, 0.6}, {0.3, -1.2, 0.6, 0}},
                            {-0.4, 0.2, -0.9, 0.5}, samplers::BinaryUnits::zero_one);
  std::vector<double> probs(16);
  double z = 0;
  for (int code = 0; code < 16; ++code) z += probs[size_t(code)] = std::exp(bm.log_weight(config(code, 4, 0)));
  for (double& p : probs) p /= z;
  State s(64, 4, 42);
  samplers::fill_binary(s, samplers::BinaryUnits::zero_one);
  samplers::SingleSiteGibbs<double> gibbs(bm);
  gibbs.run(s, 100);
  samplers::Trace<double> tr;
  gibbs.run(s, 2000, tr.observer());
  check_distribution("BM4{0,1}", tr, probs);

  State bad(2, 4, 1);  // zeros are fine for {0,1} units; 0.5 is not a unit value
  bad.x[3] = 0.5;
  CHECK_THROWS_AS(gibbs.run(bad, 1), std::invalid_argument);
}

namespace {

// RBM with weights W [V, H], visible bias b, hidden bias c; see conditionals.hpp for both energies.
class Rbm final : public samplers::RbmConditionals<double> {
 public:
  Rbm(int64_t v, int64_t h, samplers::VisibleUnits u, uint64_t seed) : v_(v), h_(h), units_(u) {
    ad::Rng rng(seed, 0);
    w_.resize(size_t(v * h));
    for (double& x : w_) x = 1.2 * rng.normal();
    for (int64_t i = 0; i < v; ++i) b_.push_back(0.5 * rng.normal()), sd_.push_back(0.6 + 0.4 * rng.uniform());
    for (int64_t j = 0; j < h; ++j) c_.push_back(0.5 * rng.normal());
  }
  int64_t num_visible() const override { return v_; }
  int64_t num_hidden() const override { return h_; }
  samplers::VisibleUnits visible_units() const override { return units_; }
  bool gaussian() const { return units_ == samplers::VisibleUnits::gaussian; }
  double w(int64_t i, int64_t j) const { return w_[size_t(i * h_ + j)]; }

  ad::Tensor<double> hidden_mean(const ad::Tensor<double>& v) const override {
    ad::Tensor<double> p(ad::Shape{v.rows(), h_});
    for (int64_t n = 0; n < v.rows(); ++n)
      for (int64_t j = 0; j < h_; ++j) {
        double a = c_[size_t(j)];
        for (int64_t i = 0; i < v_; ++i) a += v.at(n, i) * w(i, j) / (gaussian() ? sd_[size_t(i)] * sd_[size_t(i)] : 1.0);
        p.at(n, j) = 1 / (1 + std::exp(-a));
      }
    return p;
  }
  ad::Tensor<double> visible_mean(const ad::Tensor<double>& h) const override {
    ad::Tensor<double> m(ad::Shape{h.rows(), v_});
    for (int64_t n = 0; n < h.rows(); ++n)
      for (int64_t i = 0; i < v_; ++i) m.at(n, i) = gaussian() ? mean_given(h.data() + n * h_, i) : 1 / (1 + std::exp(-mean_given(h.data() + n * h_, i)));
    return m;
  }
  ad::Tensor<double> visible_stddev() const override { return ad::Tensor<double>(ad::Shape{v_}, sd_.data()); }

  /// b_i + Σ_j W_ij h_j: the Gaussian mean, or the Bernoulli logit.
  double mean_given(const double* h, int64_t i) const {
    double a = b_[size_t(i)];
    for (int64_t j = 0; j < h_; ++j) a += w(i, j) * h[j];
    return a;
  }
  /// Bernoulli–Bernoulli: log of the unnormalised p(v, h) = exp(bᵀv + cᵀh + vᵀWh).
  double log_joint(const double* v, const double* h) const {
    double s = 0;
    for (int64_t i = 0; i < v_; ++i) s += b_[size_t(i)] * v[i];
    for (int64_t j = 0; j < h_; ++j) {
      s += c_[size_t(j)] * h[j];
      for (int64_t i = 0; i < v_; ++i) s += v[i] * w(i, j) * h[j];
    }
    return s;
  }
  /// Gaussian–Bernoulli: log of the unnormalised marginal p(h) = exp(cᵀh + Σ_i ((b_i + (Wh)_i)² − b_i²)/(2σ_i²)),
  /// from completing the square in v.
  double log_hidden_marginal(const double* h) const {
    double s = 0;
    for (int64_t j = 0; j < h_; ++j) s += c_[size_t(j)] * h[j];
    for (int64_t i = 0; i < v_; ++i) {
      const double m = mean_given(h, i), b = b_[size_t(i)], var = sd_[size_t(i)] * sd_[size_t(i)];
      s += (m * m - b * b) / (2 * var);
    }
    return s;
  }
  double sd(int64_t i) const { return sd_[size_t(i)]; }

 private:
  int64_t v_, h_;
  samplers::VisibleUnits units_;
  std::vector<double> w_, b_, c_, sd_;
};

}  // namespace

TEST_CASE("block Gibbs on a Bernoulli-Bernoulli RBM matches its exact visible marginals") {
  const Rbm rbm(4, 3, samplers::VisibleUnits::bernoulli, 7);
  // p(v) = Σ_h p(v, h) over all 2^4 · 2^3 states.
  std::vector<double> probs(16, 0.0);
  double z = 0;
  for (int vc = 0; vc < 16; ++vc)
    for (int hc = 0; hc < 8; ++hc) {
      const auto v = config(vc, 4, 0), h = config(hc, 3, 0);
      const double wgt = std::exp(rbm.log_joint(v.data(), h.data()));
      probs[size_t(vc)] += wgt, z += wgt;
    }
  for (double& p : probs) p /= z;
  State s(64, 4, 43);
  samplers::fill_binary(s, samplers::BinaryUnits::zero_one);
  samplers::BlockGibbs<double> gibbs(rbm);
  gibbs.run(s, 100);
  samplers::Trace<double> tr;
  const auto st = gibbs.run(s, 2000, tr.observer());
  CHECK(st.accepted == 64 * 2000);
  CHECK(gibbs.hidden().rows() == 64);
  CHECK(gibbs.hidden().cols() == 3);
  check_distribution("RBM-BB", tr, probs);
}

TEST_CASE("block Gibbs over hidden chains on a Bernoulli-Bernoulli RBM: its states and its visible draws match the exact marginals") {
  // Hidden chains (scikit-learn's PCD): the state is h, a sweep draws v | h, then h | v. The states must follow
  // p(h), and the visible draws handed out after each sweep p(v).
  const Rbm rbm(4, 3, samplers::VisibleUnits::bernoulli, 7);
  std::vector<double> pv(16, 0.0), ph(8, 0.0);
  double z = 0;
  for (int vc = 0; vc < 16; ++vc)
    for (int hc = 0; hc < 8; ++hc) {
      const auto v = config(vc, 4, 0), h = config(hc, 3, 0);
      const double wgt = std::exp(rbm.log_joint(v.data(), h.data()));
      pv[size_t(vc)] += wgt, ph[size_t(hc)] += wgt, z += wgt;
    }
  for (double& p : pv) p /= z;
  for (double& p : ph) p /= z;
  State s(64, 3, 45);
  samplers::fill_binary(s, samplers::BinaryUnits::zero_one);
  samplers::BlockGibbs<double> gibbs(rbm, samplers::RbmChainUnits::hidden);
  CHECK(gibbs.chain_units() == samplers::RbmChainUnits::hidden);
  gibbs.run(s, 100);
  samplers::Trace<double> hidden_states, visible_draws;
  const samplers::Observer<double> keep_visible = visible_draws.observer(), keep_hidden = hidden_states.observer();
  int64_t accepted = 0;
  for (int64_t t = 0; t < 2000; ++t) {
    accepted += gibbs.run(s, 1).accepted;
    keep_hidden(t, s);
    samplers::ChainState<double> v;
    v.x = gibbs.take_visible();
    REQUIRE(v.x.shape() == ad::Shape{64, 4});
    keep_visible(t, v);
  }
  CHECK(accepted == 64 * 2000);
  check_distribution("RBM-BB h", hidden_states, ph);
  check_distribution("RBM-BB v|h", visible_draws, pv);
  State wrong(8, 4, 46);  // visible-sized states are refused
  CHECK_THROWS_AS(gibbs.run(wrong, 1), std::invalid_argument);
}

TEST_CASE("block Gibbs on a Gaussian-Bernoulli RBM matches its exact visible moments") {
  const Rbm rbm(2, 3, samplers::VisibleUnits::gaussian, 8);
  // v | h ~ N(b + Wh, diag σ²), so E[v_i] = Σ_h p(h) m_i(h), E[v_i²] = Σ_h p(h) (σ_i² + m_i(h)²),
  // E[v_1 v_2] = Σ_h p(h) m_1(h) m_2(h).
  double z = 0, ev[2] = {0, 0}, ev2[2] = {0, 0}, ev12 = 0;
  for (int hc = 0; hc < 8; ++hc) {
    const auto h = config(hc, 3, 0);
    const double wgt = std::exp(rbm.log_hidden_marginal(h.data()));
    const double m0 = rbm.mean_given(h.data(), 0), m1 = rbm.mean_given(h.data(), 1);
    z += wgt;
    ev[0] += wgt * m0, ev[1] += wgt * m1;
    ev2[0] += wgt * (rbm.sd(0) * rbm.sd(0) + m0 * m0), ev2[1] += wgt * (rbm.sd(1) * rbm.sd(1) + m1 * m1);
    ev12 += wgt * m0 * m1;
  }
  const double truth[5] = {ev[0] / z, ev[1] / z, ev2[0] / z, ev12 / z, ev2[1] / z};
  State s(64, 2, 44);
  s.fill_normal();
  samplers::BlockGibbs<double> gibbs(rbm);
  gibbs.run(s, 100);
  samplers::Trace<double> tr;
  gibbs.run(s, 2000, tr.observer());
  const std::function<double(const double*)> f[5] = {[](const double* x) { return x[0]; },
                                                      [](const double* x) { return x[1]; },
                                                      [](const double* x) { return x[0] * x[0]; },
                                                      [](const double* x) { return x[0] * x[1]; },
                                                      [](const double* x) { return x[1] * x[1]; }};
  const char* names[5] = {"E v1", "E v2", "E v1^2", "E v1v2", "E v2^2"};
  for (int k = 0; k < 5; ++k) {
    const samplers::Chains c = tr.map(f[k]);
    double sum = 0, n = 0;
    for (const auto& chain : c)
      for (double v : chain) sum += v, n += 1;
    const double est = sum / n, mcse = samplers::mcse_mean(c);
    CAPTURE(names[k]);
    CHECK(std::abs(est - truth[k]) <= 4.5 * mcse);
    if (verbose()) std::printf("RBM-GB     %-8s est %.4f truth %.4f |err|/mcse %.2f\n", names[k], est, truth[k], std::abs(est - truth[k]) / mcse);
  }
}

namespace {

// Conditionals whose hidden means are 1/2 except one special value per chain: the value of chain c is
// specials[c % size], at a position that moves with c (the start, the middle and the tail of the rows).
template <class T>
class SpecialMeans final : public samplers::RbmConditionals<T> {
 public:
  explicit SpecialMeans(std::vector<T> specials) : specials_(std::move(specials)) {}
  int64_t num_visible() const override { return 37; }
  int64_t num_hidden() const override { return 19; }
  samplers::VisibleUnits visible_units() const override { return samplers::VisibleUnits::bernoulli; }
  ad::Tensor<T> hidden_mean(const ad::Tensor<T>& v) const override {
    ad::Tensor<T> p(ad::Shape{v.rows(), 19});
    for (T& x : p) x = T(0.5);
    for (int64_t c = 0; c < v.rows(); ++c) p.at(c, (5 * c) % 19) = specials_[size_t(c) % specials_.size()];
    return p;
  }
  ad::Tensor<T> visible_mean(const ad::Tensor<T>& h) const override {
    ad::Tensor<T> m(ad::Shape{h.rows(), 37});
    for (T& x : m) x = T(0.5);
    return m;
  }

 private:
  std::vector<T> specials_;
};

template <class T>
void check_rejects_exactly_the_non_finite() {
  using L = std::numeric_limits<T>;
  const std::vector<T> specials{L::quiet_NaN(), L::max(),    L::infinity(),   L::denorm_min(), -L::infinity(),
                                T(-0.0),        L::lowest(), -L::quiet_NaN(), T(1),            L::min()};
  const std::vector<bool> expect{false, true, false, true, false, true, true, false, true, true};  // finite?
  const SpecialMeans<T> model(specials);
  const int64_t chains = 40;
  samplers::ChainState<T> s(chains, 37, 5);
  for (T& x : s.x) x = T(0.25);  // not a 0/1 state: an accepted sweep always changes it
  samplers::BlockGibbs<T> gibbs(model);
  const auto st = gibbs.run(s, 1);
  int64_t rejected = 0;
  for (int64_t c = 0; c < chains; ++c) {
    const bool kept = s.row(c)[0] == T(0.25);
    CHECK_MESSAGE(kept == !expect[size_t(c) % expect.size()], "chain ", c, " with special value ", double(specials[size_t(c) % specials.size()]));
    rejected += kept;
  }
  CHECK(st.nan_proposals == rejected);
  CHECK(rejected == 4 * chains / 10);
}

}  // namespace

TEST_CASE("block Gibbs rejects exactly the chains whose conditional means are not finite (float and double)") {
  check_rejects_exactly_the_non_finite<float>();
  check_rejects_exactly_the_non_finite<double>();
}
