#pragma once
// Learned Stein discrepancy (Grathwohl, Wang, Jacobsen, Duvenaud & Zemel, ICML 2020): training an EBM
// p_θ ∝ exp(−E_θ) against data q without sampling from it, by a min-max game with a learnt critic.
//
// For a vector field f: R^d → R^d and the model's score s_θ = −∇ₓE_θ, the Stein discrepancy is
//   S(p_θ, q; f) = E_q[ s_θ(x)ᵀ f(x) + tr ∇ₓf(x) ],
// which is 0 for every (regular) f when p_θ = q, since E_q[s_q ᵀf + tr ∇ₓf] = 0 (Stein's identity, integration
// by parts). The critic f_ω is an MLP (widths {d, hidden..., d}); with the L2 penalty λ E_q‖f‖² that keeps it
// bounded, the game is
//   min_θ max_ω J(θ, ω),   J = S(p_θ, q; f_ω) − λ E_q‖f_ω(x)‖²,
// and max_ω J is the learned Stein discrepancy, equal to Fisher/(4λ) when the critic can be optimal
// (Note [LSD and the Fisher divergence]). The penalty does not depend on θ, so the EBM's gradient is ∇θ S.
// ∇θ S goes through s_θ = −∇ₓE_θ, recorded with create_graph as in score matching (second order in the tape).
//
// tr ∇ₓf: exact as d Jacobian-vector products (the engine's batched forward mode, ad::hessian_trace applied to
// the critic's output), or Hutchinson's estimate E_v[vᵀ ∇ₓf v] with `probes` Rademacher or Gaussian probes
// (ad::hutchinson_trace; Grathwohl et al.'s code uses one Gaussian probe). `auto` is exact for d ≤ 16
// (kLsdExactTraceMaxDim) and Hutchinson above: the exact trace costs d forward sweeps of the critic, Hutchinson
// one reverse sweep, and for small d the d sweeps cost little while removing the probes' variance.
//
// One surrogate for one optimiser, as the other min-max objectives (adversarial.hpp, f_divergence.hpp), with
// sg = stop_gradient:
//   L = [mean sᵀ sg(f) − sg(·)] + [sg(J_ω) − J_ω] + sg(J_ω),   J_ω = mean(sg(s)ᵀ f + tr ∇ₓf) − λ mean ‖f‖²,
// so ∇θ L = ∇θ J (descent for θ), ∇ω L = −∇ω J (ascent for the critic), and the value of L is J. (∇θ J, −∇ω J)
// is the gradient of no single function, so gradcheck_value() returns J itself.
//
// Note [Critic steps]: Grathwohl et al.'s code (lsd_toy.py, `--c_iters 5`) gives the critic 5 Adam updates for
// each EBM update (alternating steps, Adam with betas (0, 0.999) and the EBM's rate). Here a training step is one
// update of every parameter, so the ratio is realised inside the objective: loss() first takes critic_steps − 1
// ascent steps on J for the batch with θ fixed, with an Adam of its own (betas (0, 0.999), rate critic_lr), and
// the joint step that follows updates the critic once more with the run's optimiser: critic_steps critic updates
// per EBM update. The run's optimiser owns the critic's parameters ω (extra_params(), shared by every shard);
// the inner steps move an offset Δ that the objective keeps as its state (save_state: Δ and the inner Adam's
// moments), and the critic is f_{ω+Δ}. Under training.shards = S each shard's objective keeps its own Δ, trained
// on its own rows (like persistent chains, Note [Shards of an objective]), so the numbers depend on S.
// critic_steps = 1 is simultaneous gradient play, one critic update per EBM update.
//
// Note [LSD and the Fisher divergence]: if E_q[s_q ᵀ f + tr ∇ₓf] = 0 (Stein's identity: f q vanishes at
// infinity), then S(p, q; f) = E_q[(s_p − s_q)ᵀ f], and
//   J(f) = E_q[(s_p − s_q)ᵀ f − λ‖f‖²] = E_q[ −λ ‖f − (s_p − s_q)/(2λ)‖² + ‖s_p − s_q‖²/(4λ) ]
// (completing the square pointwise). The first term is ≤ 0 and vanishes only at f* = (s_p − s_q)/(2λ), so
//   max_f J(f) = J(f*) = E_q‖s_p − s_q‖²/(4λ) = F(q‖p)/(4λ),
// with F the Fisher divergence (score matching's objective up to a θ-free constant: F = 2 J_SM + const). Over a
// critic family that contains f* (an affine critic when p and q are Gaussian) the learned discrepancy is exactly
// Fisher/(4λ); a smaller family gives a lower bound. tests/ebm/test_lsd.cpp checks both against the closed form.
//
// Terms: "lsd" (J, the penalised discrepancy), "stein" (S), "penalty" (E_q‖f‖²), "trace" (mean tr ∇ₓf).
#include <cstdint>
#include <string>
#include <vector>

#include "ebm/models/mlp.hpp"
#include "ebm/objectives/objective.hpp"
#include "ebm/optim/adam.hpp"

namespace ebm {

/// `auto` picks exact for d ≤ kLsdExactTraceMaxDim, Hutchinson above.
enum class SteinTrace { automatic, exact, hutchinson };
inline constexpr EnumName<SteinTrace> kSteinTraceNames[] = {
    {"auto", SteinTrace::automatic}, {"exact", SteinTrace::exact}, {"hutchinson", SteinTrace::hutchinson}};
inline constexpr int64_t kLsdExactTraceMaxDim = 16;

struct LsdOptions {
  double lambda = 10;                    // λ of the penalty (Grathwohl et al.'s code: --l2 10)
  std::vector<int64_t> hidden{64, 64};   // critic's hidden widths; empty: an affine critic f(x) = xW + b
  Activation activation = Activation::silu;  // their critic: 2 × 300 Swish (silu with a learnt slope)
  int critic_steps = 5;                  // critic updates per EBM update (Note [Critic steps]; their --c_iters 5)
  double critic_lr = 1e-3;               // rate of the inner critic Adam (their lr, 1e-3)
  SteinTrace trace = SteinTrace::automatic;
  int probes = 1;                        // Hutchinson probes per row
  ad::Probe probe = ad::Probe::gaussian;
  uint64_t init_seed = 0;                // the critic's initialisation

  /// Whether the trace is exact for data of dimension d.
  bool exact_trace(int64_t d) const { return trace == SteinTrace::exact || (trace == SteinTrace::automatic && d <= kLsdExactTraceMaxDim); }
};

/// The per-row parts of the penalised Stein functional for a vector field f on x.
template <class T>
struct SteinRows {
  ad::Var<T> stein;    // [B]: sᵀ f + tr ∇ₓf
  ad::Var<T> penalty;  // [B]: ‖f‖²
  ad::Var<T> trace;    // [B]: tr ∇ₓf (exact or Hutchinson)
};

/// tr ∇ₓf per row for f = f(x) of shape [B, d] recorded from the variable x [B, d]: exact (d JVPs) or Hutchinson
/// with `probes` probes of `kind` drawn from rng. create_graph records it for further differentiation.
template <class T>
ad::Var<T> jacobian_trace(const ad::Var<T>& f, const ad::Var<T>& x, bool exact, int probes, ad::Probe kind, ad::Rng& rng,
                          bool create_graph);

/// sᵀ f + tr ∇ₓf and ‖f‖² per row, for a score s [B, d] (any Var, e.g. a constant) and f = f(x) recorded from x.
template <class T>
SteinRows<T> stein_rows(const ad::Var<T>& score, const ad::Var<T>& f, const ad::Var<T>& x, bool exact, int probes, ad::Probe kind,
                        ad::Rng& rng, bool create_graph);

template <class T>
class LearnedSteinDiscrepancy : public Objective<T> {
 public:
  /// Throws std::invalid_argument for d < 1, λ ≤ 0, critic_steps < 1, critic_lr ≤ 0 or probes < 1.
  LearnedSteinDiscrepancy(int64_t dim, LsdOptions options);
  std::string name() const override { return "lsd"; }
  std::unique_ptr<Objective<T>> clone() const override { return std::make_unique<LearnedSteinDiscrepancy>(*this); }
  Loss<T> loss(const LossInput<T>& in) override;
  /// J(θ, ω) on in.x with the critic f_{ω+Δ} (Δ fixed), probes drawn from in.rng; no critic steps.
  ad::Var<T> gradcheck_value(const LossInput<T>& in) override;
  std::vector<uint8_t> save_state() const override;
  void load_state(const std::vector<uint8_t>& blob) override;

  const LsdOptions& options() const { return options_; }
  /// The critic's widths {d, hidden..., d}.
  const std::vector<int64_t>& widths() const { return widths_; }
  /// f_{ω+Δ}(x), [B, d], from the critic's parameters ω as Vars (extra_params() order) and the stored offset Δ.
  ad::Var<T> critic(const std::vector<ad::Var<T>>& omega, const ad::Var<T>& x) const;
  /// The offset Δ of Note [Critic steps], one tensor per critic parameter (empty before the first inner step).
  const std::vector<ad::Tensor<T>>& critic_offset() const { return offset_; }

 private:
  // J's parts on in.x with the model's score recorded with create_graph (for θ) and the critic's (for ω).
  struct Game {
    ad::Var<T> score;  // [B, d], s_θ = −∇ₓE_θ
    ad::Var<T> f;      // [B, d]
    SteinRows<T> rows;
  };
  Game game(const LossInput<T>& in) const;
  // critic_steps − 1 Adam ascent steps of Δ on J with θ fixed at in.theta's values.
  void critic_steps(const LossInput<T>& in);

  LsdOptions options_;
  int64_t dim_;
  std::vector<int64_t> widths_;
  std::vector<ad::Tensor<T>> offset_;
  Adam<T> inner_;
};

extern template class LearnedSteinDiscrepancy<float>;
extern template class LearnedSteinDiscrepancy<double>;

}  // namespace ebm
