// The training loop: batch -> objective loss -> gradients -> clipping -> optimiser step, with metrics,
// progress, checkpoints and the divergence guard; then sampling, evaluation, plots and summary.json.
#include <chrono>
#include <tbb/parallel_for.h>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cerrno>
#include <fstream>
#include <limits>
#include <optional>

#include <unistd.h>

#include "ebm/data/epoch_order.hpp"
#include "ebm/data/error.hpp"
#include "ebm/data/npy.hpp"
#include "ebm/eval/exact_samples.hpp"
#include "ebm/experiment/config.hpp"
#include "ebm/experiment/rundir.hpp"
#include "enum_field.hpp"
#include "memory_budget.hpp"
#include "ebm/experiment/train.hpp"
#include "ebm/experiment/eval_checks.hpp"
#include "ebm/experiment/evaluate.hpp"
#include "ebm/experiment/plots.hpp"
#include "ebm/experiment/sample.hpp"
#include "ebm/models/mlp.hpp"
#include "ebm/optim/train_step.hpp"
#include "eval_likelihood.hpp"
#include "model_init.hpp"

namespace ebm::experiment {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

void fail_point(const std::string& stage) {
  if (const char* e = std::getenv("EBM_TEST_FAIL_STAGE"); e && stage == e) throw std::runtime_error("injected failure");
}

std::string config_dtype(const json& cfg) { return cfg.is_object() && cfg.contains("dtype") ? cfg["dtype"].get<std::string>() : "float64"; }

template <class T>
Session<T> build_session(const json& cfg) {
  if (config_dtype(cfg) != dtype_name<T>())
    throw std::logic_error(std::string("build_session<") + dtype_name<T>() + "> of a " + config_dtype(cfg) + " experiment");
  Session<T> s;
  s.cfg = cfg;
  const Registry& r = registry();
  uint64_t seed = cfg["seed"];
  ad::Rng data_rng(seed, kDataStream), init_rng(seed, kInitStream);
  check_memory_budget(cfg, 0, sizeof(T));  // before the data exists: data.n alone may be too large
  try {
    s.data = r.data_source(cfg["data"]["type"]).load(cfg["data"], data_rng);
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("data: ") + e.what());  // e.g. a covariance that is not positive definite
  }
  if (s.data.x.rank() != 2 || s.data.x.rows() < 1)
    throw InputError("data: expected at least one example, got shape " + s.data.x.shape().str());
  check_memory_budget(cfg, s.data.x.cols(), sizeof(T));
  try {
    s.model = r.model(cfg["model"]["type"]).make.template get<T>()(cfg["model"], s.data, init_rng);
    apply_model_init(cfg["model"]["init"], *s.model);
    s.objective = r.objective(cfg["objective"]["type"]).make.template get<T>()(cfg["objective"], s.data);
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("model/objective: ") + e.what());
  }
  if (s.model->dim() != s.data.x.cols())
    throw InputError("model: dimension " + std::to_string(s.model->dim()) + " does not match the data's " +
                     std::to_string(s.data.x.cols()) + " columns");
  // Model/objective and model/sampler combinations that cannot work are refused now, not after training.
  const ObjectiveEntry& oe = r.objective(cfg["objective"]["type"]);
  if (oe.check_model) oe.check_model.template get<T>()(cfg["objective"], *s.model);
  const int64_t shards = cfg["training"]["shards"], batch = cfg["training"]["batch_size"];
  if (shards > batch)
    throw InputError("training.shards: " + std::to_string(shards) + " shards of a batch of training.batch_size = " + std::to_string(batch) +
                     " rows (at most one shard per row)");
  try {
    s.shards = std::make_unique<ShardedObjective<T>>(*s.objective, static_cast<int>(shards));
  } catch (const std::invalid_argument& e) {
    throw InputError("objective." + std::string(e.what()) + "; lower training.shards");
  }
  const SamplerEntry& se = r.sampler(cfg["sampler"]["type"]);
  if (se.check_model) se.check_model.template get<T>()(*s.model);
  check_evaluation(cfg, *s.model, s.data);
  const json& o = cfg["optimiser"];
  LrSchedule sched;
  sched.kind = enum_field_value(kLrScheduleNames, o["schedule"], "optimiser.schedule");
  sched.lr = o["lr"], sched.step_size = o["step_size"], sched.gamma = o["gamma"], sched.min_lr = o["min_lr"];
  sched.warmup_steps = o["warmup_steps"];
  sched.total_steps = std::max<int64_t>(1, cfg["training"]["steps"].get<int64_t>());
  s.base_lr = sched.lr, s.base_min_lr = sched.min_lr;
  s.optimizer = r.optimizer(o["type"]).make.template get<T>()(o, sched);
  return s;
}

template Session<float> build_session(const json&);
template Session<double> build_session(const json&);

namespace {

// Samples with NaN or Inf are a failed sampler (a step too large for the energy), not a result to evaluate.
template <class T>
void check_finite_samples(const ad::Tensor<T>& x) {
  for (int64_t k = 0; k < x.numel(); ++k)
    if (!std::isfinite(x[k]))
      throw std::runtime_error("sample " + std::to_string(k / std::max<int64_t>(x.cols(), 1)) + " holds " + std::to_string(double(x[k])) +
                               " (a non-finite value; a smaller sampler.step_size may help)");
}

// Every shard's objective state (persistent chains, their generators; empty for stateless objectives).
template <class T>
json objective_state_json(const ShardedObjective<T>& shards) {
  json blobs = json::array();
  for (std::vector<uint8_t>& b : shards.save_state()) blobs.push_back(json::binary(std::move(b)));
  return blobs;
}

// The optimiser's state: its step count under "step" and each of its lists (Optimizer::state_lists) under the
// list's name, one tensor_to_bytes entry per parameter.
template <class T>
json optimiser_state_json(Optimizer<T>& opt) {
  json out{{"step", opt.steps()}};
  for (auto& [name, list] : opt.state_lists()) {
    json a = json::array();
    for (const ad::Tensor<T>& t : *list) a.push_back(tensor_to_bytes(t));
    out[name] = std::move(a);
  }
  return out;
}

// The inverse of optimiser_state_json; the stored lists are flat, so `params` gives their shapes. A list is
// empty (before the first update) or holds one tensor per parameter.
template <class T>
void load_optimiser_state(Optimizer<T>& opt, const json& j, const std::vector<ad::Tensor<T>*>& params) {
  const auto mismatch = [] { return std::runtime_error("optimiser state does not match the parameters"); };
  for (auto& [name, list] : opt.state_lists()) {
    const json& a = j.at(name);
    if (!a.is_array() || (!a.empty() && a.size() != params.size())) throw mismatch();
    std::vector<ad::Tensor<T>> read;
    for (size_t i = 0; i < a.size(); ++i) {
      read.emplace_back(params[i]->shape(), ad::uninitialized);
      if (!tensor_values_into(a[i], read.back())) throw mismatch();
    }
    *list = std::move(read);
  }
  opt.set_steps(j.at("step").get<int64_t>());
}

// A snapshot of everything a step changes: what the divergence guard restores and what a checkpoint stores.
// Tensors as bytes (tensor_to_bytes): written as arrays of JSON numbers, every value would be formatted and
// parsed as text, which for the weights of an RBM on images costs a noticeable share of a short PCD run.
//
// Note [Checkpoint dtype]: the tensors (parameters and optimiser state) are stored in the run's dtype, 4 bytes a
// value for float32 and 8 for float64, and the checkpoint records that dtype under "dtype" (a checkpoint without
// it was written when every run was float64). Restoring into a session of another dtype is refused (InputError,
// exit 2, naming both): converting would silently change a float64 run's numbers, and a float32 run resumed in
// float64 would no longer be the run its config describes.
//
// Formats: ebm-checkpoint-1 stored tensors as arrays of numbers; -2 as bytes, with the optimiser state under
// "optimizer"; -3 under "optimiser", the config's spelling (restore_checkpoint reads all three).
template <class T>
json snapshot(Session<T>& s, int64_t step, double lr_scale, int64_t retries, const json& events, double elapsed, const json& last) {
  json params = json::array();
  for (auto* t : s.parameters()) params.push_back(tensor_to_bytes(*t));
  uint64_t seed = s.cfg["seed"];
  return json{{"format", "ebm-checkpoint-3"},
              {"dtype", dtype_name<T>()},
              {"step", step},
              {"parameters", params},
              {"optimiser", optimiser_state_json(*s.optimizer)},
              // Persistent chains / replay buffer with their generators (empty for stateless objectives).
              {"objective_state", objective_state_json(*s.shards)},
              {"lr_scale", lr_scale},
              {"retries", retries},
              {"divergence_events", events},
              {"elapsed_seconds", elapsed},
              {"last", last},
              // The training stream is re-derived per step from (seed, step); its base state is stored so a
              // checkpoint is self-describing and a resume can verify it uses the same streams.
              {"rng", {{"train", rng_to_json(ad::Rng(seed, kTrainStream).state())}}}};
}

class Progress {
 public:
  Progress(int64_t total, bool quiet) : total_(total), quiet_(quiet), tty_(::isatty(2) == 1), start_(Clock::now()) {}
  void update(int64_t done, double loss, bool force = false) {
    if (quiet_) return;
    auto now = Clock::now();
    double since = std::chrono::duration<double>(now - last_).count();
    if (!force && since < (tty_ ? 0.1 : 5.0)) return;
    last_ = now;
    double el = std::chrono::duration<double>(now - start_).count();
    double rate = el > 0 ? double(done - first_) / el : 0;
    double eta = rate > 0 ? double(total_ - done) / rate : 0;
    if (tty_) {
      int width = 30, fill = total_ ? int(width * done / total_) : width;
      std::fprintf(stderr, "\r[%s%s] %lld/%lld %.0f it/s ETA %.0fs loss %.4g  ", std::string(size_t(fill), '#').c_str(),
                   std::string(size_t(width - fill), ' ').c_str(), (long long)done, (long long)total_, rate, eta, loss);
    } else {
      std::fprintf(stderr, "step %lld/%lld  loss %.6g  %.1f it/s  ETA %.0fs\n", (long long)done, (long long)total_, loss, rate, eta);
    }
    std::fflush(stderr);
  }
  void start_at(int64_t step) { first_ = step; }
  void finish() {
    if (!quiet_ && tty_) std::fprintf(stderr, "\n");
  }

 private:
  int64_t total_, first_ = 0;
  bool quiet_, tty_;
  Clock::time_point start_, last_{};
};

// Batches of at least this many values are copied in parallel (and drawn while the update runs).
constexpr int64_t kParallelBatchValues = int64_t{1} << 15;

// The b data rows of a training step, with their labels when the data has them: drawn with replacement from the
// step's own stream, or positions [step·b, (step + 1)·b) of the epochs (ebm/data/epoch_order.hpp).
// The rows are converted to T as they are copied (the data stay in float64).
template <class T>
ad::Tensor<T> draw_batch(const Dataset& data, int64_t b, int64_t step, data::EpochOrder* epochs, ad::Rng& rng,
                         std::vector<int64_t>& labels) {
  const ad::Tensor<double>& x = data.x;
  int64_t d = x.cols(), n = x.rows();
  ad::Tensor<T> out(ad::Shape{b, d}, ad::uninitialized);  // every row is copied in
  labels.clear();
  std::vector<int64_t> rows(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) {
    const auto r = epochs ? epochs->row(step * b + i) : static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
    rows[static_cast<size_t>(i)] = r;
    if (!data.labels.empty()) labels.push_back(data.labels[static_cast<size_t>(r)]);
  }
  // The copies read scattered rows of a data set larger than the caches: two cores fetch them faster than one.
  auto copy = [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t r = rows[static_cast<size_t>(i)];
      std::copy(x.data() + r * d, x.data() + (r + 1) * d, out.data() + i * d);
    }
  };
  if (b * d < kParallelBatchValues) {
    copy(0, b);
  } else {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, b), [&](const tbb::blocked_range<int64_t>& r) { copy(r.begin(), r.end()); });
  }
  return out;
}

// Step t's batch and labels, and its stream after drawing them (the rest of the step draws from it).
template <class T>
struct StepBatch {
  int64_t step = -1;
  ad::Rng rng;
  ad::Tensor<T> x;
  std::vector<int64_t> labels;
};

template <class T>
StepBatch<T> draw_step_batch(const Dataset& data, int64_t b, int64_t step, data::EpochOrder* epochs, uint64_t seed) {
  StepBatch<T> sb;
  sb.step = step;
  sb.rng = ad::Rng(seed, kTrainStream).split(static_cast<uint64_t>(step));
  sb.x = draw_batch<T>(data, b, step, epochs, sb.rng, sb.labels);
  return sb;
}

}  // namespace

template <class T>
int64_t restore_checkpoint(Session<T>& s, const json& ck) {
  // Note [Checkpoint dtype]
  const json dtype = ck.is_object() ? ck.value("dtype", json("float64")) : json("float64");
  const std::string held = dtype.is_string() ? dtype.get<std::string>() : dtype.dump();
  if (held != dtype_name<T>())
    throw InputError("the checkpoint holds " + held + " parameters but the experiment's dtype is " + dtype_name<T>() +
                     "; a run is resumed, sampled and evaluated in the dtype it was trained in (\"dtype\": \"" + held + "\")");
  auto params = s.parameters();
  const json& p = ck.at("parameters");
  if (p.size() != params.size()) throw std::runtime_error("checkpoint: parameter count does not match the model");
  for (size_t i = 0; i < params.size(); ++i)
    if (!tensor_values_into(p[i], *params[i])) throw std::runtime_error("checkpoint: parameter shapes do not match the model");
  // Checkpoints before ebm-checkpoint-3 spelled the key "optimizer"; runs trained then must still resume.
  load_optimiser_state(*s.optimizer, ck.contains("optimiser") ? ck.at("optimiser") : ck.at("optimizer"), params);
  if (ck.contains("objective_state")) {
    const json& st = ck.at("objective_state");
    std::vector<std::vector<uint8_t>> blobs;
    if (st.is_binary()) {
      blobs.push_back(st.get_binary());  // written before shards: one objective
    } else {
      for (const json& b : st) blobs.push_back(b.get_binary());
    }
    s.shards->load_state(blobs);
  }
  s.set_lr_scale(ck.at("lr_scale").get<double>());
  return ck.at("step").get<int64_t>();
}

template int64_t restore_checkpoint(Session<float>&, const json&);
template int64_t restore_checkpoint(Session<double>&, const json&);

namespace {
// The run's latest checkpoint restored into `s` (nullopt when it has none). A checkpoint that passes its checksum
// but does not fit the model (another model's file, a field missing) is bad input like a damaged one: InputError.
template <class T>
std::optional<json> restore_latest(Session<T>& s, const fs::path& dir) {
  std::optional<json> ck = load_checkpoint(dir);
  if (!ck) return ck;
  try {
    restore_checkpoint(s, *ck);
    for (const char* key : {"lr_scale", "retries", "divergence_events", "elapsed_seconds", "last"})
      if (!ck->contains(key)) throw std::invalid_argument(std::string("no field \"") + key + "\"");
  } catch (const InputError& e) {  // the dtype differs (restore_checkpoint)
    throw InputError((dir / kCheckpointFile).string() + ": " + e.what());
  } catch (const std::exception& e) {
    throw InputError((dir / kCheckpointFile).string() + ": does not fit this run's model: " + e.what());
  }
  return ck;
}
}  // namespace

namespace {
json stored_config(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir / kConfigFile, ec)) throw InputError(dir.string() + ": not a run directory (no config.json)");
  json stored = read_json(dir / kConfigFile);
  // A run directory written before the key existed was trained in float64.
  if (stored.is_object() && !stored.contains("dtype")) stored["dtype"] = "float64";
  return stored;
}
}  // namespace

std::string run_dtype(const fs::path& dir) {
  const json stored = stored_config(dir);
  return stored["dtype"].is_string() ? stored["dtype"].get<std::string>() : "";  // anything else: refused by validation
}

template <class T>
Session<T> open_run(const fs::path& dir) {
  const json cfg = resolve_config(stored_config(dir).dump(), (dir / kConfigFile).string(), {}, dir);
  Session<T> s = build_session<T>(cfg);
  if (!restore_latest(s, dir)) throw InputError(dir.string() + ": no checkpoint yet (the run has not trained)");
  return s;
}

template Session<float> open_run(const fs::path&);
template Session<double> open_run(const fs::path&);

template <class T>
json run_experiment(Session<T>& s, const RunOptions& opt) {
  const json& tr = s.cfg["training"];
  const fs::path dir = opt.dir;
  auto t0 = Clock::now();
  const int64_t steps = tr["steps"], batch = tr["batch_size"], log_every = tr["log_every"], ck_every = tr["checkpoint_every"];
  const double clip = tr["grad_clip"];
  const uint64_t seed = s.cfg["seed"];

  int64_t step = 0, retries = 0;
  double lr_scale = 1.0, elapsed0 = 0;
  json events = json::array();
  json last = {{"loss", nullptr}, {"terms", json::object()}, {"grad_norm", nullptr}};  // the latest step's numbers
  // With several processes (Note [Shards across processes]) every one trains its shards and takes the same steps;
  // the first alone writes the run directory, and samples and evaluates after training.
  const bool writer = s.shards->comm().rank() == 0, quiet = opt.quiet || !writer;
  if (opt.resume) {
    if (auto ck = restore_latest(s, dir)) {
      step = (*ck)["step"];
      lr_scale = (*ck)["lr_scale"], retries = (*ck)["retries"], events = (*ck)["divergence_events"];
      elapsed0 = (*ck)["elapsed_seconds"];
      last = (*ck)["last"];
      if (writer) truncate_metrics(dir, step);
      if (!quiet) std::fprintf(stderr, "resuming %s from step %lld\n", dir.c_str(), (long long)step);
    } else if (writer) {
      truncate_metrics(dir, 0);
    }
  }
  if (!quiet)
    if (auto* mlp = dynamic_cast<MlpEnergy<T>*>(s.model.get()))
      if (auto w = score_matching_warning(mlp->activation(), s.objective->uses_second_derivatives()))
        std::fprintf(stderr, "warning: %s\n", w->c_str());

  std::ofstream metrics;
  if (writer) metrics.open(dir / kMetricsFile, std::ios::app);
  if (writer && !metrics) throw std::runtime_error((dir / kMetricsFile).string() + ": cannot open for writing");
  json good = snapshot(s, step, lr_scale, retries, events, elapsed0, last);  // last known-good state, in memory
  Progress progress(steps, quiet);
  progress.start_at(step);
  const char* crash_env = std::getenv("EBM_TEST_CRASH_AFTER_CHECKPOINT");  // test hook: simulates kill -9
  const char* nan_env = std::getenv("EBM_TEST_NAN_GRAD_AT_STEP");            // test hook: fault injection
  int64_t nan_grad_step = nan_env ? std::atoll(nan_env) : -1;
  auto t_train = Clock::now();
  std::optional<data::EpochOrder> epochs;
  if (const std::string order = tr["batches"]; order != "with_replacement") epochs.emplace(s.data.x.rows(), seed, kEpochStream, order == "epochs");

  data::EpochOrder* order = epochs ? &*epochs : nullptr;
  StepBatch<T> next;  // the batch of step next.step, drawn while the previous step's update ran

  while (step < steps) {
    StepBatch<T> cur = next.step == step ? std::move(next) : draw_step_batch<T>(s.data, batch, step, order, seed);
    const bool logged = (step + 1) % log_every == 0 || step + 1 == steps, saved = (step + 1) % ck_every == 0;
    StepOptions<T> so;
    so.clip_norm = clip;
    so.want_norm = logged || saved;
    const std::string at_step = "step " + std::to_string(step + 1);
    so.phase = [&](const std::string& phase, const std::function<void()>& run) { in_stage(phase, run, at_step); };
    if (nan_grad_step == step + 1)  // test hook: a NaN in a gradient, once
      so.after_gradients = [&](std::vector<ad::Tensor<T>>& grads) {
        if (!grads.empty() && grads[0].numel() > 0) grads[0][0] = std::numeric_limits<T>::quiet_NaN();
        nan_grad_step = -1;
      };
    // Note [Batch drawn during the update]: the next step's batch does not depend on this step's parameters, so it
    // is drawn (scattered rows of a data set larger than the caches) on the other core while this one runs the
    // update, which is serial for parameters of the size of an RBM's on images (parallel, it woke a sleeping
    // worker at every small step). The batch is a function of the step alone (epoch position or the step's
    // stream), so the run's numbers do not change, and a step the divergence guard repeats redraws it. Only for
    // batches that draw_batch copies in parallel: a small step is serial, and waking the sleeping worker for it
    // would cost more than the copy.
    if (step + 1 < steps && batch * s.data.x.cols() >= kParallelBatchValues)
      so.alongside_update = [&] { next = draw_step_batch<T>(s.data, batch, step + 1, order, seed); };
    const StepReport rep = train_step(*s.shards, *s.model, *s.optimizer, cur.x, cur.rng, so, cur.labels.empty() ? nullptr : &cur.labels);
    const bool ok = rep.finite;
    const double lr = rep.lr, gnorm = rep.grad_norm;
    if (!ok) {
      // Divergence guard: back to the last good state; retry with a smaller rate if the config allows.
      int64_t back_to = restore_checkpoint(s, good);
      if (retries >= tr["max_retries"].get<int64_t>())
        throw std::runtime_error("training diverged at step " + std::to_string(step + 1) + " (non-finite loss, gradient or parameters; " +
                                 std::to_string(retries) + " retries used); the last good checkpoint is kept");
      ++retries;
      lr_scale *= tr["retry_lr_factor"].get<double>();
      s.set_lr_scale(lr_scale);
      events.push_back({{"step", step + 1}, {"restored_to", back_to}, {"lr_scale", lr_scale}});
      if (!quiet)
        std::fprintf(stderr, "\nnon-finite values at step %lld: restored step %lld, learning rate x%g\n", (long long)step + 1,
                     (long long)back_to, lr_scale);
      step = back_to;
      continue;
    }
    ++step;
    if (logged || saved) {  // the latest step's numbers, for the metrics line, snapshots and the summary
      last = {{"loss", rep.loss}, {"terms", json::object()}, {"grad_norm", gnorm}};
      for (const Term& t : rep.terms) last["terms"][t.name] = t.value;
    }
    double elapsed = elapsed0 + std::chrono::duration<double>(Clock::now() - t_train).count();
    if (step % log_every == 0 || step == steps) {
      json line = {{"step", step}, {"loss", rep.loss}};
      for (const Term& t : rep.terms) line[t.name] = t.value;
      line["grad_norm"] = gnorm;
      line["lr"] = lr;
      line["wall_time"] = elapsed;
      if (writer) metrics << line.dump() << "\n" << std::flush;
      if (writer && !metrics)  // errno still holds the failed write's reason (ENOSPC, EIO)
        throw std::runtime_error((dir / kMetricsFile).string() + ": write failed: " + std::strerror(errno) +
                                 "; the last checkpoint is intact and --resume continues from it");
      good = snapshot(s, step, lr_scale, retries, events, elapsed, last);
      progress.update(step, rep.loss, step == steps);
    }
    if (step % ck_every == 0 || step == steps) {
      in_stage("checkpoint", [&] {
                 const json ck = snapshot(s, step, lr_scale, retries, events, elapsed, last);  // collective: every shard's state
                 if (writer) save_checkpoint(dir, ck);
               },
               "step " + std::to_string(step) + "; the previous checkpoint is intact and --resume continues from it");
      if (crash_env && step >= std::atoll(crash_env)) std::raise(SIGKILL);
    }
  }
  progress.finish();
  double train_s = std::chrono::duration<double>(Clock::now() - t_train).count();
  if (s.shards->comm().size() > 1) s.shards->sync_parts();  // the summary describes every shard's chains
  if (!writer) return json::object();

  // The final parameters in plain JSON, for users and for comparing runs (the checkpoint also holds timings).
  json pj = json::object();
  auto dump_params = [&pj](const std::vector<Param<T>>& ps, const std::string& prefix) {
    for (const auto& p : ps) {
      json shape = json::array();
      for (int k = 0; k < p.value.rank(); ++k) shape.push_back(p.value.shape()[k]);
      pj[prefix + p.name] = {{"shape", shape}, {"values", tensor_to_json(p.value)}};
    }
  };
  in_stage("parameters", [&] {
    dump_params(s.model->params(), "");
    dump_params(s.objective->extra_params(), "objective.");
    write_json(dir / "parameters.json", pj);
  });

  auto t_sample = Clock::now();
  json sampler_stats;
  ad::Tensor<T> samples = in_stage("sampling", [&] {
    ad::Tensor<T> x = draw_samples(s, s.cfg["sampler"], sampler_stats);
    check_finite_samples(x);
    data::write_npy(dir / "samples.npy", x);
    return x;
  });
  double sample_s = std::chrono::duration<double>(Clock::now() - t_sample).count();
  if (!opt.quiet && sampler_stats.contains("warnings"))
    for (const auto& w : sampler_stats["warnings"]) std::fprintf(stderr, "warning: sampler: %s\n", w.get<std::string>().c_str());

  auto t_eval = Clock::now();
  const Evaluation eval = evaluate_model(s, samples);
  std::vector<std::string> pngs;
  if (s.cfg["output"]["plots"].template get<bool>())
    pngs = in_stage("plots", [&] { return write_plots(s, samples, eval.figures, dir); });
  double eval_s = std::chrono::duration<double>(Clock::now() - t_eval).count();

  json summary = {{"complete", true},
                  {"dtype", dtype_name<T>()},
                  {"steps", steps},
                  {"final", last},
                  {"parameters", eval.report.contains("parameters") ? eval.report["parameters"] : json::object()},
                  {"evaluation", eval.report},
                  {"sampler", sampler_stats},
                  {"divergence_events", events},
                  {"files", {{"samples", "samples.npy"}, {"plots", pngs}}},
                  // Timings vary run to run; everything else in this file is reproducible bit for bit.
                  {"timings", {{"train_seconds", train_s + elapsed0}, {"sample_seconds", sample_s}, {"eval_seconds", eval_s},
                               {"total_seconds", std::chrono::duration<double>(Clock::now() - t0).count() + elapsed0}}}};
  in_stage("summary", [&] { write_json(dir / kSummaryFile, summary); });  // last: marks the run complete
  return summary;
}

template json run_experiment(Session<float>&, const RunOptions&);
template json run_experiment(Session<double>&, const RunOptions&);

}  // namespace ebm::experiment
