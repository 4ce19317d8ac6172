// `ebm run FILE.json`: validate everything, load the data, then create the run directory and train. Bad input
// is found before the directory exists, so a refused run leaves nothing behind.
#include <cstdio>
#include <filesystem>
#include <memory>

#include <autodiff/threads.hpp>
#include <ebm/experiment/config.hpp>
#include <ebm/experiment/rundir.hpp>
#include <ebm/experiment/train.hpp>

#include "cli.hpp"

namespace cli {

namespace fs = std::filesystem;
using namespace ebm::experiment;

namespace {
const char* kRunHelp =
    "usage: ebm run FILE.json [--out DIR] [--resume | --force] [--set path.to.key=value]... [--threads N] [--quiet]\n"
    "\n"
    "Trains, samples and evaluates the experiment; writes config.json, metrics.jsonl, checkpoint.cbor,\n"
    "samples.npy, PNG pictures and (last) summary.json into the run directory (default: output.dir, else\n"
    "runs/<FILE name>).\n"
    "  --out DIR        run directory\n"
    "  --resume         continue DIR from its last checkpoint (bit-identical to an uninterrupted run)\n"
    "  --force          replace DIR if it is a run directory (its files are deleted first)\n"
    "  --set k.k=value  override a config key (value parsed as JSON, else taken as a string); repeatable\n"
    "  --threads N      threads for the kernels (results do not depend on it)\n"
    "  --quiet          no progress output\n"
    "\n"
    "Under mpirun (a build with the CMake option EBM_MPI), P processes share each batch's training.shards:\n"
    "  mpirun -np 2 ebm run FILE.json --set training.shards=2 --threads 1\n"
    "The results do not depend on the process count; the first process alone writes the run directory.\n";

// Two configs describe the same run when everything but the output section agrees.
std::string first_difference(json a, json b) {
  a.erase("output"), b.erase("output");
  json patch = json::diff(a, b);
  return patch.empty() ? "" : patch[0]["path"].get<std::string>();
}
// The run in the experiment's dtype, from building its session (where data and dimension problems surface, before
// anything is written) to summary.json. `replace`: --force, the old run directory is deleted once the input is valid.
// With several processes each trains its shards, and the first alone writes the run directory (Note [Shards across
// processes]).
template <class T>
int train(const json& cfg, const std::string& file, const fs::path& dir, bool replace, const RunOptions& opt,
          std::shared_ptr<const ebm::ShardComm> processes) {
  Session<T> s = session_of<T>(cfg, file);
  s.shards->distribute(processes);
  const bool writer = processes->rank() == 0;
  // Every process has checked the run directory (cmd_run) before the first one changes it: otherwise a process
  // that looks later would find the directory just created and refuse to overwrite it.
  if (processes->size() > 1) processes->all_gather({});
  std::error_code ec;
  if (writer) {
    if (replace && fs::exists(dir / kConfigFile, ec)) fs::remove_all(dir, ec);  // after validation: a bad file keeps it
    fs::create_directories(dir, ec);  // an unusable output path is bad input, like a bad config (exit 2)
    if (ec) throw ebm::experiment::InputError(dir.string() + ": cannot create the run directory: " + ec.message());
    if (!opt.resume) write_json(dir / kConfigFile, cfg);
  }
  json summary = run_experiment(s, opt);
  if (!opt.quiet && writer) {
    std::fprintf(stderr, "done: %s/summary.json", dir.c_str());
    for (const auto& p : summary["files"]["plots"]) std::fprintf(stderr, ", %s/%s", dir.c_str(), p.get<std::string>().c_str());
    std::fprintf(stderr, "\n");
  }
  return kOk;
}

}  // namespace

int cmd_run(int argc, char** argv, std::shared_ptr<const ebm::ShardComm> processes) {
  Args a = parse(argc, argv, 2,
                 {{"--out", true}, {"--resume", false}, {"--force", false}, {"--set", true}, {"--threads", true}, {"--quiet", false}, {"--help", false}});
  if (a.has("--help")) return std::fputs(kRunHelp, stdout), kOk;
  if (a.positional.size() != 1) throw UsageError("expected one experiment file, got " + std::to_string(a.positional.size()));
  int threads = static_cast<int>(a.get_int("--threads", 0));
  bool quiet = a.has("--quiet"), resume = a.has("--resume"), force = a.has("--force");
  if (resume && force) throw UsageError("--resume continues a run and --force replaces it: give one of them");
  std::vector<std::string> sets = a.has("--set") ? a.values.at("--set") : std::vector<std::string>{};

  json cfg = load_config(a.positional[0], sets);
  if (a.has("--out")) cfg["output"]["dir"] = a.get("--out");
  fs::path dir = cfg["output"]["dir"].get<std::string>();
  std::error_code ec;
  if (resume) {
    if (!fs::exists(dir / kConfigFile, ec))
      throw UsageError("--resume: " + dir.string() + " is not a run directory (no config.json)");
    json stored = read_json(dir / kConfigFile);
    if (stored.is_object() && !stored.contains("dtype")) stored["dtype"] = "float64";  // written before the key: float64
    std::string diff = first_difference(stored, cfg);
    if (diff == "/dtype")
      throw UsageError("--resume: " + dir.string() + " was trained in " + stored["dtype"].dump() + " and the experiment says \"dtype\": " +
                       cfg["dtype"].dump() + "; a run continues in the dtype it started in (--set dtype=" +
                       (stored["dtype"].is_string() ? stored["dtype"].get<std::string>() : "float64") + ")");
    if (!diff.empty())
      throw UsageError("--resume: the experiment differs from " + (dir / kConfigFile).string() + " at " + diff +
                       "; resume with the same file and --set options");
    if (fs::exists(dir / kSummaryFile, ec)) {
      if (!quiet) std::fprintf(stderr, "%s is already complete\n", dir.c_str());
      return kOk;
    }
  } else if (fs::exists(dir, ec) && fs::is_directory(dir, ec) && !fs::is_empty(dir, ec)) {
    if (!force)
      throw UsageError("run directory " + dir.string() + " already exists; --resume continues it, --force replaces it, " +
                       "--out DIR starts a new one elsewhere");
    // Only a run directory is deleted: --force on any other folder (a typo in --out) must not destroy it.
    if (!fs::exists(dir / kConfigFile, ec))
      throw UsageError("--force: " + dir.string() + " is not a run directory (no config.json); it is left alone");
  }

  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw UsageError("--out " + dir.string() + ": exists and is not a directory");
  std::unique_ptr<ad::ThreadLimit> limit;
  if (threads > 0) limit = std::make_unique<ad::ThreadLimit>(threads);
  return with_dtype(config_dtype(cfg), [&](auto tag) {
    return train<typename decltype(tag)::type>(cfg, a.positional[0], dir, force && !resume, RunOptions{dir, resume, quiet}, processes);
  });
}

}  // namespace cli
