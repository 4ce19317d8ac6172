#include "ebm/experiment/rundir.hpp"

#include "ebm/experiment/registry.hpp"  // InputError

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
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
  // Under Note [Input limits], as an experiment file is: a run directory's config.json becomes a config again, and
  // its dumps and walks recurse once per nesting level. A damaged one is bad input (exit 2), like a damaged checkpoint.
  try {
    return parse_limited(ss.str());
  } catch (const std::invalid_argument& e) {
    throw InputError(path.string() + ": " + e.what());
  }
}

namespace {

constexpr char kMagic[8] = {'E', 'B', 'M', 'C', 'K', 'P', 'T', '\n'};
constexpr uint32_t kCheckpointVersion = 3;
constexpr size_t kHeaderBytes = 24;

// The 256-entry table of the reflected CRC-32C, built once.
const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

template <class U>
void put_le(std::string& out, U v) {
  for (size_t k = 0; k < sizeof(U); ++k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
}
template <class U>
U get_le(const std::string& in, size_t at) {
  U v = 0;
  for (size_t k = 0; k < sizeof(U); ++k) v |= static_cast<U>(static_cast<uint8_t>(in[at + k])) << (8 * k);
  return v;
}

// Whether a CBOR payload nests deeper than kMaxJsonDepth (Note [Input limits]), found by a pass that builds nothing.
// json::from_cbor descends one call per level, so a payload of some hundred kilobytes of one-element arrays would
// overflow the stack; a checkpoint nests a handful of levels. The reader calls start_object / start_array before it
// descends, so this pass stops before the recursion does. Malformed payloads end the pass without a verdict: the
// decoding that follows names what is wrong with them.
class DepthCheck : public json::json_sax_t {
 public:
  bool too_deep = false;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return enter(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override { return leave(); }
  bool parse_error(std::size_t, const std::string&, const json::exception&) override { return false; }

 private:
  bool enter() {
    too_deep = ++depth_ > kMaxJsonDepth;
    return !too_deep;
  }
  bool leave() {
    --depth_;
    return true;
  }
  int depth_ = 0;
};

}  // namespace

uint32_t crc32c(std::string_view bytes, uint32_t crc) {
  const auto& t = crc_table();
  crc = ~crc;
  for (unsigned char b : bytes) crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

void save_checkpoint(const fs::path& dir, const json& checkpoint) {
  const std::vector<uint8_t> payload = json::to_cbor(checkpoint);
  const std::string_view body(reinterpret_cast<const char*>(payload.data()), payload.size());
  std::string bytes(kMagic, sizeof kMagic);
  put_le<uint32_t>(bytes, kCheckpointVersion);
  put_le<uint32_t>(bytes, crc32c(body));
  put_le<uint64_t>(bytes, payload.size());
  bytes.append(body);
  // The current checkpoint becomes the previous one before the new one takes its name. A crash between the two
  // renames leaves only checkpoint.prev.cbor, which load_checkpoint's message then points to.
  std::error_code ec;
  if (fs::exists(dir / kCheckpointFile, ec)) {
    fs::rename(dir / kCheckpointFile, dir / kPreviousCheckpointFile, ec);
    if (ec) throw std::runtime_error((dir / kCheckpointFile).string() + ": cannot keep it as " + kPreviousCheckpointFile + ": " + ec.message());
  }
  // Test hook for fault injection: a kill -9 between the two renames (the state load_checkpoint must recover from).
  if (const char* e = std::getenv("EBM_TEST_CRASH_DURING_CHECKPOINT"); e && std::atoll(e) == checkpoint.value("step", int64_t{-1}))
    std::raise(SIGKILL);
  write_atomic(dir / kCheckpointFile, bytes);
}

json read_checkpoint_file(const fs::path& file) {
  auto bad = [&](const std::string& what) { return InputError(file.string() + ": damaged checkpoint: " + what); };
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string() + ": cannot open the checkpoint");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string_view payload = bytes;
  if (bytes.size() >= sizeof kMagic && bytes.compare(0, sizeof kMagic, kMagic, sizeof kMagic) == 0) {
    if (bytes.size() < kHeaderBytes) throw bad("the header is cut short (" + std::to_string(bytes.size()) + " bytes)");
    const uint32_t version = get_le<uint32_t>(bytes, 8), crc = get_le<uint32_t>(bytes, 12);
    const uint64_t length = get_le<uint64_t>(bytes, 16);
    if (version != kCheckpointVersion)
      throw bad("format version " + std::to_string(version) + ", this build reads version " + std::to_string(kCheckpointVersion));
    if (length != bytes.size() - kHeaderBytes)
      throw bad("the header says " + std::to_string(length) + " payload bytes, the file holds " + std::to_string(bytes.size() - kHeaderBytes));
    payload = payload.substr(kHeaderBytes);
    if (crc32c(payload) != crc) throw bad("the checksum does not match (the payload was changed after it was written)");
  } else if (bytes.empty() || (static_cast<uint8_t>(bytes[0]) & 0xE0) != 0xA0) {
    // Not the header, and not a bare CBOR map either (major type 5: a checkpoint written before the header).
    throw bad("not a checkpoint (no EBMCKPT header)");
  }
  try {
    DepthCheck depth;
    json::sax_parse(payload.begin(), payload.end(), &depth, json::input_format_t::cbor);
    if (depth.too_deep) throw bad("the payload nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    json doc = json::from_cbor(payload);
    if (!doc.is_object()) throw bad("the payload is not a checkpoint document");
    return doc;
  } catch (const json::exception& e) {
    throw bad(std::string("the payload does not decode: ") + e.what());
  }
}

std::optional<json> load_checkpoint(const fs::path& dir) {
  const fs::path p = dir / kCheckpointFile, prev = dir / kPreviousCheckpointFile;
  std::error_code ec;
  const bool has_prev = fs::exists(prev, ec);
  auto previous_hint = [&]() -> std::string {
    if (!has_prev) return "";
    try {
      const json old = read_checkpoint_file(prev);
      return "; the previous checkpoint " + prev.string() + " (step " + old.value("step", json(nullptr)).dump() +
             ") is intact: to continue from it, mv " + prev.string() + " " + p.string() + " and resume";
    } catch (const std::exception&) {
      return "; the previous checkpoint " + prev.string() + " is damaged too";
    }
  };
  if (!fs::exists(p, ec)) {
    // Only the previous generation: the process died between save_checkpoint's two renames, i.e. before the new
    // checkpoint existed. That is the state a kill just before the save leaves, so the previous one is the latest.
    if (has_prev) return read_checkpoint_file(prev);
    return std::nullopt;
  }
  try {
    return read_checkpoint_file(p);
  } catch (const InputError& e) {
    throw InputError(e.what() + previous_hint());
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
