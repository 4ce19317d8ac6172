#pragma once
// Running an experiment: build every component from a resolved config, train with checkpoints, logging and a
// divergence guard, then sample, evaluate and plot. Errors the user must fix (config, data, dimensions) are
// thrown as ConfigError, DataError or InputError (the tool exits 2); anything else is a run-time failure (1).
//
// Reproducibility: every random stream is derived from config.seed and fixed purposes; the batch and objective
// noise of step t come from Rng(seed, kTrainStream).split(t), so a resumed run draws exactly what an
// uninterrupted one draws, and nothing depends on the thread count.
#include <filesystem>
#include <memory>
#include <optional>

#include "ebm/experiment/registry.hpp"

namespace ebm::experiment {

/// Everything built from a config: data, model, objective, optimiser.
struct Session {
  json cfg;
  Dataset data;
  std::unique_ptr<Energy<double>> model;
  std::unique_ptr<Objective<double>> objective;
  std::unique_ptr<Optimizer<double>> optimizer;
  const OptimizerEntry* optimizer_entry = nullptr;
  double base_lr = 0, base_min_lr = 0;

  /// Image grids prepared by evaluate_model (evaluation.restore) for write_plots: file name, tiles [n, H*W]
  /// in reading order, tiles per grid row.
  struct ImageFigure {
    std::string file;
    ad::Tensor<double> tiles;
    int cols = 1;
  };
  std::vector<ImageFigure> figures;

  std::vector<ad::Tensor<double>*> parameters();  // model then objective extras
  void set_lr_scale(double scale);

  /// Data the model was not trained on, loaded on first use: Fashion-MNIST's test split when training on the
  /// train split; for random sources (toy sets) a fresh draw with its own stream; otherwise (files, or
  /// already the test split) the training data itself, and `held_out_is_training_data()` says so.
  const Dataset& held_out();
  bool held_out_is_training_data();

 private:
  std::optional<Dataset> held_out_;
  bool held_out_is_train_ = false;
};

/// Loads the data and builds the components (no files written). Data problems throw DataError/InputError.
Session build_session(const json& cfg);

struct RunOptions {
  std::filesystem::path dir;  // the run directory
  bool resume = false;
  bool quiet = false;
};

/// Trains, samples, evaluates and writes the run directory; returns summary.json's content.
json run_experiment(Session& s, const RunOptions& opt);

/// Restores parameters (and optimiser state) of a run directory's latest checkpoint into `s`; returns the step.
int64_t restore_checkpoint(Session& s, const json& checkpoint);

/// A trained run directory as a Session: its config.json re-validated, data reloaded, latest checkpoint
/// restored. InputError when `dir` is not a run directory or has no checkpoint.
Session open_run(const std::filesystem::path& dir);

/// Draws samples from the model with the config's sampler section (`sampler_cfg`); returns samples [chains, d]
/// and writes the sampler statistics (acceptance, ESS, R-hat) into `stats`.
ad::Tensor<double> draw_samples(Session& s, const json& sampler_cfg, json& stats);

/// Evaluation numbers (log Z, NLL, learned parameters, energies) for the current model and given samples.
json evaluate_model(Session& s, const ad::Tensor<double>& samples);

/// PNG pictures into `dir` (heat map / histogram / image grid, training curves); returns the written names.
std::vector<std::string> write_plots(Session& s, const ad::Tensor<double>& samples, const std::filesystem::path& dir);

/// The quadrature / plot box per axis: evaluation.box, or the data range padded by 25%.
std::vector<std::pair<double, double>> plot_box(const Session& s);

inline constexpr uint64_t kDataStream = 1, kInitStream = 2, kTrainStream = 3, kSampleStream = 4;
/// Evaluation: AIS chains, and the held-out draw of the data source that MMD compares samples with.
inline constexpr uint64_t kAisStream = 5, kHeldOutStream = 6;
/// Evaluation: the noise and chains of the restoration (denoising / inpainting) demos.
inline constexpr uint64_t kRestoreStream = 7;

}  // namespace ebm::experiment
