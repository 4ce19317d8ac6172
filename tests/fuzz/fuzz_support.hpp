#pragma once
// What every harness shares: a scratch folder for the readers that take a path, and the checks that turn a broken
// promise (an exception of the wrong type, a failed round trip) into an abort, which libFuzzer reports as a crash
// with the input that caused it and the replay test reports as a failure.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <typeinfo>

namespace fuzz {

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz: ");
  std::fwrite(what.data(), 1, what.size(), stderr);  // all of it: inputs may hold NUL bytes
  std::fputc('\n', stderr);
  std::fflush(stderr);
  std::abort();
}

inline void check(bool ok, const std::string& what) {
  if (!ok) fail(what);
}

/// A folder of this process's own under the system's temporary folder ($TMPDIR), emptied at start and removed at
/// normal exit, so that two fuzzers (or a fuzzer and the replay test) never write over each other's files.
inline const std::filesystem::path& scratch() {
  struct Dir {
    std::filesystem::path path;
    Dir() {
      path = std::filesystem::temp_directory_path() / ("ebm-fuzz-" + std::to_string(::getpid()));
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
      std::filesystem::create_directories(path);
    }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir dir;
  return dir.path;
}

inline void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) fail("cannot write the scratch file " + path.string());
}

/// Runs `body`; returns true when it returned, false when it threw one of the `Allowed` exception types. Any other
/// exception aborts, naming its type and message, since it would escape the `ebm` tool's exit-code mapping.
template <class... Allowed, class Body>
bool only_throws(const char* what, Body&& body) {
  try {
    body();
    return true;
  } catch (const std::exception& e) {
    if ((dynamic_cast<const Allowed*>(&e) || ...)) return false;
    fail(std::string(what) + ": unexpected exception " + typeid(e).name() + ": " + e.what());
  } catch (...) {
    fail(std::string(what) + ": unexpected exception that is not a std::exception");
  }
}

}  // namespace fuzz
