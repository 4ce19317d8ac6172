// Fuzz target: the checkpoint reader (ebm/experiment/rundir.hpp, Note [Checkpoint files]).
//
// The input is a run directory's checkpoint.cbor. What must hold:
//   - read_checkpoint_file and load_checkpoint throw nothing but InputError (exit 2 in `ebm run --resume`, `sample`
//     and `eval`), and agree: the file reads if and only if the directory loads, to the same document;
//   - with the input as the previous generation alone, load_checkpoint reads it as read_checkpoint_file does; with
//     a newest one that is cut short, it throws InputError;
//   - a checkpoint that reads is an object, and round-trips: save_checkpoint then read_checkpoint_file gives the same
//     document (compared as CBOR, so that NaNs compare equal), and saving again keeps it as the previous generation.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "ebm/experiment/registry.hpp"
#include "ebm/experiment/rundir.hpp"
#include "fuzz_support.hpp"

namespace ex = ebm::experiment;
namespace fs = std::filesystem;

namespace {

bool same(const ex::json& a, const ex::json& b) { return ex::json::to_cbor(a) == ex::json::to_cbor(b); }

void reset(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const fs::path dir = fuzz::scratch() / "run", file = dir / ex::kCheckpointFile, prev = dir / ex::kPreviousCheckpointFile;
  reset(dir);
  fuzz::write_bytes(file, bytes);

  std::optional<ex::json> doc;
  fuzz::only_throws<ex::InputError>("read_checkpoint_file", [&] { doc = ex::read_checkpoint_file(file); });
  std::optional<ex::json> loaded;
  const bool loads = fuzz::only_throws<ex::InputError>("load_checkpoint", [&] { loaded = ex::load_checkpoint(dir); });
  fuzz::check(loads == doc.has_value(), "read_checkpoint_file and load_checkpoint disagree on whether the file is a checkpoint");
  if (doc) {
    fuzz::check(loaded.has_value() && same(*loaded, *doc), "load_checkpoint gives another document than read_checkpoint_file");
    fuzz::check(doc->is_object(), "a checkpoint document that is not an object");
  }

  // Only the previous generation is left (a save was cut between its two renames): it is the latest.
  fs::rename(file, prev);
  loaded.reset();
  const bool prev_loads = fuzz::only_throws<ex::InputError>("load_checkpoint of the previous generation", [&] { loaded = ex::load_checkpoint(dir); });
  fuzz::check(prev_loads == doc.has_value() && (!doc || (loaded && same(*loaded, *doc))),
              "load_checkpoint reads the previous generation alone otherwise than read_checkpoint_file");
  // The newest is damaged too: the message then says whether the previous one is intact. A CBOR item is
  // self-delimiting, so no proper prefix of a checkpoint is one.
  fuzz::write_bytes(file, bytes.substr(0, bytes.size() / 2));
  const bool half_loads = fuzz::only_throws<ex::InputError>("load_checkpoint of a cut newest file", [&] { ex::load_checkpoint(dir); });
  fuzz::check(!(doc && half_loads), "load_checkpoint accepts the first half of a checkpoint");

  if (doc) {
    const fs::path again = fuzz::scratch() / "again";
    reset(again);
    fuzz::only_throws<>("save_checkpoint", [&] { ex::save_checkpoint(again, *doc); });
    ex::json back;
    fuzz::only_throws<>("reading a saved checkpoint", [&] { back = ex::read_checkpoint_file(again / ex::kCheckpointFile); });
    fuzz::check(same(back, *doc), "a checkpoint changes when saved and read again");
    fuzz::only_throws<>("saving a second generation", [&] { ex::save_checkpoint(again, back); });
    fuzz::only_throws<>("reading the previous generation", [&] { back = ex::read_checkpoint_file(again / ex::kPreviousCheckpointFile); });
    fuzz::check(same(back, *doc), "the previous generation differs from the checkpoint it was");
  }
  return 0;
}
