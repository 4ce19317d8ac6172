#pragma once
// The experiment file: its schema (assembled from the registries) and loading with overrides.
//
// Sections: seed, dtype, data, model, objective, sampler, optimiser, training, evaluation, output. Loading parses the
// file, applies `--set` overrides, validates everything against the schema, runs each data source's cheap
// checks (files exist, shapes agree) and makes relative data paths absolute, so the resolved config written to
// the run directory reproduces the run from anywhere.
#include <filesystem>
#include <string>
#include <vector>

#include "ebm/experiment/schema.hpp"

namespace ebm::experiment {

/// All problems found in an experiment file (never just the first); what() joins them, one per line.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::vector<std::string> errors);
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

/// The schema of a whole experiment file.
const Node& experiment_schema();

/// Parses `text` (named `file` in messages), applies `sets`, validates, resolves relative paths against
/// `base_dir`. Throws ConfigError listing every problem.
json resolve_config(const std::string& text, const std::string& file, const std::vector<std::string>& sets,
                    const std::filesystem::path& base_dir);
/// Reads the file and calls resolve_config (base_dir: the file's folder). Missing file -> ConfigError.
json load_config(const std::filesystem::path& file, const std::vector<std::string>& sets = {});

}  // namespace ebm::experiment
