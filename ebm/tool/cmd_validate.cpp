// `ebm validate FILE.json`: every check `run` does before training (schema, data files, dimensions), and nothing
// else: no run directory, no training.
#include <cstdio>

#include <filesystem>

#include <ebm/experiment/config.hpp>
#include <ebm/experiment/train.hpp>

#include "cli.hpp"

namespace cli {

using namespace ebm::experiment;

int cmd_validate(int argc, char** argv) {
  Args a = parse(argc, argv, 2, {{"--set", true}, {"--print", false}, {"--help", false}});
  if (a.has("--help")) {
    std::fputs("usage: ebm validate FILE.json [--set k.k=value]... [--print]\n"
               "Checks the experiment (schema, data files and dimensions) and runs nothing; --print writes the\n"
               "resolved config (all defaults filled in) to stdout. Exit 0 when valid, 2 otherwise.\n",
               stdout);
    return kOk;
  }
  if (a.positional.size() != 1) throw UsageError("expected one experiment file, got " + std::to_string(a.positional.size()));
  std::vector<std::string> sets = a.has("--set") ? a.values.at("--set") : std::vector<std::string>{};
  json cfg = load_config(a.positional[0], sets);
  with_dtype(config_dtype(cfg), [&](auto tag) {
    // Loads the data: catches missing or corrupt files and dimension mismatches.
    auto s = session_of<typename decltype(tag)::type>(cfg, a.positional[0]);
    std::fprintf(stderr, "%s: OK (%lld examples x %lld dims, model %s with %lld parameters, objective %s, %s)\n", a.positional[0].c_str(),
                 (long long)s.data.x.rows(), (long long)s.data.x.cols(), s.model->name().c_str(), (long long)s.model->num_parameters(),
                 s.objective->name().c_str(), config_dtype(cfg).c_str());
  });
  if (a.has("--print")) std::printf("%s\n", cfg.dump(2).c_str());
  return kOk;
}

}  // namespace cli
