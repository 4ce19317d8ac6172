#pragma once
// Whole-file reads and atomic writes shared by the data and plot writers.
#include <filesystem>
#include <string>
#include <string_view>

namespace ebm::data {

/// The whole file as bytes; DataError if it does not exist or cannot be read.
std::string read_file_bytes(const std::filesystem::path& path);

/// Writes `bytes` to "<path>.tmp" and renames it over `path`, so a reader (or a crash) never sees a
/// half-written file. Creates no directories. DataError on any failure (the temporary is removed).
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

}  // namespace ebm::data
