// Fuzz target: the numeric CSV reader (ebm/data/csv.hpp).
//
// The input is a CSV file. What must hold:
//   - parsing, in memory and from a file, throws nothing but DataError (exit 2), and both give the same table;
//   - a table that parses keeps the documented promises: [N, D] with N, D >= 1, finite values, a header of D names
//     or none;
//   - a table round-trips: write_csv then read_csv_table gives the same values, bit for bit, and the same header.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "ebm/data/csv.hpp"
#include "fuzz_support.hpp"

namespace data = ebm::data;

namespace {

bool same(const data::CsvData& a, const data::CsvData& b) {
  return a.header == b.header && a.values.shape() == b.values.shape() &&
         std::memcmp(a.values.data(), b.values.data(), static_cast<size_t>(a.values.numel()) * sizeof(double)) == 0;
}

std::string show(const data::CsvData& t) {
  std::string s = t.values.shape().str() + ", header";
  for (const std::string& h : t.header) s += " [" + h + "]";
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(bytes), size);
  const std::filesystem::path file = fuzz::scratch() / "input.csv";
  fuzz::write_bytes(file, in);

  data::CsvData t, t_file;
  const bool ok = fuzz::only_throws<ebm::DataError>("parse_csv", [&] { t = data::parse_csv(in, "input.csv"); });
  const bool file_ok = fuzz::only_throws<ebm::DataError>("read_csv_table", [&] { t_file = data::read_csv_table(file); });
  fuzz::check(ok == file_ok && (!ok || same(t, t_file)), "parse_csv and read_csv_table disagree");
  if (!ok) return 0;

  fuzz::check(t.values.rank() == 2 && t.values.shape()[0] >= 1 && t.values.shape()[1] >= 1, "a table of shape " + t.values.shape().str());
  fuzz::check(t.header.empty() || static_cast<int64_t>(t.header.size()) == t.values.shape()[1], "a header of the wrong width: " + show(t));
  for (int64_t i = 0; i < t.values.numel(); ++i) fuzz::check(std::isfinite(t.values[i]), "a non-finite value");

  const std::filesystem::path out = fuzz::scratch() / "written.csv";
  data::CsvData back;
  fuzz::only_throws<>("write_csv then read_csv_table", [&] {
    data::write_csv(out, t.values, t.header);
    back = data::read_csv_table(out);
  });
  fuzz::check(same(back, t), "write_csv then read_csv_table changes the table: " + show(t) + " came back as " + show(back));
  return 0;
}
