// ebm-bench: the EBM workloads of the benchmark spec (WORKLOADS.md in the spec directory, ../shared/bench
// relative to the repository root unless given otherwise) on the product's path (workloads.hpp: the functions
// `ebm run` calls), printing the spec's torch_reference.py rows (same flags, same JSON). See bench/README.md.
//
//   ebm-bench [--only W] [--size small|mid|large|all] [--threads N] [--check]
//             [--min-time S] [--budget S] [--max-reps N] [--method PREFIX] [--shards S]
//
// Timing mode runs in float32, --check in float64 (one evaluation per workload, z = 0 in Langevin). Timing
// reports each workload's fastest method (the others under "alt"); --check prints a row per method, and
// compare.py checks the last one of each workload, so check one method with --method or --shards.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "autodiff/autodiff.hpp"
#include "problem.hpp"
#include "workloads.hpp"

namespace {

using namespace bench;
using json = nlohmann::ordered_json;

// ------------------------------------------------------------------------------------------- output
/// 0-dim tensors as plain numbers; others as {sum, asum, wsum} over the row-major flattening.
template <class T>
json checksum(const Tensor<T>& t) {
  if (t.rank() == 0) return static_cast<double>(t.item());
  double s = 0, a = 0, w = 0;
  for (int64_t k = 0; k < t.numel(); ++k) {
    const double x = static_cast<double>(t[k]);
    s += x;
    a += std::fabs(x);
    w += static_cast<double>(k % 7 + 1) * x;
  }
  return json{{"sum", s}, {"asum", a}, {"wsum", w}};
}

void emit(const json& row) { std::cout << row.dump() << std::endl; }

// ------------------------------------------------------------------------------------------- timing
struct Timing {
  double median_ms, min_ms;
  int reps;
  double value;
  std::string method;
};

/// The reference's protocol: one call, warm-up, reps = clamp(ceil(min_time / t_est), 5, max_reps) within the
/// budget (≥ 3 reps), each rep timed on its own.
Timing bench(const std::function<double(void*)>& fn, double min_time, int max_reps, double budget) {
  using clock = std::chrono::steady_clock;
  auto seconds = [](clock::duration d) { return std::chrono::duration<double>(d).count(); };
  auto t0 = clock::now();
  fn(nullptr);
  const double first = seconds(clock::now() - t0);
  const int nwarm = first > 0.05 ? 2 : std::max(3, std::min(200, static_cast<int>(0.25 / std::max(first, 1e-6))));
  t0 = clock::now();
  for (int i = 0; i < nwarm; ++i) fn(nullptr);
  const double est = seconds(clock::now() - t0) / nwarm;
  int reps = std::max(5, std::min(max_reps, static_cast<int>(std::ceil(min_time / est))));
  if (reps * est > budget) reps = std::max(3, static_cast<int>(budget / est));
  std::vector<double> times;
  double value = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t = clock::now();
    value = fn(nullptr);
    times.push_back(seconds(clock::now() - t) * 1e3);
  }
  std::sort(times.begin(), times.end());
  const size_t n = times.size();
  const double median = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
  return {median, times.front(), reps, value, ""};
}

double round6(double x) { return std::round(x * 1e6) / 1e6; }

struct Args {
  std::string only, size = "all", method;  // method: time only the method whose name starts with this
  int threads = 2, max_reps = 5000, shards = 0;  // shards: only the methods at this shard count (0: all)
  bool check = false;
  double min_time = 1.0, budget = 25.0;
};

const char* const kUsage = R"(usage: ebm-bench [--only W] [--size small|mid|large|all] [--threads N] [--check]
                 [--min-time S] [--budget S] [--max-reps N] [--method PREFIX] [--shards S]

The EBM workloads of the benchmark spec (WORKLOADS.md; the spec directory is ../shared/bench relative to
the repository root, or whatever the scripts' --spec-dir names), computed by the functions `ebm run` calls; one JSON row per workload and
size on standard output, as the spec's torch_reference.py prints them (compare them with the spec's compare.py;
see bench/README.md). The workloads are compiled in: this program reads no file.

  --only W          one workload: energy_grad score hvp ssm_step sm_exact_step dsm_step langevin cd_step
                    (default: all)
  --size S          small, mid (sm_exact_step only), large or all (default: all)
  --threads N       threads for the engine's kernels and row shards (default: 2)
  --check           float64, one evaluation per method, output checksums instead of timings (one row per
                    method; compare.py --check checks the last row of each workload: select with --method)
  --min-time S      float32 timing: enough repetitions to fill about S seconds, at least 5 (default: 1.0),
  --budget S        but no more than fit in S seconds, at least 3 (default: 25),
  --max-reps N      and at most N (default: 5000); each method's median and min are reported
  --method PREFIX   only the methods whose name starts with PREFIX (e.g. step, train_step)
  --shards S        only the methods at training.shards = S (1 or 2; default: both)
  --help            this text
)";

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(k + " needs a value");
      return argv[++i];
    };
    if (k == "--help" || k == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (k == "--only") a.only = next();
    else if (k == "--size") a.size = next();
    else if (k == "--method") a.method = next();
    else if (k == "--threads") a.threads = std::stoi(next());
    else if (k == "--check") a.check = true;
    else if (k == "--shards") a.shards = std::stoi(next());
    else if (k == "--min-time") a.min_time = std::stod(next());
    else if (k == "--budget") a.budget = std::stod(next());
    else if (k == "--max-reps") a.max_reps = std::stoi(next());
    else throw std::invalid_argument("unknown argument " + k);
  }
  if (!a.only.empty() && std::find(std::begin(kWorkloads), std::end(kWorkloads), a.only) == std::end(kWorkloads))
    throw std::invalid_argument("unknown workload " + a.only);
  if (a.size != "all" && a.size != "small" && a.size != "mid" && a.size != "large")
    throw std::invalid_argument("unknown size " + a.size);
  return a;
}

/// The methods --method and --shards leave in (a method that is not sharded has no " S=" in its name).
bool selected(const Args& args, const std::string& method) {
  if (method.rfind(args.method, 0) != 0) return false;
  const size_t at = method.rfind(" S=");
  return args.shards == 0 || at == std::string::npos || std::stoi(method.substr(at + 3)) == args.shards;
}

void run_check(const Args& args, const std::vector<std::string>& workloads, const std::vector<Size>& sizes) {
  for (const Size& s : sizes) {
    const Problem<double> pb = make_problem<double>(s);
    json outs;
    for (int k = 0; k < 6; ++k) outs[kParamNames[k]] = checksum(pb.theta[k]);
    outs["x"] = checksum(pb.X);
    outs["v"] = checksum(pb.V);
    emit({{"impl", "ours"}, {"mode", "check"}, {"dtype", "float64"}, {"workload", "init"}, {"size", s.name},
          {"outputs", outs}});
  }
  for (const std::string& w : workloads)
    for (const Size& s : sizes) {
      if (!runs_at(w, s.name)) continue;
      const Problem<double> pb = make_problem<double>(s);
      for (const Method<double>& m : make(w, pb, true)) {
        if (!selected(args, m.name)) continue;
        Outputs<double> out;
        const double value = m.run(&out);
        json outs;
        for (const auto& [name, t] : out) outs[name] = checksum(t);
        emit({{"impl", "ours"}, {"mode", "check"}, {"dtype", "float64"}, {"workload", w}, {"size", s.name},
              {"method", m.name}, {"value", value}, {"outputs", outs}});
      }
    }
}

void run_timing(const Args& args, const std::vector<std::string>& workloads, const std::vector<Size>& sizes) {
  for (const std::string& w : workloads)
    for (const Size& s : sizes) {
      if (!runs_at(w, s.name)) continue;
      const auto wall0 = std::chrono::steady_clock::now();
      const Problem<float> pb = make_problem<float>(s);
      std::vector<Timing> res;
      for (const Method<float>& m : make(w, pb, false)) {
        if (!selected(args, m.name)) continue;
        Timing t = bench([&](void*) { return m.run(nullptr); }, args.min_time, args.max_reps, args.budget);
        t.method = m.name;
        res.push_back(t);
      }
      if (res.empty()) {  // --method / --shards left no method of this workload
        std::cerr << "ebm-bench: no method of " << w << " is selected by --method '" << args.method << "' and --shards "
                  << args.shards << "\n";
        continue;
      }
      std::sort(res.begin(), res.end(), [](const Timing& a, const Timing& b) { return a.median_ms < b.median_ms; });
      json row{{"impl", "ours"},          {"workload", w},       {"size", s.name},
               {"threads", args.threads}, {"ms_median", round6(res[0].median_ms)},
               {"ms_min", round6(res[0].min_ms)}, {"reps", res[0].reps}, {"value", res[0].value},
               {"method", res[0].method}};
      if (res.size() > 1) {
        json alt;
        for (size_t i = 1; i < res.size(); ++i)
          alt[res[i].method] = {{"ms_median", round6(res[i].median_ms)}, {"ms_min", round6(res[i].min_ms)},
                                {"reps", res[i].reps}};
        row["alt"] = alt;
      }
      row["wall_s"] = std::round(std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count() * 100) / 100;
      emit(row);
    }
}

}  // namespace

int main(int argc, char** argv) {
  ad::keep_freed_buffers();  // as the ebm tool: steps reuse their buffers (autodiff/memory.hpp)
  try {
    const Args args = parse(argc, argv);
    ad::ThreadLimit limit(args.threads);
    std::vector<std::string> workloads;
    if (args.only.empty()) workloads.assign(std::begin(kWorkloads), std::end(kWorkloads));
    else workloads.push_back(args.only);
    std::vector<Size> sizes;
    for (const Size& s : kSizes)
      if (args.size == "all" || args.size == s.name) sizes.push_back(s);
    if (args.check) run_check(args, workloads, sizes);
    else run_timing(args, workloads, sizes);
  } catch (const std::exception& e) {
    std::cerr << "ebm-bench: " << e.what() << " (ebm-bench --help for usage)\n";
    return 1;
  }
  return 0;
}
