// `ebm`: the experiment runner. Dispatches to one subcommand per file (cmd_*.cpp) and maps exceptions to the
// exit codes of the contract: 2 for anything the user must fix (config, data, flags), 1 for run-time failures.
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include <autodiff/memory.hpp>
#include <ebm/data/error.hpp>
#include <ebm/experiment/config.hpp>
#include <ebm/experiment/registry.hpp>
#include <ebm/experiment/schema.hpp>
#include <ebm/version.hpp>

#include "cli.hpp"
#include "processes.hpp"

namespace cli {

long long Args::get_int(const std::string& f, long long def, long long min) const {
  if (!has(f)) return def;
  std::string v = get(f);
  size_t pos = 0;
  long long n = 0;
  try {
    n = std::stoll(v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != v.size() || v.empty() || n < min)
    throw UsageError(f + ": expected an integer >= " + std::to_string(min) + ", got \"" + v + "\"");
  return n;
}

std::string run_dir_arg(const Args& a) {
  if (!a.has("--run")) throw UsageError("--run DIR is required");
  if (!a.positional.empty()) throw UsageError("unexpected argument \"" + a.positional[0] + "\"");
  return a.get("--run");
}

Args parse(int argc, char** argv, int first, const std::map<std::string, bool>& spec) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (s.size() < 2 || s.rfind("--", 0) != 0) {
      a.positional.push_back(s);
      continue;
    }
    std::string name = s, value;
    bool inline_value = false;
    if (size_t eq = s.find('='); eq != std::string::npos) name = s.substr(0, eq), value = s.substr(eq + 1), inline_value = true;
    auto it = spec.find(name);
    if (it == spec.end()) {
      std::vector<std::string> known;
      for (auto& [k, v] : spec) known.push_back(k.substr(2));
      std::string guess = ebm::experiment::did_you_mean(name.substr(2), known);
      throw UsageError("unknown option " + name + (guess.empty() ? "" : " (did you mean --" + guess + "?)"));
    }
    if (it->second && !inline_value) {
      if (i + 1 >= argc) throw UsageError(name + ": expected a value");
      value = argv[++i];
    } else if (!it->second && inline_value) {
      throw UsageError(name + " takes no value");
    }
    a.values[name].push_back(value);
  }
  return a;
}

}  // namespace cli

namespace {

const char* kHelp =
    "ebm - train, sample and evaluate energy-based models from JSON experiment files\n"
    "\n"
    "usage:\n"
    "  ebm run FILE.json [--out DIR] [--resume | --force] [--set path.to.key=value]... [--threads N] [--quiet]\n"
    "  ebm validate FILE.json [--set ...] [--print]   check everything, run nothing\n"
    "  ebm sample --run DIR [--n N] [--sampler NAME] [--steps N] [--out FILE.npy]\n"
    "  ebm eval --run DIR                             evaluate a trained run\n"
    "  ebm check-grad FILE.json [--order 1|2|3]       gradcheck of the model + objective\n"
    "  ebm schema                                     print the experiment JSON schema\n"
    "  ebm --help | --version;  ebm COMMAND --help\n"
    "\n"
    "exit codes: 0 fine; 2 bad input (config, data, flags); 1 failure at run time\n";

}  // namespace

int main(int argc, char** argv) {
  ad::keep_freed_buffers();  // training steps reuse their buffers instead of mapping them afresh
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::fputs(kHelp, stdout);
    return argc < 2 ? cli::kBadInput : cli::kOk;
  }
  if (!std::strcmp(argv[1], "--version")) {
#ifdef EBM_MPI
    std::printf("ebm %s (MPI)\n", ebm::version());
#else
    std::printf("ebm %s\n", ebm::version());
#endif
    return cli::kOk;
  }
  std::string cmd = argv[1];
  std::shared_ptr<const ebm::ShardComm> processes;
  // With several processes, bad input is found alike by every one (the same file, data and steps), so the first
  // reports it and all end normally; a failure at run time may be one process's own (a full disk under the run
  // directory), so that one reports it and ends them all, as the others would wait for it forever.
  const auto fail = [&](int code, const std::function<void()>& report) {
    if (!processes || processes->rank() == 0 || code == cli::kFailure) report();
    if (code == cli::kFailure) cli::abort_processes(code);
    return code;
  };
  try {
    processes = cli::join_processes(&argc, &argv);
    const std::pair<const char*, std::function<int(int, char**)>> commands[] = {
        {"run", [&](int c, char** v) { return cli::cmd_run(c, v, processes); }},
        {"validate", cli::cmd_validate},
        {"sample", cli::cmd_sample},
        {"eval", cli::cmd_eval},
        {"check-grad", cli::cmd_check_grad},
        {"schema", cli::cmd_schema}};
    for (auto& [name, fn] : commands)
      if (cmd == name) return cmd == "run" || processes->rank() == 0 ? fn(argc, argv) : cli::kOk;  // the others: the first process alone
    std::vector<std::string> names;
    for (auto& [name, fn] : commands) names.push_back(name);
    std::string guess = ebm::experiment::did_you_mean(cmd, names);
    throw cli::UsageError("unknown command \"" + cmd + "\"" + (guess.empty() ? "" : " (did you mean \"" + guess + "\"?)"));
  } catch (const cli::UsageError& e) {
    return fail(cli::kBadInput, [&] { std::fprintf(stderr, "ebm %s: %s\n(see ebm %s --help)\n", cmd.c_str(), e.what(), cmd.c_str()); });
  } catch (const ebm::experiment::ConfigError& e) {
    return fail(cli::kBadInput, [&] {
      std::fprintf(stderr, "error: invalid experiment (%zu problem%s):\n%s\n", e.errors().size(), e.errors().size() == 1 ? "" : "s", e.what());
    });
  } catch (const ebm::DataError& e) {
    return fail(cli::kBadInput, [&] { std::fprintf(stderr, "error: bad data: %s\n", e.what()); });
  } catch (const ebm::experiment::InputError& e) {
    return fail(cli::kBadInput, [&] { std::fprintf(stderr, "error: %s\n", e.what()); });
  } catch (const std::exception& e) {
    return fail(cli::kFailure, [&] { std::fprintf(stderr, "error: run failed: %s\n", e.what()); });
  } catch (...) {  // nothing the tool calls should throw anything else; if it does, it is still a failure, not a crash
    return fail(cli::kFailure, [&] { std::fprintf(stderr, "error: run failed: an exception of unknown type\n"); });
  }
}
