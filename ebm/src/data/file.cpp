#include "ebm/data/file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "ebm/data/error.hpp"

namespace ebm::data {

std::string read_file_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw DataError(path, "no such file");
  if (std::filesystem::is_directory(path, ec)) throw DataError(path, "expected a file, found a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, std::string("cannot open for reading: ") + std::strerror(errno));
  std::string bytes;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size > 0) {
    bytes.resize(static_cast<size_t>(size));
    in.seekg(0, std::ios::beg);
    in.read(bytes.data(), size);
    if (in.gcount() != size) throw DataError(path, "read failed after " + std::to_string(in.gcount()) + " bytes");
  }
  return bytes;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw DataError(path, std::string("cannot open '") + tmp.string() + "' for writing: " + std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ignore;
      std::filesystem::remove(tmp, ignore);
      throw DataError(path, "write of " + std::to_string(bytes.size()) + " bytes failed (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignore;
    std::filesystem::remove(tmp, ignore);
    throw DataError(path, "cannot rename temporary file into place: " + ec.message());
  }
}

}  // namespace ebm::data
