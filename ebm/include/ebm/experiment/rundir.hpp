#pragma once
// The run directory: atomic writes, checkpoints and the "complete" marker.
//
// Layout of a run directory:
//   config.json      the resolved config (every default explicit); `ebm run DIR/config.json` reproduces the run
//   metrics.jsonl    one JSON line per logging step
//   checkpoint.cbor  the latest checkpoint: a header with a CRC-32C of the payload, then the payload in CBOR
//                    (exact values in the run's dtype, compact); Note [Checkpoint files]
//   checkpoint.prev.cbor  the checkpoint before it, kept so that a damaged newest one costs one interval
//   samples.npy, *.png
//   summary.json     written last: its presence is what marks a run complete, so a failed or killed run never
//                    looks complete
// Every file a later step reads is written atomically (temporary file, fsync, rename, fsync of the folder),
// so a crash leaves either the old or the new version, never a torn one, and a bad state is never written
// over a good checkpoint (the runner only checkpoints finite states).
#include <filesystem>
#include <optional>
#include <cstdint>
#include <string_view>

#include <autodiff/random.hpp>

#include "ebm/experiment/schema.hpp"

namespace ebm::experiment {

/// Writes bytes to "<path>.tmp.<pid>", fsyncs it, renames it over `path` and fsyncs the folder.
/// Throws std::runtime_error naming the file on failure (the temporary is removed).
void write_atomic(const std::filesystem::path& path, std::string_view bytes);
/// Pretty-printed JSON plus a newline, atomically.
void write_json(const std::filesystem::path& path, const json& j);
/// Reads a JSON file under Note [Input limits] (schema.hpp); throws std::runtime_error naming it when it cannot be
/// opened, and InputError (bad input, exit 2) when it is malformed or breaks a limit.
json read_json(const std::filesystem::path& path);

inline constexpr const char* kCheckpointFile = "checkpoint.cbor";
inline constexpr const char* kSummaryFile = "summary.json";
inline constexpr const char* kConfigFile = "config.json";
inline constexpr const char* kMetricsFile = "metrics.jsonl";

inline constexpr const char* kPreviousCheckpointFile = "checkpoint.prev.cbor";

// Note [Checkpoint files]: a checkpoint file is a 24-byte header, then the payload (the checkpoint document in CBOR):
//   bytes 0–7   the magic "EBMCKPT\n"
//   bytes 8–11  the format version, 3 (little-endian uint32)
//   bytes 12–15 the CRC-32C (Castagnoli) of the payload (little-endian uint32)
//   bytes 16–23 the payload's length in bytes (little-endian uint64)
// A flipped bit anywhere in the payload, a truncated file or a damaged header is detected before any value is
// used, so a damaged checkpoint is refused (exit 2, with the file and what is wrong) instead of resuming or
// sampling from wrong parameters. Saving moves the current checkpoint to checkpoint.prev.cbor first; the message
// for a damaged newest checkpoint says so and how to resume from the previous one. Files written before the header
// existed (a bare CBOR document) are still read, without a check.

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `bytes`, continuing from `crc` (0 to start).
uint32_t crc32c(std::string_view bytes, uint32_t crc = 0);

/// Saves a checkpoint document (parameters, optimiser, RNG states, step... as the runner lays them out), keeping the
/// one it replaces as checkpoint.prev.cbor.
void save_checkpoint(const std::filesystem::path& dir, const json& checkpoint);
/// Reads and checks one checkpoint file. Throws InputError naming the file and what is wrong (missing, too short,
/// bad magic, unknown version, length or checksum mismatch, undecodable payload).
json read_checkpoint_file(const std::filesystem::path& file);
/// The latest checkpoint (DIR/checkpoint.cbor; checkpoint.prev.cbor when a save was cut between its renames), or
/// nullopt when the run has none. A damaged one throws InputError, whose message names the previous generation
/// when that one is intact.
std::optional<json> load_checkpoint(const std::filesystem::path& dir);

json rng_to_json(const ad::Rng::State& s);
ad::Rng::State rng_from_json(const json& j);

/// Keeps only the lines of metrics.jsonl whose "step" is <= `step` (used by --resume, so the resumed log
/// equals an uninterrupted one line for line, wall times aside).
void truncate_metrics(const std::filesystem::path& dir, int64_t step);

}  // namespace ebm::experiment
