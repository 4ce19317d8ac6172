#include "ebm/experiment/rundir.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace ebm::experiment {

namespace fs = std::filesystem;

namespace {
[[noreturn]] void fail(const fs::path& p, const std::string& what) {
  throw std::runtime_error(p.string() + ": " + what + ": " + std::strerror(errno));
}
}  // namespace

void write_atomic(const fs::path& path, std::string_view bytes) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(tmp, "cannot create");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(tmp, "write failed");
    }
    done += static_cast<size_t>(n);
  }
  // fsync before rename: otherwise a power cut can leave the new name pointing at empty data.
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail(tmp, "fsync failed");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    fail(path, "rename failed");
  }
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // makes the rename itself durable
    ::close(dfd);
  }
}

void write_json(const fs::path& path, const json& j) { write_atomic(path, j.dump(2) + "\n"); }

json read_json(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const json::parse_error& e) {
    throw std::runtime_error(path.string() + ": invalid JSON: " + e.what());
  }
}

void save_checkpoint(const fs::path& dir, const json& checkpoint) {
  std::vector<uint8_t> bytes = json::to_cbor(checkpoint);
  write_atomic(dir / kCheckpointFile, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::optional<json> load_checkpoint(const fs::path& dir) {
  fs::path p = dir / kCheckpointFile;
  std::error_code ec;
  if (!fs::exists(p, ec)) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return json::from_cbor(bytes);
  } catch (const json::exception& e) {
    throw std::runtime_error(p.string() + ": corrupt checkpoint: " + e.what());
  }
}

json rng_to_json(const ad::Rng::State& s) {
  return json{{"seed", s.seed}, {"stream", s.stream}, {"counter", s.counter}, {"used", s.used}, {"has_spare", s.has_spare}, {"spare", s.spare}};
}

ad::Rng::State rng_from_json(const json& j) {
  ad::Rng::State s;
  s.seed = j["seed"], s.stream = j["stream"], s.counter = j["counter"], s.used = j["used"];
  s.has_spare = j["has_spare"], s.spare = j["spare"];
  return s;
}

void truncate_metrics(const fs::path& dir, int64_t step) {
  fs::path p = dir / kMetricsFile;
  std::ifstream in(p);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    try {
      json j = json::parse(line);
      if (j.contains("step") && j["step"].get<int64_t>() <= step) kept += line + "\n";
    } catch (const json::exception&) {
      break;  // a torn last line from a killed run
    }
  }
  in.close();
  write_atomic(p, kept);
}

}  // namespace ebm::experiment
