#pragma once
// The one exception type for unreadable or malformed data files (and files we fail to write).
// The message always starts with the file name and says what was expected versus what was found, because
// the person reading it usually has the file, not a debugger. The `ebm` tool maps DataError to exit code 2.
#include <filesystem>
#include <stdexcept>
#include <string>

namespace ebm {

class DataError : public std::runtime_error {
 public:
  /// what() is "<file>: <detail>", e.g. "data/x.npy: unsupported dtype '<i8' (expected float32, float64 or uint8)".
  DataError(const std::filesystem::path& file, const std::string& detail)
      : std::runtime_error(file.string() + ": " + detail), file_(file), detail_(detail) {}

  const std::filesystem::path& file() const { return file_; }
  /// The message without the file prefix.
  const std::string& detail() const { return detail_; }

 private:
  std::filesystem::path file_;
  std::string detail_;
};

namespace data {
using ebm::DataError;
}  // namespace data

}  // namespace ebm
