#pragma once
// The eight workloads on the product's path: the model is ebm::MlpEnergy holding the spec's θ, losses go through
// ebm::ShardedObjective::loss_and_grad and a training step through ebm::train_step (what `ebm run`'s loop
// calls), sampling through samplers::Langevin and samplers::EnergyEvaluator. Included by ebm_bench.cpp only.
//
// Note [Benchmark noise]: the spec fixes the noise of dsm_step and ssm_step and the chains' start in cd_step to
// its matrix V, so that --check can compare numbers with the reference. The product's objectives draw their
// noise from the step's random stream instead. Check mode therefore runs the spec's formulas, written below as
// small ebm::Objective classes that read V, through the same step, model and engine; timing mode runs the
// product's objectives themselves (ebm::DenoisingScoreMatching, ebm::SlicedScoreMatching,
// ebm::ContrastiveDivergence), which cost the same products. sm_exact_step has no noise: both modes run
// ebm::ScoreMatching. Every method runs at training.shards = 1 and 2 (the names say which).
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <ebm/models/mlp.hpp>
#include <ebm/models/sampling.hpp>
#include <ebm/objectives/contrastive_divergence.hpp>
#include <ebm/objectives/denoising.hpp>
#include <ebm/objectives/score_matching.hpp>
#include <ebm/objectives/sliced.hpp>
#include <ebm/optim/adam.hpp>
#include <ebm/optim/sharded_objective.hpp>
#include <ebm/optim/train_step.hpp>
#include <samplers/langevin.hpp>

#include "problem.hpp"

namespace bench {

const int kShardCounts[] = {1, 2};

// ------------------------------------------------------------------------------------------- the spec's losses
/// A loss of the spec that reads rows of V: shard s of S reads its rows of V (the rows of x it is given).
template <class T>
class SpecObjective : public ebm::Objective<T> {
 public:
  explicit SpecObjective(Tensor<T> v) : v_(std::move(v)) {}
  std::unique_ptr<ebm::Objective<T>> shard(int s, int count) const override {
    auto part = this->clone();
    static_cast<SpecObjective&>(*part).v_ = ad::rows_of(v_, ad::split_rows(v_.rows(), count)[static_cast<size_t>(s)]);
    return part;
  }

 protected:
  Tensor<T> v_;
};

/// energy_grad: L = mean E(x).
template <class T>
struct MeanEnergy final : ebm::Objective<T> {
  std::string name() const override { return "mean_energy"; }
  std::unique_ptr<ebm::Objective<T>> clone() const override { return std::make_unique<MeanEnergy>(*this); }
  ebm::Loss<T> loss(const ebm::LossInput<T>& in) override {
    return {ad::mean(in.model.energy(in.theta, in.tape.constant(in.x))), {}};
  }
};

/// dsm_step with noise V: L = mean ½‖∇ₓE(x + σv) − v/σ‖².
template <class T>
struct SpecDsm final : SpecObjective<T> {
  using SpecObjective<T>::SpecObjective;
  std::string name() const override { return "spec_dsm"; }
  std::unique_ptr<ebm::Objective<T>> clone() const override { return std::make_unique<SpecDsm>(*this); }
  ebm::Loss<T> loss(const ebm::LossInput<T>& in) override {
    Tensor<T> noisy = in.x;
    for (int64_t i = 0; i < noisy.numel(); ++i) noisy[i] += static_cast<T>(kSigma) * this->v_[i];
    const Var<T> xt = in.tape.variable(noisy);
    const Var<T> g = ad::grad(ad::sum(in.model.energy(in.theta, xt)), xt, true);
    return {ad::mean(0.5 * ad::sum(ad::square(g - in.tape.constant(this->v_) / kSigma), 1)), {}};
  }
};

/// ssm_step with projections V: L = mean [½‖g‖² − vᵀHv], Hv as ebm::SlicedScoreMatching computes it.
template <class T>
struct SpecSsm final : SpecObjective<T> {
  using SpecObjective<T>::SpecObjective;
  std::string name() const override { return "spec_ssm"; }
  std::unique_ptr<ebm::Objective<T>> clone() const override { return std::make_unique<SpecSsm>(*this); }
  ebm::Loss<T> loss(const ebm::LossInput<T>& in) override {
    const Var<T> x = in.tape.variable(in.x);
    const Var<T> g = ad::grad(ad::sum(in.model.energy(in.theta, x)), x, true);
    const Var<T> v = in.tape.constant(this->v_);
    const Var<T> hv = ad::vjp<T>({g}, {x}, {v}, true)[0];
    return {ad::mean(0.5 * ad::sum(ad::square(g), 1) - ad::sum(v * hv, 1)), {}};
  }
};

/// cd_step's loss with chains started at V: ebm::ContrastiveDivergence's surrogate and negative phase (CD-k from
/// the given rows), started at V instead of the data.
template <class T>
struct SpecCd final : SpecObjective<T> {
  SpecCd(Tensor<T> v, ebm::NegativePhase<T> negatives) : SpecObjective<T>(std::move(v)), negatives_(std::move(negatives)) {}
  std::string name() const override { return "spec_cd"; }
  std::unique_ptr<ebm::Objective<T>> clone() const override { return std::make_unique<SpecCd>(*this); }
  ebm::Loss<T> loss(const ebm::LossInput<T>& in) override {
    last = negatives_.draw(in.model, this->v_, in.rng);
    ebm::Loss<T> out{Var<T>{}, {}};
    out.value = ebm::contrastive_surrogate(in.model.energy(in.theta, in.tape.constant(in.x)),
                                           in.model.energy(in.theta, in.tape.constant(last)), 0.0, out.terms);
    return out;
  }
  Tensor<T> last;  // this shard's negatives

 private:
  ebm::NegativePhase<T> negatives_;
};

// ------------------------------------------------------------------------------------------- the model
template <class T>
Tensor<T> transposed(const Tensor<T>& a) {
  Tensor<T> t(Shape{a.cols(), a.rows()});
  for (int64_t i = 0; i < a.rows(); ++i)
    for (int64_t j = 0; j < a.cols(); ++j) t.at(j, i) = a.at(i, j);
  return t;
}

/// ebm::MlpEnergy with widths {d, h, h, 1}, SiLU, holding the spec's θ. The product stores W_l as [in, out]
/// (h W + b) and the spec as [out, in] (W x + b): the weights go in transposed.
template <class T>
std::shared_ptr<ebm::MlpEnergy<T>> make_model(const Problem<T>& pb) {
  ad::Rng rng(0);
  auto m = std::make_shared<ebm::MlpEnergy<T>>(pb.d, std::vector<int64_t>{pb.h, pb.h}, ebm::Activation::silu, rng);
  m->param("W0") = transposed(pb.theta[0]);
  m->param("b0") = pb.theta[1];
  m->param("W1") = transposed(pb.theta[2]);
  m->param("b1") = pb.theta[3];
  std::copy(pb.theta[4].begin(), pb.theta[4].end(), m->param("W2").begin());
  m->param("b2")[0] = pb.theta[5].item();
  return m;
}

/// The model's parameter tensors (or their gradients, in params() order) in the spec's layout.
template <class T>
std::vector<Tensor<T>> spec_layout(const std::vector<Tensor<T>>& ts) {
  return {transposed(ts[0]), ts[1], transposed(ts[2]), ts[3], ts[4].reshaped(Shape{ts[4].numel()}),
          Tensor<T>::scalar(ts[5][0])};
}

template <class T>
std::vector<Tensor<T>> values(const ebm::Energy<T>& m) {
  std::vector<Tensor<T>> v;
  for (const auto& p : m.params()) v.push_back(p.value);
  return v;
}

template <class T>
void report_loss(Outputs<T>* out, double loss, const std::vector<Tensor<T>>& grads) {
  if (!out) return;
  out->emplace_back("loss", Tensor<T>::scalar(static_cast<T>(loss)));
  const std::vector<Tensor<T>> g = spec_layout(grads);
  for (size_t k = 0; k < g.size(); ++k) out->emplace_back(std::string("g") + kParamNames[k], g[k]);
}

template <class T>
double total(const Tensor<T>& t) {
  double s = 0;
  for (const T v : t) s += v;
  return s;
}

// ------------------------------------------------------------------------------------------- losses
/// A method that times ShardedObjective::loss_and_grad of `objective` at S shards on the batch X.
template <class T>
Method<T> loss_method(const Problem<T>& pb, const std::string& name, std::shared_ptr<ebm::Objective<T>> objective, int S) {
  auto model = make_model(pb);
  auto step = std::make_shared<ebm::ShardedObjective<T>>(*objective, S);
  auto rng = std::make_shared<ad::Rng>(0);
  return {name + " S=" + std::to_string(S), [=, X = pb.X](Outputs<T>* out) {
            (void)objective;  // `step` refers to it
            const ebm::LossAndGrad<T> lg = step->loss_and_grad(*model, X, rng->split(0));
            *rng = rng->split(1);
            report_loss(out, lg.loss, lg.grad_theta);
            return lg.loss;
          }};
}

/// One method per shard count: the spec's loss in check mode, the product's in timing mode (Note [Benchmark noise]).
template <class T>
std::vector<Method<T>> loss_methods(const Problem<T>& pb, bool check, const std::function<std::shared_ptr<ebm::Objective<T>>()>& spec,
                                    const std::string& product_name, const std::function<std::shared_ptr<ebm::Objective<T>>()>& product) {
  std::vector<Method<T>> ms;
  for (const int S : kShardCounts)
    ms.push_back(check ? loss_method(pb, "step(spec loss)", spec(), S) : loss_method(pb, "step(" + product_name + ")", product(), S));
  return ms;
}

template <class T>
std::vector<Method<T>> energy_grad(const Problem<T>& pb, bool) {
  std::vector<Method<T>> ms;
  for (const int S : kShardCounts) ms.push_back(loss_method<T>(pb, "step(mean energy)", std::make_shared<MeanEnergy<T>>(), S));
  return ms;
}

template <class T>
std::vector<Method<T>> dsm_step(const Problem<T>& pb, bool check) {
  return loss_methods<T>(pb, check, [&] { return std::make_shared<SpecDsm<T>>(pb.V); }, "DenoisingScoreMatching",
                         [] { return std::make_shared<ebm::DenoisingScoreMatching<T>>(kSigma); });
}

template <class T>
std::vector<Method<T>> ssm_step(const Problem<T>& pb, bool check) {
  return loss_methods<T>(pb, check, [&] { return std::make_shared<SpecSsm<T>>(pb.V); }, "SlicedScoreMatching",
                         [] { return std::make_shared<ebm::SlicedScoreMatching<T>>(1, ebm::Projection::gaussian, true); });
}

template <class T>
std::vector<Method<T>> sm_exact_step(const Problem<T>& pb, bool) {
  std::vector<Method<T>> ms;
  for (const int S : kShardCounts) ms.push_back(loss_method<T>(pb, "step(ScoreMatching)", std::make_shared<ebm::ScoreMatching<T>>(0), S));
  return ms;
}

// ------------------------------------------------------------------------------------------- x-derivatives
/// score: ∇ₓE as every gradient-based sampler gets it (samplers::EnergyEvaluator::energy_grad).
template <class T>
std::vector<Method<T>> score(const Problem<T>& pb, bool) {
  auto model = make_model(pb);
  auto eval = std::make_shared<samplers::EnergyEvaluator<T>>();
  auto e = std::make_shared<std::vector<T>>();
  auto g = std::make_shared<Tensor<T>>();
  return {{"EnergyEvaluator::energy_grad", [=, X = pb.X](Outputs<T>* out) {
             eval->energy_grad(ebm::sampler_energy<T>(*model), X, *e, *g);
             if (out) out->emplace_back("s", *g);
             return total(*g);
           }}};
}

/// hvp: H v by reverse over reverse (ad::vjp of the recorded gradient), as ebm::SlicedScoreMatching computes it.
template <class T>
std::vector<Method<T>> hvp(const Problem<T>& pb, bool) {
  auto model = make_model(pb);
  auto tape = std::make_shared<Tape<T>>();
  return {{"rev_over_rev (as SlicedScoreMatching)", [=, X = pb.X, V = pb.V](Outputs<T>* out) {
             tape->clear();
             const Var<T> x = tape->variable(X);
             const Var<T> g = ad::grad(ad::sum(model->fixed_energy(x)), x, true);
             const Var<T> hv = ad::vjp<T>({g}, {x}, {tape->constant(V)}, false)[0];
             if (out) out->emplace_back("hv", hv.value());
             return total(hv.value());
           }}};
}

// ------------------------------------------------------------------------------------------- sampling, training
/// The Langevin options of the spec; z = 0 in check mode.
inline samplers::LangevinOptions spec_langevin(bool check) {
  samplers::LangevinOptions o;
  o.step_size = kEps;
  if (check) o.noise_scale = 0;
  return o;
}

/// langevin: samplers::Langevin, K steps from V.
template <class T>
std::vector<Method<T>> langevin(const Problem<T>& pb, bool check) {
  auto model = make_model(pb);
  auto sampler = std::make_shared<samplers::Langevin<T>>(ebm::sampler_energy<T>(*model), spec_langevin(check));
  auto state = std::make_shared<samplers::ChainState<T>>(pb.V, 0);
  return {{"samplers::Langevin", [=, V = pb.V](Outputs<T>* out) {
             (void)model;  // the sampler refers to it
             std::copy(V.begin(), V.end(), state->x.begin());
             sampler->run(*state, kLangevinSteps);
             if (out) out->emplace_back("x", state->x);
             return total(state->x);
           }}};
}

/// cd_step: ebm::train_step with Adam; the loss is ebm::ContrastiveDivergence (CD-K_cd Langevin chains started at
/// the batch) in timing mode, the same surrogate and negative phase started at V in check mode.
template <class T>
std::vector<Method<T>> cd_step(const Problem<T>& pb, bool check) {
  std::vector<Method<T>> ms;
  for (const int S : kShardCounts) {
    ebm::NegativeOptions no;
    no.steps = kCdSteps;
    ebm::NegativePhase<T> negatives(ebm::langevin_sampler<T>(spec_langevin(check)), no);
    std::shared_ptr<ebm::Objective<T>> objective;
    if (check) objective = std::make_shared<SpecCd<T>>(pb.V, negatives);
    else objective = std::make_shared<ebm::ContrastiveDivergence<T>>(negatives);
    auto model = make_model(pb);
    auto step = std::make_shared<ebm::ShardedObjective<T>>(*objective, S);
    ebm::AdamOptions ao{.beta1 = kBeta1, .beta2 = kBeta2, .eps = kAdamEps};
    auto adam = std::make_shared<ebm::Adam<T>>(ebm::constant_lr(kLr), ao);
    auto rng = std::make_shared<ad::Rng>(0);
    ms.push_back({std::string(check ? "train_step(spec CD)+Adam" : "train_step(ContrastiveDivergence)+Adam") + " S=" + std::to_string(S),
                  [=, X = pb.X](Outputs<T>* out) {
                    (void)objective;  // `step` refers to it
                    std::vector<Tensor<T>> grads;
                    ebm::StepOptions<T> so;
                    if (out) so.after_gradients = [&](std::vector<Tensor<T>>& g) { grads = g; };
                    const ebm::StepReport r = ebm::train_step(*step, *model, *adam, X, rng->split(0), so);
                    *rng = rng->split(1);
                    if (!r.finite) throw std::runtime_error("cd_step: a non-finite step");
                    if (out) {
                      report_loss(out, r.loss, grads);
                      Tensor<T> x_neg(X.shape());
                      const std::vector<ad::RowRange> rows = ad::split_rows(X.rows(), S);
                      for (int s = 0; s < S; ++s) {
                        const Tensor<T>& part = static_cast<const SpecCd<T>&>(step->part(s)).last;
                        std::copy(part.begin(), part.end(), x_neg.data() + rows[static_cast<size_t>(s)].begin * X.cols());
                      }
                      out->emplace_back("x_neg", x_neg);
                      const std::vector<Tensor<T>> theta = spec_layout(values(*model));
                      for (size_t k = 0; k < theta.size(); ++k) out->emplace_back(std::string(kParamNames[k]) + "_new", theta[k]);
                    }
                    return r.loss;
                  }});
  }
  return ms;
}

template <class T>
std::vector<Method<T>> make(const std::string& w, const Problem<T>& pb, bool check) {
  if (w == "energy_grad") return energy_grad(pb, check);
  if (w == "score") return score(pb, check);
  if (w == "hvp") return hvp(pb, check);
  if (w == "ssm_step") return ssm_step(pb, check);
  if (w == "sm_exact_step") return sm_exact_step(pb, check);
  if (w == "dsm_step") return dsm_step(pb, check);
  if (w == "langevin") return langevin(pb, check);
  if (w == "cd_step") return cd_step(pb, check);
  throw std::invalid_argument("unknown workload " + w);
}
}  // namespace bench
