#include "ebm/data/csv.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>

#include "ebm/data/file.hpp"

namespace ebm::data {
namespace {

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n\v\f";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::vector<std::string_view> split_cells(std::string_view line) {
  std::vector<std::string_view> cells;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    cells.push_back(trim(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return cells;
}

enum class Parse { ok, not_number, out_of_range };

// std::from_chars is locale-independent (strtod is not) but rejects a leading '+', which people do write.
Parse parse_number(std::string_view cell, double& v) {
  if (!cell.empty() && cell[0] == '+') {
    cell.remove_prefix(1);
    if (!cell.empty() && (cell[0] == '-' || cell[0] == '+')) return Parse::not_number;
  }
  if (cell.empty()) return Parse::not_number;
  const auto [ptr, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
  if (ptr != cell.data() + cell.size()) return Parse::not_number;
  if (ec == std::errc::result_out_of_range) return Parse::out_of_range;
  if (ec != std::errc()) return Parse::not_number;
  return Parse::ok;
}

std::string unquote(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return std::string(s);
}

// A header name as write_csv writes it: as it is where parse_csv reads it back as that name, else in double quotes,
// which parse_csv strips. Unquoted, a name that reads as a number would turn the header into a data row, and an
// empty name, surrounding blanks, a leading '#' or enclosing quotes would be lost on reading. A comma or a line break
// cannot be written at all: the format has no escapes.
std::string header_cell(const std::string& name) {
  if (name.find_first_of(",\n") != std::string::npos)
    throw std::invalid_argument("write_csv: the header name \"" + name + "\" holds a comma or a line break, which this CSV cannot");
  double v;
  const bool plain = !name.empty() && trim(name) == name && name[0] != '#' &&
                     !(name.size() >= 2 && name.front() == '"' && name.back() == '"') && parse_number(name, v) == Parse::not_number;
  if (plain) return name;
  std::string quoted(1, '"');
  quoted += name;
  quoted += '"';
  return quoted;
}

}  // namespace

CsvData parse_csv(std::string_view text, const std::filesystem::path& name) {
  if (trim(text).empty()) throw DataError(name, "file is empty (expected comma-separated numbers, optionally after a header line)");
  CsvData out;
  std::vector<double> values;
  size_t width = 0, width_line = 0, rows = 0;
  bool first_content = true;
  size_t line_no = 0, pos = 0;
  while (pos <= text.size()) {
    const size_t nl = text.find('\n', pos);
    const std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    const std::string_view content = trim(line);
    if (content.empty() || content[0] == '#') continue;
    const auto cells = split_cells(content);
    const std::string where = "line " + std::to_string(line_no);
    if (first_content) {
      first_content = false;
      bool any_number = false;
      for (auto c : cells) {
        double v;
        any_number = any_number || parse_number(c, v) != Parse::not_number;
      }
      if (!any_number) {
        for (auto c : cells) out.header.push_back(unquote(c));
        width = cells.size();
        width_line = line_no;
        continue;
      }
    }
    if (width == 0) {
      width = cells.size();
      width_line = line_no;
    } else if (cells.size() != width) {
      throw DataError(name, where + ": expected " + std::to_string(width) + " columns (as on line " + std::to_string(width_line) + "), found " +
                                std::to_string(cells.size()));
    }
    for (size_t j = 0; j < cells.size(); ++j) {
      const std::string at = where + ", column " + std::to_string(j + 1) + ": ";
      double v = 0;
      switch (parse_number(cells[j], v)) {
        case Parse::not_number:
          throw DataError(name, at + (cells[j].empty() ? std::string("empty cell (expected a number)")
                                                       : "expected a number, found '" + std::string(cells[j]) + "'"));
        case Parse::out_of_range: throw DataError(name, at + "'" + std::string(cells[j]) + "' is out of range for a double");
        case Parse::ok: break;
      }
      if (std::isnan(v)) throw DataError(name, at + "NaN is not allowed");
      if (std::isinf(v)) throw DataError(name, at + "infinite value '" + std::string(cells[j]) + "' is not allowed");
      values.push_back(v);
    }
    ++rows;
  }
  if (rows == 0) throw DataError(name, "no data rows (expected at least one line of numbers after the header)");
  out.values = ad::Tensor<double>(ad::Shape{static_cast<int64_t>(rows), static_cast<int64_t>(width)}, values.data());
  return out;
}

CsvData read_csv_table(const std::filesystem::path& path) { return parse_csv(read_file_bytes(path), path); }

void write_csv(const std::filesystem::path& path, const ad::Tensor<double>& values, const std::vector<std::string>& header) {
  if (values.rank() > 2) throw std::invalid_argument("write_csv: expected a rank 1 or 2 tensor, got shape " + values.shape().str());
  const int64_t rows = values.rank() == 2 ? values.shape()[0] : values.rank() == 1 ? values.shape()[0] : 1;
  const int64_t cols = values.rank() == 2 ? values.shape()[1] : 1;
  if (!header.empty() && static_cast<int64_t>(header.size()) != cols)
    throw std::invalid_argument("write_csv: " + std::to_string(header.size()) + " header names for " + std::to_string(cols) + " columns");
  std::string text;
  for (size_t j = 0; j < header.size(); ++j) {
    if (j) text += ',';  // appended piecewise: "," + std::string trips GCC 12's bogus -Wrestrict (GCC bug 105651)
    text += header_cell(header[j]);
  }
  if (!header.empty()) text += '\n';
  char buf[32];
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      if (j) text += ',';
      const auto res = std::to_chars(buf, buf + sizeof buf, values[i * cols + j]);  // shortest exact round trip
      text.append(buf, res.ptr);
    }
    text += '\n';
  }
  write_file_atomic(path, text);
}

}  // namespace ebm::data
