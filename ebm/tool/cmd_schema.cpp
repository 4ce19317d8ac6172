// `ebm schema`: the experiment file's JSON Schema (draft 2020-12), generated from the same schema validation uses.
#include <cstdio>

#include <ebm/experiment/config.hpp>

#include "cli.hpp"

namespace cli {

int cmd_schema(int argc, char** argv) {
  Args a = parse(argc, argv, 2, {{"--help", false}});
  if (a.has("--help")) return std::fputs("usage: ebm schema\nPrints the JSON Schema of experiment files.\n", stdout), kOk;
  if (!a.positional.empty()) throw UsageError("takes no arguments");
  std::printf("%s\n", ebm::experiment::to_json_schema(ebm::experiment::experiment_schema()).dump(2).c_str());
  return kOk;
}

}  // namespace cli
