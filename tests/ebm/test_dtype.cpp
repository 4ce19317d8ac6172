// The experiment's dtype: the same experiment trained in float32 and in float64 follows the same losses up to float32
// rounding, so the float32 path computes the same thing (same initial parameters, batches, noise and updates).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <ebm/experiment/config.hpp>
#include <ebm/experiment/train.hpp>

namespace fs = std::filesystem;
using namespace ebm::experiment;

namespace {

// The loss of every step, trained in T, from metrics.jsonl (one line a step).
template <class T>
std::vector<double> losses(const std::string& text, const fs::path& dir) {
  json cfg = resolve_config(text, "x.json", {{"dtype=" + std::string(dtype_name<T>())}}, dir);
  Session<T> s = build_session<T>(cfg);
  RunOptions opt;
  opt.dir = dir / dtype_name<T>();
  opt.quiet = true;
  fs::remove_all(opt.dir);
  fs::create_directories(opt.dir);
  const json summary = run_experiment(s, opt);
  CHECK(summary["dtype"] == dtype_name<T>());
  std::vector<double> out;
  std::ifstream in(opt.dir / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line)["loss"].get<double>());
  return out;
}

}  // namespace

TEST_CASE("dtype: float32 and float64 training of the same experiment give the same losses up to float32 rounding") {
  const fs::path dir = fs::temp_directory_path() / ("ebm_test_dtype_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string common = R"("seed": 7, "training": {"steps": 10, "batch_size": 64, "log_every": 1, "checkpoint_every": 10},
      "sampler": {"type": "langevin", "chains": 16, "steps": 5}, "evaluation": {"log_z": false}, "output": {"plots": false})";
  // A Gaussian energy under exact score matching, and an MLP under denoising score matching (its noise drawn from the
  // step's stream), each with Adam.
  const std::vector<std::string> experiments = {
      R"({"data": {"type": "gaussian_mixture", "n": 512, "means": [[1.0, -0.5]], "scales": [[1.0, 0.7]]},
          "model": {"type": "gaussian", "form": "full"}, "objective": {"type": "sm"}, "optimiser": {"type": "adam", "lr": 0.01}, )" + common + "}",
      R"({"data": {"type": "two_moons", "n": 512}, "model": {"type": "mlp", "hidden": [16, 16]},
          "objective": {"type": "dsm", "sigma": 0.1}, "optimiser": {"type": "adam", "lr": 0.001}, )" + common + "}"};
  for (const std::string& text : experiments) {
    CAPTURE(text);
    const std::vector<double> f32 = losses<float>(text, dir), f64 = losses<double>(text, dir);
    REQUIRE(f32.size() == 10);
    REQUIRE(f64.size() == 10);
    // float32 rounds each operation to a relative 6e-8 (2^-24). A batch's loss sums 64 rows of a few dozen operations
    // each, and the parameters drift apart by about the gradient's rounding per step (Adam's normalised steps pass a
    // relative change of the gradient on unamplified), so after 10 steps the losses agree to about 1e-6 relative
    // (these two: 1e-7 and 5e-7); 2e-5 leaves a margin of 40. A float32 path that trained on other data, other
    // initial values or other noise would differ in the first digits; one that secretly ran in double would not
    // differ at all.
    double worst = 0;
    for (size_t t = 0; t < f32.size(); ++t) {
      CAPTURE(t);
      const double rel = std::abs(f32[t] - f64[t]) / std::max(1.0, std::abs(f64[t]));
      worst = std::max(worst, rel);
      CHECK(rel < 2e-5);
    }
    CHECK(worst > 0);
    MESSAGE("largest relative difference of the float32 and float64 losses: " << worst);
  }
  fs::remove_all(dir);
}
