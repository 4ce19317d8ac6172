// `ebm eval --run DIR`: evaluation numbers of a trained run (log Z, NLL, learned parameters), printed and
// written to DIR/eval.json.
#include <cstdio>

#include <ebm/data/npy.hpp>
#include <ebm/experiment/rundir.hpp>
#include <ebm/experiment/train.hpp>
#include <ebm/experiment/evaluate.hpp>

#include "cli.hpp"

namespace cli {

namespace fs = std::filesystem;
using namespace ebm::experiment;

namespace {

// Evaluates in the run's dtype (its config's; the checkpoint must hold the same).
template <class T>
int evaluate(const fs::path& dir) {
  Session<T> s = open_run<T>(dir);
  std::error_code ec;
  ad::Tensor<T> samples(ad::Shape{0, s.data.x.cols()});
  if (fs::exists(dir / "samples.npy", ec)) samples = ebm::data::read_npy_as<T>(dir / "samples.npy");
  json e = evaluate_model(s, samples).report;
  write_json(dir / "eval.json", e);
  std::printf("%s\n", e.dump(2).c_str());
  return kOk;
}

}  // namespace

int cmd_eval(int argc, char** argv) {
  Args a = parse(argc, argv, 2, {{"--run", true}, {"--help", false}});
  if (a.has("--help")) {
    std::fputs("usage: ebm eval --run DIR\nEvaluates the run's latest checkpoint (with DIR/samples.npy when present);\n"
               "prints the result and writes DIR/eval.json.\n",
               stdout);
    return kOk;
  }
  const fs::path dir = run_dir_arg(a);
  return with_dtype(run_dtype(dir), [&](auto tag) { return evaluate<typename decltype(tag)::type>(dir); });
}

}  // namespace cli
