// Fuzz target: the experiment file and `--set` overrides (ebm/experiment/config.hpp, schema.hpp).
//
// The input is resolved as an experiment file, and each of its lines is applied as a `--set` assignment, both to an
// empty object directly (apply_set) and through resolve_config to the default experiment. What must hold:
//   - the only exceptions are ConfigError (resolve_config) and std::invalid_argument (apply_set): what `ebm` turns
//     into exit 2; anything else would be reported as a run-time failure, or not at all;
//   - a config after apply_set can be written out (dumped), as config.json is;
//   - a resolved config round-trips: resolving its dump gives it back, so a run directory's config.json reproduces
//     the run;
//   - read as a run directory's config.json (read_json), the text is refused with InputError (exit 2) or can be
//     written out again.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ebm/experiment/config.hpp"
#include "ebm/experiment/registry.hpp"
#include "ebm/experiment/rundir.hpp"
#include "fuzz_support.hpp"

namespace ex = ebm::experiment;

namespace {

constexpr size_t kMaxSets = 64;

ex::json resolve(const std::string& text, const std::vector<std::string>& sets) {
  return ex::resolve_config(text, "fuzz.json", sets, fuzz::scratch());
}

std::string dump_or_fail(const ex::json& j, const std::string& what) {
  try {
    return j.dump();
  } catch (const ex::json::exception& e) {
    fuzz::fail(what + " cannot be written as JSON: " + e.what());
  }
}

void check_round_trip(const ex::json& resolved) {
  const std::string text = dump_or_fail(resolved, "a resolved config");
  ex::json again;
  fuzz::only_throws<>("resolving a resolved config", [&] {
    try {
      again = resolve(text, {});
    } catch (const ex::ConfigError& e) {
      fuzz::fail(std::string("a resolved config is refused when resolved again: ") + e.what() + "\n" + text);
    }
  });
  if (again != resolved) fuzz::fail("resolving a resolved config changes it:\n" + text + "\n" + dump_or_fail(again, "the second resolution"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  ex::json resolved;
  if (fuzz::only_throws<ex::ConfigError>("resolve_config", [&] { resolved = resolve(text, {}); })) check_round_trip(resolved);

  std::vector<std::string> sets;
  for (size_t start = 0; start <= text.size() && sets.size() < kMaxSets;) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    sets.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  ex::json config = ex::json::object();
  for (const std::string& s : sets) {
    if (fuzz::only_throws<std::invalid_argument>("apply_set", [&] { ex::apply_set(config, s); }))
      dump_or_fail(config, "the config after --set " + s);
  }
  if (fuzz::only_throws<ex::ConfigError>("resolve_config with --set", [&] { resolved = resolve("{}", sets); })) check_round_trip(resolved);

  // The same text as a run directory's config.json, which `ebm sample`, `eval` and `run --resume` read back.
  const std::filesystem::path stored = fuzz::scratch() / ex::kConfigFile;
  fuzz::write_bytes(stored, text);
  ex::json back;
  if (fuzz::only_throws<ex::InputError>("read_json", [&] { back = ex::read_json(stored); })) dump_or_fail(back, "a config.json read back");
  return 0;
}
