// `ebm`: the experiment runner. Dispatches to one subcommand per file (cmd_*.cpp) and maps exceptions to the
// exit codes of the contract: 2 for anything the user must fix (config, data, flags), 1 for run-time failures.
#include <cstdio>
#include <cstring>
#include <string>

#include <autodiff/memory.hpp>
#include <ebm/data/error.hpp>
#include <ebm/experiment/config.hpp>
#include <ebm/experiment/registry.hpp>
#include <ebm/experiment/schema.hpp>
#include <ebm/version.hpp>

#include "cli.hpp"

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
    std::printf("ebm %s\n", ebm::version());
    return cli::kOk;
  }
  const std::pair<const char*, cli::Command> commands[] = {{"run", cli::cmd_run},           {"validate", cli::cmd_validate},
                                                           {"sample", cli::cmd_sample},     {"eval", cli::cmd_eval},
                                                           {"check-grad", cli::cmd_check_grad}, {"schema", cli::cmd_schema}};
  std::string cmd = argv[1];
  try {
    for (auto& [name, fn] : commands)
      if (cmd == name) return fn(argc, argv);
    std::vector<std::string> names;
    for (auto& [name, fn] : commands) names.push_back(name);
    std::string guess = ebm::experiment::did_you_mean(cmd, names);
    throw cli::UsageError("unknown command \"" + cmd + "\"" + (guess.empty() ? "" : " (did you mean \"" + guess + "\"?)"));
  } catch (const cli::UsageError& e) {
    std::fprintf(stderr, "ebm %s: %s\n(see ebm %s --help)\n", cmd.c_str(), e.what(), cmd.c_str());
    return cli::kBadInput;
  } catch (const ebm::experiment::ConfigError& e) {
    std::fprintf(stderr, "error: invalid experiment (%zu problem%s):\n%s\n", e.errors().size(), e.errors().size() == 1 ? "" : "s", e.what());
    return cli::kBadInput;
  } catch (const ebm::DataError& e) {
    std::fprintf(stderr, "error: bad data: %s\n", e.what());
    return cli::kBadInput;
  } catch (const ebm::experiment::InputError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return cli::kBadInput;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: run failed: %s\n", e.what());
    return cli::kFailure;
  } catch (...) {  // nothing the tool calls should throw anything else; if it does, it is still a failure, not a crash
    std::fprintf(stderr, "error: run failed: an exception of unknown type\n");
    return cli::kFailure;
  }
}
