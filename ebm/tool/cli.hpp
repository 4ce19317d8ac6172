#pragma once
// Shared pieces of the `ebm` subcommands: argument parsing and the error type for bad flags.
// Exit codes (the contract): 0 fine; 2 bad input (config, data, flags); 1 failure at run time.
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <ebm/experiment/train.hpp>

namespace cli {

inline constexpr int kOk = 0, kFailure = 1, kBadInput = 2;

/// A command-line mistake: exit 2 with the message and a pointer to --help.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Flags of one subcommand: name -> takes a value?; repeatable values accumulate.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> values;
  bool has(const std::string& f) const { return values.count(f) > 0; }
  std::string get(const std::string& f, const std::string& def = "") const {
    auto it = values.find(f);
    return it == values.end() || it->second.empty() ? def : it->second.back();
  }
  /// A positive integer flag, or `def`; UsageError otherwise.
  long long get_int(const std::string& f, long long def, long long min = 1) const;
};

/// Parses argv[first..]; `spec` maps each known flag (with "--") to whether it takes a value. Unknown flags are
/// a UsageError with a "did you mean". "--flag=value" is accepted too.
Args parse(int argc, char** argv, int first, const std::map<std::string, bool>& spec);

/// The `--run DIR` of `sample` and `eval`: required, and no positional arguments beside it.
std::string run_dir_arg(const Args& a);

/// build_session for the experiment read from `file`: the input errors it finds (a model the objective cannot
/// train, data that do not fit the model, ...) name the file, as the config checker's do.
template <class T>
ebm::experiment::Session<T> session_of(const nlohmann::json& cfg, const std::string& file) {
  try {
    return ebm::experiment::build_session<T>(cfg);
  } catch (const ebm::experiment::InputError& e) {
    const std::string what = e.what();
    if (what.rfind(file + ":", 0) == 0) throw;
    throw ebm::experiment::InputError(file + ": " + what);
  }
}

using Command = int (*)(int argc, char** argv);
/// `run` shares its shards with the other processes of an MPI job (processes.hpp).
int cmd_run(int argc, char** argv, std::shared_ptr<const ebm::ShardComm> processes);
int cmd_validate(int argc, char** argv);
int cmd_sample(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_check_grad(int argc, char** argv);
int cmd_schema(int argc, char** argv);

}  // namespace cli
