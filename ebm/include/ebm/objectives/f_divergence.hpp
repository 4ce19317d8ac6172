#pragma once
// f-EBM (Yu, Song, Song & Ermon, ICML 2020): training an energy-based model q_θ ∝ exp(−E_θ) by minimising
// an f-divergence D_f(p‖q_θ) = E_q[f(p/q)], through the variational form of their Theorem 2.
//
// Derivation (re-derived here; the extracted Theorem 3 of the paper lost a term and its signs).
// Write u(x) = H_ω(x) + E_θ(x) for the log of the density-ratio estimate r = p/q_θ ≈ e^u. Theorem 2:
//   L(θ, ω) = E_p[T(u)] − E_{q_θ}[F(u)],   T(u) = f'(e^u),   F(u) = f*(f'(e^u)) = e^u f'(e^u) − f(e^u)
// (the last equality is the Fenchel–Young equality for differentiable convex f). For every f the bound is
// tight at H* = log(p Z_θ), i.e. at u = log(p/q_θ); so e^{H+E} is the density ratio whichever f is used.
// The game is min_θ max_ω L. For ω the expectations do not depend on ω, so samples give ∇ω directly.
// For θ the law q_θ depends on θ too; with ∇θ log q_θ = −∇θE_θ + E_q[∇θE_θ]:
//   ∇θ L = E_p[∇θ T(u)] − E_q[∇θ F(u)] + E_q[F(u) ∇θE_θ] − E_q[F(u)] E_q[∇θE_θ]          (Theorem 3)
// The last two terms are the covariance of F and ∇θE under q. We obtain exactly this estimator as the
// gradient of a self-normalised importance-weighted bound: with samples y_1..y_m from q_θ₀,
//   L̂(θ, ω) = mean_p T(u(x)) − Σ_i w_i F(u(y_i)),   w = softmax_i(−E_θ(y_i) + E_θ₀(y_i)),
// whose value at θ = θ₀ is the plain Monte Carlo bound (w_i = 1/m) and whose gradient at θ₀ is the
// estimator above (∇w_i = w_i(−∇E_i + Σ_j w_j ∇E_j)). In loss(), θ₀ = stop_gradient(θ).
//
// One surrogate for one optimiser (Algorithm 1's two single-step updates become one step):
//   S = L̂(θ, sg ω) − L̂(sg θ, ω) + sg(L̂(sg θ, ω)),
// so ∇θ S = ∇θ L̂ (descent for θ), ∇ω S = −∇ω L̂ (ascent for ω), and the value of S is the current
// variational estimate of D_f (a lower bound when ω is not optimal), which the log shows as "loss".
// (ω, θ) ↦ (∇θ L̂, −∇ω L̂) is not the gradient of any function, so `ebm check-grad`, which compares the
// surrogate's gradient with finite differences of its value, must fail here; bound() is what to gradcheck.
//
// Samples from q_θ. The estimator assumes exact draws from q_θ. For a GaussianEnergy they are exact
// (N(μ, Σ) from its parameters: Z_θ is never used). For any other energy we run a short Metropolis-adjusted
// Langevin chain (samplers::Mala, exact only in the limit of long chains) started at data rows: this is
// contrastive-divergence style, biased towards p when the chain is short; the bias is the price of a general
// energy, and is reported here, not hidden.
// Status: only the exact (Gaussian) path is validated by tests. A trial with an MLP energy on the 1-D
// mixture (examples/mixture_1d_f_ebm.json with model.type = mlp) diverged, with unadjusted Langevin and with
// MALA alike: u = H + E on the chains' draws fell without bound (to −10⁵ within 500 steps); with an output
// bias in E, the pair (E's level, H's level) is also a flat direction of the game (u only sees their sum)
// along which gradient play can drift. A replay buffer, longer chains and anchoring E's level are the
// obvious next steps; not done here.
//
// Note [Bounded exponents]: T and F exponentiate u (Pearson's F(u) = e^{2u} − 1, Neyman's T(u) = 1 − e^{−2u},
// α-divergences' e^{αu}). Early in training H_ω ≈ 0, so u ≈ E_θ, and the expectation of such an exponential can
// be infinite: for q = N(0, 1), E_q[e^{2u}] = E_q[e^{x²}] = ∞. Its Monte Carlo estimate is then dominated by
// single draws, and so are the gradients. Measured on the paper's 1-D experiment with its settings (Adam at 0.01,
// no clipping, from (μ, σ) = (0, 1)): Pearson stopped at (0.07, 1.14), its minimiser being (0.57, 1.93), and SGD
// stepped to a non-finite σ. As the authors' code does, the exponents are bounded: with `up` and `down` the largest
// rates at which T and F exponentiate +u and −u (FDivergenceSpec::exponent_rates: Pearson (2, 0), Neyman (0, 2),
// KL (1, 0), reverse KL (0, 1), JS none), T and F see
//   ū = u                                      for lo ≤ u ≤ hi,   hi = K / up,  lo = −K / down,
//   ū = hi + (1 − e^{−up (u − hi)}) / up       above hi (and the mirror image below lo),
// so every exponent stays below K + 1 (K = exponent_bound, default 4; 0 turns it off), ū is smooth and increasing
// (a point beyond the bound still has a gradient, which keeps a far-away mode pulling), and ū = u wherever the
// bound does not bite. The same ū in T and F keeps L̂ a valid lower bound on D_f for every θ and ω (it is the
// variational bound with the critic T(ū(x)); Theorem 2 holds for any critic), and it is tight while the true log
// ratio log p/q_θ stays inside [lo, hi]: for Pearson below 2, i.e. p/q_θ < e² where the data and draws are. At the
// minimisers of both 1-D experiments in tests/ebm/test_f_ebm.cpp the largest log ratio on the data is about 1.3 to
// 2.1 (at the narrow component). Tried and measured on those experiments: a hard clamp of u (no gradient beyond
// the bound) left Pearson far from its minimiser when training started with a mode outside the bound; a bound on
// both sides for every divergence stalled reverse KL, which must cross a region where p ≈ 0.
//
// The variational function H_ω is an MLP (widths {d, hidden..., 1}); its parameters are extra_params().
// Terms: "divergence" (L̂, the variational D_f estimate), "data_term" (mean_p T), "model_term" (mean_q F),
// "log_ratio_data" (mean of u on data: ≈ KL(p‖q) when the ratio is learnt), "log_ratio_model".
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ebm/enum_names.hpp"
#include "ebm/models/mlp.hpp"
#include "ebm/objectives/objective.hpp"

namespace ebm {

enum class FDivergence { kl, reverse_kl, jensen_shannon, squared_hellinger, pearson, neyman, alpha };
/// The divergences' names, as configs spell them.
inline constexpr EnumName<FDivergence> kFDivergenceNames[] = {
    {"kl", FDivergence::kl},         {"reverse_kl", FDivergence::reverse_kl}, {"jensen_shannon", FDivergence::jensen_shannon},
    {"squared_hellinger", FDivergence::squared_hellinger}, {"pearson", FDivergence::pearson}, {"neyman", FDivergence::neyman},
    {"alpha", FDivergence::alpha}};

std::string to_string(FDivergence k);
/// A name of kFDivergenceNames; throws std::invalid_argument otherwise.
FDivergence f_divergence_from_string(std::string_view s);

/// One f-divergence (the generator f with f(1) = 0, strictly convex) and the two functions of u = log r that
/// f-EBM needs. The table, with r = e^u:
///   name               f(r)                                   T(u) = f'(r)          F(u) = f*(T(u))
///   kl                 r log r                                u + 1                 e^u
///   reverse_kl         −log r                                 −e^{−u}               u − 1
///   jensen_shannon     ½[r log r − (r+1) log((r+1)/2)]        ½(log 2 − softplus(−u))  ½(softplus(u) − log 2)
///   squared_hellinger  (√r − 1)²                              1 − e^{−u/2}          e^{u/2} − 1
///   pearson            (r − 1)²                               2(e^u − 1)            e^{2u} − 1
///   neyman             (1 − r)²/r                             1 − e^{−2u}           2 − 2e^{−u}
///   alpha (α ∉ {0,1})  (r^α − 1 − α(r − 1)) / (α(α − 1))      (e^{(α−1)u} − 1)/(α−1)  (e^{αu} − 1)/α
/// Jensen–Shannon is halved so that D_f is the JS divergence itself (≤ log 2; Nowozin et al.'s generator is
/// twice this). α = 2 is half Pearson, α → 1 is KL, α → 0 reverse KL, α = ½ is 2× squared Hellinger.
struct FDivergenceSpec {
  FDivergence kind = FDivergence::kl;
  double alpha = 0.5;  // used by kind == alpha only

  /// Throws std::invalid_argument for α ∈ {0, 1} (use kl / reverse_kl) or a non-finite α.
  void validate() const;
  std::string name() const;
  /// The generator f(r), r ≥ 0 (+∞ where f is infinite, e.g. reverse KL at 0).
  double f(double r) const;
  /// The Fenchel conjugate f*(t) = sup_r t r − f(r), on the range of f' (+∞ outside the domain).
  double conjugate(double t) const;
  /// The largest rates (up, down) at which T or F grows like e^{up·u} as u → ∞ or e^{down·(−u)} as u → −∞
  /// (0: no exponential growth on that side); Note [Bounded exponents].
  std::pair<double, double> exponent_rates() const;
  /// T(u) = f'(e^u), elementwise.
  template <class T>
  ad::Var<T> critic(const ad::Var<T>& u) const;
  /// F(u) = f*(f'(e^u)), elementwise.
  template <class T>
  ad::Var<T> conjugate_of_critic(const ad::Var<T>& u) const;
};

struct FEbmOptions {
  FDivergenceSpec divergence;
  std::vector<int64_t> hidden{64, 64};  // H_ω's hidden widths (the paper's 1-D experiment: 2 × 64, tanh)
  Activation activation = Activation::tanh;
  int64_t model_samples = 0;            // draws from q_θ per batch; 0: as many as the batch has rows
  // Non-Gaussian energies only: a short MALA run from data rows (see the header comment).
  int64_t langevin_steps = 20;
  double langevin_step_size = 0.01;
  uint64_t init_seed = 0;               // H_ω's initialisation
  double exponent_bound = 4;            // K of Note [Bounded exponents]; 0: unbounded
};

/// What rejection sampling with the learnt ratio kept.
template <class T>
struct RejectionResult {
  ad::Tensor<T> accepted;   // [K, d], the accepted rows in their original order
  double bound = 0;         // M: the largest ratio over the proposals (see rejection_sample)
  double acceptance = 0;    // K / N
};

template <class T>
class FEbm : public Objective<T> {
 public:
  FEbm(int64_t dim, FEbmOptions options);
  std::string name() const override { return "f_ebm"; }
  std::unique_ptr<Objective<T>> clone() const override { return std::make_unique<FEbm>(*this); }
  /// The shard's share of model_samples (when set), as NegativePhase::shard.
  std::unique_ptr<Objective<T>> shard(int s, int count) const override;
  /// Note [f-EBM across shards]: the importance weights of θ's view are normalised over all the batch's model
  /// draws, so the loss needs the batch's mean of F on them: shard_statistics draws the shard's samples and
  /// returns {Σ F(ū), count}; loss() then uses the batch's mean.
  bool has_shard_statistics() const override { return true; }
  std::vector<double> shard_statistics(const LossInput<T>& in) override;
  Loss<T> loss(const LossInput<T>& in) override;
  /// bound() on loss()'s model draws, with the weights relative to the current (stored) θ.
  ad::Var<T> gradcheck_value(const LossInput<T>& in) override;

  const FEbmOptions& options() const { return options_; }
  const FDivergenceSpec& divergence() const { return options_.divergence; }

  /// Draws from q_θ as loss() does: exact for a GaussianEnergy, short-run MALA from rows of `data`
  /// otherwise. Returns [n, d].
  ad::Tensor<T> sample_model(const Energy<T>& model, const ad::Tensor<T>& data, int64_t n, ad::Rng& rng) const;

  /// The importance-weighted bound L̂(θ, ω) of the header comment on `in.x` and model samples y, with the
  /// weights taken relative to `sampling_energy` = E_θ₀(y) (a constant). A plain function of θ and ω (no
  /// stop_gradient): at θ = θ₀ its θ-gradient is Theorem 3's estimator and its ω-gradient the bound's, which
  /// is what gradcheck verifies.
  ad::Var<T> bound(const LossInput<T>& in, const ad::Tensor<T>& y, const ad::Tensor<T>& sampling_energy) const;

  /// log r(x) = H_ω(x) + E_θ(x), the learnt log density ratio log p/q_θ, [N].
  ad::Tensor<double> log_density_ratio(const Energy<T>& model, const ad::Tensor<T>& x) const;

  /// Rejection sampling (Grover et al. 2019; Azadi et al. 2018): accept each proposal y_i from q_θ with
  /// probability r(y_i)/M. The true M = sup r is unknown; we use the largest ratio over the proposals
  /// themselves, M = max_i r(y_i). This M is honest about what is known but can only underestimate sup r: in
  /// regions where r > M (rare under q, or the sample would have found them) accepted points are too few.
  /// With N proposals the fraction kept is mean(r)/M ≈ 1/M.
  RejectionResult<T> rejection_sample(const Energy<T>& model, const ad::Tensor<T>& proposals, ad::Rng& rng) const;

 private:
  ad::Var<T> variational(const std::vector<ad::Var<T>>& omega, const ad::Var<T>& x) const;  // H_ω(x), [B]
  ad::Var<T> bounded(const ad::Var<T>& u) const;  // ū of Note [Bounded exponents]
  struct Parts {
    ad::Var<T> value, data_term, model_term;
  };
  // L̂ from the pieces: u on data and on samples, and the log importance weights of the samples.
  Parts combine(const ad::Var<T>& u_data, const ad::Var<T>& u_model, const ad::Var<T>& log_w) const;

  // The model side of a batch, drawn and recorded once: H and E on the draws (on the loss's tape).
  struct ModelDraws {
    ad::Var<T> h, e;
  };
  ModelDraws draw_model_side(const LossInput<T>& in) const;
  ad::Var<T> model_conjugate(const ModelDraws& d) const;  // F(ū) on the draws, θ's view (H held fixed)

  FEbmOptions options_;
  int64_t dim_;
  std::vector<int64_t> widths_;
  std::optional<ModelDraws> pending_;  // from shard_statistics, for the loss() that follows it
};

extern template class FEbm<float>;
extern template class FEbm<double>;

}  // namespace ebm
