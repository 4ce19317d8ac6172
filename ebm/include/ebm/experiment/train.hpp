#pragma once
// Running an experiment (train.cpp): build every component from a resolved config, train with checkpoints, logging
// and a divergence guard, then sample (sample.hpp), evaluate (evaluate.hpp) and plot (plots.hpp); Session's
// held-out data is loaded in held_out.cpp. Errors the user must fix (config, data, dimensions) are thrown as
// ConfigError, DataError or InputError (the tool exits 2); anything else is a run-time failure (1).
//
// Reproducibility: every random stream is derived from config.seed and fixed purposes; the batch and objective
// noise of step t come from Rng(seed, kTrainStream).split(t), so a resumed run draws exactly what an
// uninterrupted one draws, and nothing depends on the thread count.
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ebm/experiment/registry.hpp"
#include "ebm/optim/sharded_objective.hpp"

namespace ebm::experiment {

/// A failure at run time in a named stage of a run ("training", "sampling", "evaluation.log_z.ais", "plots"): the
/// tool reports it with exit 1, and the run directory gets no summary.json, so the run never looks complete.
class StageError : public std::runtime_error {
 public:
  StageError(const std::string& stage, const std::string& what) : std::runtime_error(stage + ": " + what), stage_(stage) {}
  const std::string& stage() const { return stage_; }

 private:
  std::string stage_;
};

/// Test hook for fault injection: throws std::runtime_error("injected failure") when the environment variable
/// EBM_TEST_FAIL_STAGE equals `stage`. Every stage of run, sample and eval passes through one.
void fail_point(const std::string& stage);

/// Runs f as the stage `stage` (plus `detail`, e.g. the step, in the message): any failure is rethrown naming it,
/// an InputError as an InputError (exit 2), anything else as a StageError (exit 1).
template <class F>
auto in_stage(const std::string& stage, F&& f, const std::string& detail = "") -> decltype(f()) {
  const std::string where = detail.empty() ? stage : stage + " (" + detail + ")";
  try {
    fail_point(stage);
    return f();
  } catch (const StageError&) {
    throw;
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  } catch (const std::exception& e) {
    throw StageError(where, e.what());
  }
}

/// The experiment's dtype, cfg["dtype"]: "float32" (the default) or "float64". A config without the key (a run
/// directory written before it existed) was trained in float64.
std::string config_dtype(const json& cfg);

/// Calls f(Tag<float>{}) or f(Tag<double>{}) as `dtype` ("float32" or "float64") says.
template <class F>
decltype(auto) with_dtype(const std::string& dtype, F&& f) {
  if (dtype == "float64") return f(Tag<double>{});
  return f(Tag<float>{});
}

/// Everything built from a config: data, model, objective, optimiser, in the scalar type T of cfg["dtype"].
template <class T>
struct Session {
  json cfg;
  Dataset data;  // float64 rows; batches and evaluation points are converted to T where the model reads them
  std::unique_ptr<Energy<T>> model;
  std::unique_ptr<Objective<T>> objective;
  /// The objective's row shards (training.shards): what a training step runs, and the owner of the objective's
  /// state (persistent chains) during training.
  std::unique_ptr<ShardedObjective<T>> shards;
  std::unique_ptr<Optimizer<T>> optimizer;
  double base_lr = 0, base_min_lr = 0;

  std::vector<ad::Tensor<T>*> parameters() { return parameter_list(*model, objective.get()); }  // model then objective extras
  void set_lr_scale(double scale) {
    optimizer->schedule().lr = base_lr * scale;
    optimizer->schedule().min_lr = base_min_lr * scale;
  }

  /// The held-out data of every evaluation metric (evaluation.held_out; held_out.cpp), loaded on first use: the
  /// data source's test split (all of it), a fresh draw of a random source on stream kHeldOutStream, or, for
  /// "none" (and "auto" on a fixed source without a test split), the training data itself, which
  /// `held_out_is_training_data()` then says.
  const Dataset& held_out();
  bool held_out_is_training_data() const;
  /// What held_out() is: "test_split", "fresh_draw" or "training_data" (for summary.json).
  std::string held_out_source() const;

 private:
  std::optional<Dataset> held_out_;  // empty while not loaded, and for "training_data" (no copy is made)
  bool held_out_loaded_ = false;
};

/// evaluation.held_out with "auto" resolved against the data source: "test", "fresh" or "none".
std::string held_out_mode(const json& cfg);

/// Loads the data and builds the components in T (no files written). Data problems throw DataError/InputError.
/// T must be the config's dtype.
template <class T>
Session<T> build_session(const json& cfg);

struct RunOptions {
  std::filesystem::path dir;  // the run directory
  bool resume = false;
  bool quiet = false;
};

/// Trains, samples, evaluates and writes the run directory; returns summary.json's content.
template <class T>
json run_experiment(Session<T>& s, const RunOptions& opt);

/// Restores parameters (and optimiser state) of a checkpoint into `s`; returns the step. InputError when the
/// checkpoint's dtype is not T.
template <class T>
int64_t restore_checkpoint(Session<T>& s, const json& checkpoint);

/// The dtype of a run directory: its config.json's "dtype" (float64 when it has none: written before the key).
std::string run_dtype(const std::filesystem::path& dir);

/// A trained run directory as a Session in T (run_dtype(dir)): its config.json re-validated, data reloaded, latest
/// checkpoint restored. InputError when `dir` is not a run directory, has no checkpoint, or its checkpoint's dtype
/// differs from the config's.
template <class T>
Session<T> open_run(const std::filesystem::path& dir);

inline constexpr uint64_t kDataStream = 1, kInitStream = 2, kTrainStream = 3, kSampleStream = 4;
/// Evaluation: AIS (forward and reverse chains from Rng(seed, kAisStream).next_u64(), ais.hpp's streams under it;
/// reverse AIS's exact samples from .split(1), its choice of held-out rows from .split(2)), and the held-out draw
/// of a random data source (evaluation.held_out "fresh").
inline constexpr uint64_t kAisStream = 5, kHeldOutStream = 6;
/// Evaluation: the noise and chains of the restoration (denoising / inpainting) demos.
inline constexpr uint64_t kRestoreStream = 7;
/// training.batches "epochs": epoch e's permutation of the rows from Rng(seed, kEpochStream).split(e).
inline constexpr uint64_t kEpochStream = 8;
/// Evaluation: the KSD bootstrap weights (evaluation.ksd), seeded with Rng(seed, kKsdStream).next_u64().
inline constexpr uint64_t kKsdStream = 9;

}  // namespace ebm::experiment
