#pragma once
// Numeric CSV: comma-separated numbers, one example per line, cells whitespace-trimmed.
// - The first content line is a header if none of its cells is a number (so "x,y" is a header, "1,2" is data
//   and "x,2" is a data row with a bad cell: mixing would silently drop a row otherwise).
// - Blank lines and lines starting with '#' (numpy.savetxt's header style) are skipped; line numbers in
//   messages still count them, so they match what an editor shows. CRLF line ends are accepted.
// - Every data row must have as many cells as the first one; NaN and infinities are rejected because a
//   single one poisons every loss and gradient downstream, far from where it came from.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "autodiff/tensor.hpp"
#include "ebm/data/error.hpp"

namespace ebm::data {

struct CsvData {
  ad::Tensor<double> values;        // [N, D]
  std::vector<std::string> header;  // D names, or empty when the file has no header line
};

/// Parses CSV text; `name` is used in error messages ("<name>: line 7, column 2: NaN is not allowed").
CsvData parse_csv(std::string_view text, const std::filesystem::path& name);
CsvData read_csv_table(const std::filesystem::path& path);
/// Just the values, [N, D].
inline ad::Tensor<double> read_csv(const std::filesystem::path& path) { return read_csv_table(path).values; }

/// Writes a rank-2 tensor (rank 1 becomes one column) with shortest round-trip formatting, atomically.
/// `header` must be empty or have one name per column (std::invalid_argument otherwise); a name that would read back
/// as something else (a number, an empty or blank-edged name, a leading '#') is written in double quotes, and
/// read_csv_table strips them.
void write_csv(const std::filesystem::path& path, const ad::Tensor<double>& values, const std::vector<std::string>& header = {});

}  // namespace ebm::data
