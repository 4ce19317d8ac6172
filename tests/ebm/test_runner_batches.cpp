// The training loop's batches (ebm/src/experiment/train.cpp): with batches large enough, the next step's batch is
// drawn while the update runs (Note [Batch drawn during the update]). Whatever the loop does to overlap work,
// step t must train on the batch its spec names (epoch position t·b + i, or draws from Rng(seed, kTrainStream)
// .split(t)) and hand that stream, after the draws, to the objective. The reference below is that spec written
// out as a plain loop; the run must end at its parameters bit for bit.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include <unistd.h>

#include <autodiff/random.hpp>
#include <ebm/data/epoch_order.hpp>
#include <ebm/data/npy.hpp>
#include <ebm/experiment/config.hpp>
#include <ebm/experiment/train.hpp>

namespace fs = std::filesystem;
using ad::Shape;
using ad::Tensor;
using namespace ebm::experiment;

namespace {

constexpr int64_t kRows = 250, kCols = 400, kBatch = 100, kSteps = 7;  // 100 × 400 values: over the overlap threshold

// The spec of a training step's batch and stream, then the sharded step (Note [Sharded training step]) and the
// optimiser; nothing overlapped. In the default dtype, float32: the rows are converted as they are copied, as the
// runner converts them.
std::vector<Tensor<float>> reference_parameters(const json& cfg) {
  Session<float> s = build_session<float>(cfg);
  const uint64_t seed = cfg["seed"];
  const bool with_replacement = cfg["training"]["batches"] == "with_replacement";
  ebm::data::EpochOrder order(kRows, seed, kEpochStream, cfg["training"]["batches"] == "epochs");
  for (int64_t t = 0; t < kSteps; ++t) {
    ad::Rng rng = ad::Rng(seed, kTrainStream).split(static_cast<uint64_t>(t));
    Tensor<float> x(Shape{kBatch, kCols});
    for (int64_t i = 0; i < kBatch; ++i) {
      const int64_t r = with_replacement ? static_cast<int64_t>(rng.below(kRows)) : order.row(t * kBatch + i);
      std::copy(s.data.x.data() + r * kCols, s.data.x.data() + (r + 1) * kCols, x.data() + i * kCols);
    }
    (void)s.optimizer->next_lr();
    ebm::LossAndGrad<float> lg = s.shards->loss_and_grad(*s.model, x, rng, nullptr);
    std::vector<Tensor<float>> grads = std::move(lg.grad_theta);
    grads.insert(grads.end(), lg.grad_extra.begin(), lg.grad_extra.end());
    s.optimizer->step(s.parameters(), grads);
  }
  std::vector<Tensor<float>> out;
  for (const Tensor<float>* p : s.parameters()) out.push_back(*p);
  return out;
}

}  // namespace

TEST_CASE("runner: each step trains on its own batch and stream when the next batch is drawn during the update") {
  const fs::path dir = fs::temp_directory_path() / ("ebm_test_runner_batches_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  Tensor<double> data(Shape{kRows, kCols});
  ad::Rng rng(11);
  for (double& v : data) v = rng.uniform() < 0.3 ? 1.0 : 0.0;
  ebm::data::write_npy(dir / "data.npy", data);

  // PCD on an RBM (its chains draw from streams split off the step's), and DSM on an MLP (its noise is drawn from
  // the step's stream itself, after the batch: a stream handed over before or without the draws changes it).
  const std::string rbm = R"("model": {"type": "rbm", "visible": "bernoulli", "hidden": 8, "init_std": 0.05},
        "objective": {"type": "cd", "sampler": {"type": "gibbs"}, "start": "persistent", "steps": 1,
                      "buffer_size": 100, "persist": "visible", "init": "bernoulli"},
        "sampler": {"type": "gibbs", "chains": 4, "steps": 1},)";
  const std::string mlp = R"("model": {"type": "mlp", "hidden": [8], "activation": "silu"},
        "objective": {"type": "dsm", "sigma": 0.1},
        "sampler": {"type": "langevin", "chains": 4, "steps": 1},)";
  for (const std::string& model : {rbm, mlp}) {
    for (const char* batches : {"epochs", "in_order", "with_replacement"}) {
      CAPTURE(model);
      CAPTURE(batches);
      const std::string text = R"({"seed": 5, "data": {"type": "npy", "path": "data.npy"},)" + model + R"(
        "optimiser": {"type": "sgd", "lr": 0.1, "momentum": 0.0},
        "training": {"steps": 7, "batch_size": 100, "log_every": 7, "checkpoint_every": 7, "batches": ")" +
                               std::string(batches) + R"("},
        "evaluation": {"log_z": false, "ais": {"enabled": false}, "pseudo_likelihood": {"enabled": false}},
        "output": {"plots": false}})";
      const json cfg = resolve_config(text, (dir / "x.json").string(), {}, dir);
      Session<float> s = build_session<float>(cfg);
      RunOptions opt;
      opt.dir = dir / "run";
      opt.quiet = true;
      fs::remove_all(opt.dir);
      fs::create_directories(opt.dir);
      run_experiment(s, opt);
      const std::vector<Tensor<float>> expected = reference_parameters(cfg);
      const std::vector<Tensor<float>*> got = s.parameters();
      REQUIRE(got.size() == expected.size());
      for (size_t k = 0; k < got.size(); ++k) {
        CAPTURE(k);
        REQUIRE(got[k]->numel() == expected[k].numel());
        CHECK(std::equal(got[k]->begin(), got[k]->end(), expected[k].begin()));
      }
    }
  }
  fs::remove_all(dir);
}
