#pragma once
// The run directory: atomic writes, checkpoints and the "complete" marker.
//
// Layout of a run directory:
//   config.json      the resolved config (every default explicit); `ebm run DIR/config.json` reproduces the run
//   metrics.jsonl    one JSON line per logging step
//   checkpoint.cbor  the latest checkpoint (CBOR-encoded JSON: exact doubles, compact)
//   samples.npy, *.png
//   summary.json     written last: its presence is what marks a run complete, so a failed or killed run never
//                    looks complete
// Every file a later step reads is written atomically (temporary file, fsync, rename, fsync of the folder),
// so a crash leaves either the old or the new version, never a torn one, and a bad state is never written
// over a good checkpoint (the runner only checkpoints finite states).
#include <filesystem>
#include <optional>
#include <string_view>

#include <autodiff/random.hpp>

#include "ebm/experiment/schema.hpp"

namespace ebm::experiment {

/// Writes bytes to "<path>.tmp.<pid>", fsyncs it, renames it over `path` and fsyncs the folder.
/// Throws std::runtime_error naming the file on failure (the temporary is removed).
void write_atomic(const std::filesystem::path& path, std::string_view bytes);
/// Pretty-printed JSON plus a newline, atomically.
void write_json(const std::filesystem::path& path, const json& j);
/// Reads a JSON file; throws std::runtime_error naming it when it is missing or malformed.
json read_json(const std::filesystem::path& path);

inline constexpr const char* kCheckpointFile = "checkpoint.cbor";
inline constexpr const char* kSummaryFile = "summary.json";
inline constexpr const char* kConfigFile = "config.json";
inline constexpr const char* kMetricsFile = "metrics.jsonl";

/// Saves a checkpoint document (parameters, optimiser, RNG states, step... as the runner lays them out).
void save_checkpoint(const std::filesystem::path& dir, const json& checkpoint);
/// The latest checkpoint, or nullopt when the run has none. Throws std::runtime_error on a corrupt file.
std::optional<json> load_checkpoint(const std::filesystem::path& dir);

json rng_to_json(const ad::Rng::State& s);
ad::Rng::State rng_from_json(const json& j);

/// Keeps only the lines of metrics.jsonl whose "step" is <= `step` (used by --resume, so the resumed log
/// equals an uninterrupted one line for line, wall times aside).
void truncate_metrics(const std::filesystem::path& dir, int64_t step);

}  // namespace ebm::experiment
