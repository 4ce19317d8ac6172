#pragma once
// Registries of the components an experiment file can name: data sources, models, objectives, optimisers and
// samplers. Each entry is {name, description, parameter schema, factory}, and the experiment schema is assembled
// from them. Every kind has one file under ebm/src/experiment/ (reg_data.cpp, reg_models.cpp, reg_objectives.cpp,
// reg_optim.cpp, reg_samplers.cpp) whose `register_*` function pushes its entries.
//
// Adding a component of an existing kind touches:
//   - its implementation: a header under ebm/include/ebm/<layer>/ and a source under ebm/src/<layer>/ (the build
//     picks up new sources by glob), or samplers/ for a new kernel;
//   - one entry in the kind's register_* function: name, description, parameter fields, factory, and for models,
//     objectives and samplers its smoke settings (below);
//   - docs/config.md, regenerated from `ebm schema` (scripts/check_docs.sh fails until it is).
// Validation, `ebm schema`, the runner, checkpoints (optimisers keep their state in Optimizer::state_lists,
// objectives in save_state) and the compatibility matrix pick it up with nothing else changed. What the code
// outside the registry recognises by type is the exception: a model with binary units, exact log Z by enumeration,
// Gibbs conditionals, noise levels or class logits is found by dynamic_cast in eval_checks.cpp, sample.cpp,
// evaluate.cpp, plots.cpp, eval_likelihood.cpp and reg_samplers.cpp (BernoulliRbm, BoltzmannMachine, BinaryConditionals, RbmConditionals,
// NoiseConditionalEnergy, ClassifierEnergy), so a new model with one of those abilities is added there too.
// A new kind of component is a new reg_*.cpp, a vector and a lookup in Registry, a declaration below and a call
// in registry.cpp, and its section in the config schema (config.cpp).
//
// Every factory serves both dtypes (the experiment's "dtype": float32 or float64) from one piece of code: a
// generic callable whose first argument is a Tag<T>, kept by PerDtype as its float and double instantiations
// (Note [One registration, two dtypes]).
//
// Registration is explicit (a list of calls in registry.cpp), not via static initialisers: ebm_core is a
// static library and the linker would drop translation units nothing refers to.
//
// Smoke settings. Every model, objective and sampler must also say how to try it in a tiny experiment (its
// `smoke` field, filled in where it is registered): the compatibility matrix (tests/ebm/test_compatibility.cpp)
// crosses every model with every sampler, objective and evaluation method from these alone, and requires each
// pair either to be refused by validation with the JSON path of the offending key or to run to finite, sane
// results. A component registered without smoke settings fails that test.
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <samplers/energy.hpp>
#include <samplers/langevin.hpp>
#include <samplers/state.hpp>

#include "ebm/experiment/schema.hpp"
#include "ebm/models/energy.hpp"
#include "ebm/objectives/objective.hpp"
#include "ebm/optim/optimizer.hpp"
#include "ebm/optim/sharded_objective.hpp"

namespace ebm::experiment {

/// Thrown for input the user must fix (bad values found late, e.g. a dimension mismatch between data and
/// model): the tool maps it to exit code 2, like config and data errors.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The scalar type of a factory's instantiation: factories are generic callables taking a Tag<T> first.
template <class T>
struct Tag {
  using type = T;
};

/// "float32" or "float64": the experiment's name for T.
template <class T>
constexpr const char* dtype_name() {
  return std::is_same_v<T, float> ? "float32" : "float64";
}

// Note [One registration, two dtypes]: models, objectives, optimisers and samplers are templates over T, and an
// experiment runs in float or double as its "dtype" says. A registration gives one generic callable,
// g(Tag<T>{}, args...), and PerDtype keeps its two instantiations as std::functions with the signature Sig<T>,
// so what a component does is written once and cannot differ between the dtypes.
template <template <class> class Sig>
class PerDtype {
 public:
  PerDtype() = default;
  template <class G, class = std::enable_if_t<!std::is_same_v<std::decay_t<G>, PerDtype>>>
  PerDtype(G g) : f32_(bound<float>(g)), f64_(bound<double>(std::move(g))) {}  // NOLINT: converts a registration's lambda

  template <class T>
  const std::function<Sig<T>>& get() const {
    if constexpr (std::is_same_v<T, float>)
      return f32_;
    else
      return f64_;
  }
  explicit operator bool() const { return static_cast<bool>(f64_); }

 private:
  template <class T, class G>
  static std::function<Sig<T>> bound(G g) {
    return [g = std::move(g)](auto&&... a) -> decltype(auto) { return g(Tag<T>{}, std::forward<decltype(a)>(a)...); };
  }
  std::function<Sig<float>> f32_;
  std::function<Sig<double>> f64_;
};

/// A loaded data set, in float64 rows (the data layer stays in double; a float32 run converts the rows it uses).
struct Dataset {
  ad::Tensor<double> x;       // [N, D]
  std::vector<int> labels;    // optional, one per row
  int64_t image_rows = 0, image_cols = 0;  // > 0 for image data (drawn as a grid)
  /// log density of the true distribution when known (toy mixtures), for evaluation; empty otherwise.
  std::function<ad::Tensor<double>(const ad::Tensor<double>&)> true_log_density;
};

struct DataSource {
  std::string name, description;
  std::vector<Field> params;
  /// cfg is the validated data section; rng is the experiment's data stream.
  std::function<Dataset(const json& cfg, ad::Rng& rng)> load;
  /// Cheap checks before loading (files exist, shapes agree); appends "data.key: ..." messages.
  std::function<void(const json& cfg, std::vector<std::string>& errors)> check;
  /// The same data whatever the seed (files, image sets): no fresh held-out draw exists (evaluation.held_out).
  bool fixed = false;
};

struct SamplerRun;

/// What a registration's make returns for Tag<T> (spelled in its trailing return type when it returns several kinds).
template <class Tg> using EnergyPtr = std::unique_ptr<Energy<typename Tg::type>>;
template <class Tg> using ObjectivePtr = std::unique_ptr<Objective<typename Tg::type>>;
template <class Tg> using OptimizerPtr = std::unique_ptr<Optimizer<typename Tg::type>>;

template <class T> using MakeModel = std::unique_ptr<Energy<T>>(const json& cfg, const Dataset& data, ad::Rng& rng);
template <class T> using DescribeModel = json(const Energy<T>& model);
template <class T> using MakeObjective = std::unique_ptr<Objective<T>>(const json& cfg, const Dataset& data);
template <class T> using DescribeObjective = json(const ShardedObjective<T>& trained, const Energy<T>& model, const Dataset& data);
template <class T> using CheckObjectiveModel = void(const json& cfg, const Energy<T>& model);
template <class T> using MakeOptimizer = std::unique_ptr<Optimizer<T>>(const json& cfg, const LrSchedule& schedule);
template <class T> using RunSampler = SamplerRun(const json& cfg, const Energy<T>& model, samplers::ChainState<T>& state);
template <class T> using CheckSamplerModel = void(const Energy<T>& model);

struct ModelEntry {
  std::string name, description;
  std::vector<Field> params;
  PerDtype<MakeModel> make;
  /// Human-meaningful learned parameters for summary.json (e.g. mu and sigma); may be empty.
  PerDtype<DescribeModel> describe;
  /// Tiny experiments in which this model trains (at least one): each an object with the sections "data" (a
  /// small data set of the kind the model needs: binary for an RBM, labelled for a classifier), "model" (small
  /// settings; "type" is implied) and "objective" and "sampler" (a pair that suits the model, by type plus any
  /// settings the model needs). The matrix swaps one section at a time for every other component. More than one
  /// when a setting changes what the model can serve (an RBM's Gaussian visible units, spin units).
  std::vector<json> smoke{};
};

struct ObjectiveEntry {
  std::string name, description;
  std::vector<Field> params;
  PerDtype<MakeObjective> make;
  /// What the objective learned besides the model (NCE's log Z, f-EBM's density ratio) and how its shards'
  /// negative phases ran, for summary.json under "objective"; may be empty. Called after training with the
  /// trained model.
  PerDtype<DescribeObjective> describe{};
  /// Checks before training that the objective can serve the model (throws InputError naming the key); may be empty.
  PerDtype<CheckObjectiveModel> check_model{};
  /// Tiny settings of the objective section ("type" implied) for a smoke run of a few steps, at least one; more
  /// for settings that change which models it can serve. The matrix also tries every choice of a nested
  /// component (the "type" of a sub-object such as the negative sampler) that these do not name.
  std::vector<json> smoke{};
};

struct OptimizerEntry {
  std::string name, description;
  std::vector<Field> params;
  /// The optimiser keeps its own state for checkpoints (Optimizer::state_lists).
  PerDtype<MakeOptimizer> make;
};

struct SamplerRun {
  samplers::SamplerStats stats;
  std::vector<samplers::Summary> diagnostics;  // per coordinate, when a trace was kept
};

struct SamplerEntry {
  std::string name, description;
  std::vector<Field> params;
  /// Warm-up (if any) then the transitions of every chain in `state` (started by the runner as the common
  /// fields say), recording a trace for diagnostics. The model gives the energy (θ fixed) and, for Gibbs and
  /// annealed Langevin, its conditionals or noise levels; InputError if the sampler cannot serve that model.
  PerDtype<RunSampler> run;
  /// Binary samplers start chains at fair coin flips instead of Gaussian noise.
  bool binary = false;
  /// Checks before training that the sampler can serve the model (throws InputError naming the key); may be empty.
  PerDtype<CheckSamplerModel> check_model{};
  /// Tiny settings of the sampler section ("type" implied): a few hundred chains at most, a few dozen steps; at
  /// least one, more for settings that change what the sampler does (a local move, the chains' start).
  std::vector<json> smoke{};
};

struct Registry {
  std::vector<DataSource> data;
  std::vector<ModelEntry> models;
  std::vector<ObjectiveEntry> objectives;
  std::vector<OptimizerEntry> optimizers;
  std::vector<SamplerEntry> samplers;

  const DataSource& data_source(const std::string& name) const;
  const ModelEntry& model(const std::string& name) const;
  const ObjectiveEntry& objective(const std::string& name) const;
  const OptimizerEntry& optimizer(const std::string& name) const;
  const SamplerEntry& sampler(const std::string& name) const;
};

/// The registry with every built-in component (built once, on first use).
const Registry& registry();

// One per file under src/experiment/ (registry.cpp calls them in this order).
void register_data_sources(Registry& r);
void register_models(Registry& r);
void register_objectives(Registry& r);
void register_optimizers(Registry& r);
void register_samplers(Registry& r);

// Helpers for factories.
ad::Tensor<double> tensor_from_json(const json& j);  // nested arrays of numbers -> rank 1..3 tensor
template <class T>
json tensor_to_json(const ad::Tensor<T>& t);  // flat values (shape stored separately where needed)
/// A tensor's values for a checkpoint: their bytes (little-endian, 4 bytes a value for float, 8 for double) as a
/// CBOR byte string, exact and ~50× faster to build and encode than an array of numbers (a checkpoint of an RBM on
/// images took ~7 ms as arrays). The checkpoint records the dtype; Note [Checkpoint dtype] in train.cpp.
template <class T>
json tensor_to_bytes(const ad::Tensor<T>& t);
/// Reads tensor_to_bytes's bytes of the same T, or an array of numbers (checkpoints written before them), into
/// `out`, whose shape the caller knows; false when the number of values differs.
template <class T>
bool tensor_values_into(const json& j, ad::Tensor<T>& out);
/// `x` in T: a reference to it for double, a converted copy for float (lifetime-extended when bound to a const&).
template <class T>
decltype(auto) in_dtype(const ad::Tensor<double>& x) {
  if constexpr (std::is_same_v<T, double>)
    return (x);
  else
    return x.template cast<T>();
}
/// The Langevin fields (step_size, noise_scale, grad_clip_norm), shared by the sampler and by objectives that
/// run Langevin chains, and their values read from such a section.
std::vector<Field> langevin_fields(double default_step);
samplers::LangevinOptions langevin_options(const json& section);
/// InputError "<key>: Gibbs sampling needs an RBM or a Boltzmann machine ..." unless the model has Gibbs conditionals.
template <class T>
void check_gibbs_model(const Energy<T>& model, const std::string& key);
/// InputError "<key>: <what>, and the model ... has binary units; <advice>" for a Bernoulli RBM or a Boltzmann
/// machine (discrete_model): a continuous kernel would carry its states out of {0,1}^d or {-1,+1}^d, and a method for
/// densities on R^d (scores, Gaussian noise, continuous negatives) has nothing to fit there.
template <class T>
void check_continuous_model(const Energy<T>& model, const std::string& key, const std::string& what, const std::string& advice);

}  // namespace ebm::experiment
