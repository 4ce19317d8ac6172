#include "memory_budget.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

namespace ebm::experiment {

namespace {

uint64_t read_limit(const char* path) {
  std::ifstream in(path);
  std::string s;
  if (!(in >> s) || s == "max") return UINT64_MAX;
  try {
    return std::stoull(s);
  } catch (...) {
    return UINT64_MAX;
  }
}

struct Term {
  std::string key;
  double bytes = 0;
};

double integer_at(const json& section, const char* key) {
  return section.is_object() && section.contains(key) && section[key].is_number() ? section[key].get<double>() : 0.0;
}

// Parameters of a perceptron d -> widths... -> out, weights and biases.
double perceptron_parameters(double d, const json& widths, double out) {
  double n = 0, prev = d;
  for (const json& w : widths) {
    n += prev * w.get<double>() + w.get<double>();
    prev = w.get<double>();
  }
  return n + prev * out + out;
}

double widest(double d, const json& hidden) {
  double w = d;
  if (hidden.is_array())
    for (const json& h : hidden) w = std::max(w, h.get<double>());
  else if (hidden.is_number())
    w = std::max(w, hidden.get<double>());
  return w;
}

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

}  // namespace

uint64_t memory_available() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  uint64_t mem = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : UINT64_MAX;
  mem = std::min(mem, read_limit("/sys/fs/cgroup/memory.max"));
  mem = std::min(mem, read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
  return mem;
}

void check_memory_budget(const json& cfg, int64_t data_cols, int bytes_per_value, uint64_t available) {
  const double v = bytes_per_value, d = static_cast<double>(std::max<int64_t>(data_cols, 1));
  const json &data = cfg["data"], &model = cfg["model"], &sampler = cfg["sampler"], &objective = cfg["objective"];
  std::vector<Term> terms;
  // The data, in float64 rows (before loading, its column count is not known: one column).
  if (data_cols == 0) terms.push_back({"data.n", integer_at(data, "n") * d * 8});
  // Parameters with their gradient, two optimiser moments, the last good state and a shard's copy.
  const json& hidden = model.contains("hidden") ? model["hidden"] : json();
  double params = 0;
  if (hidden.is_array()) params = perceptron_parameters(d, hidden, std::max(1.0, integer_at(model, "classes")));
  if (hidden.is_number()) params = d * hidden.get<double>() + d + hidden.get<double>();
  if (model["type"] == "boltzmann" || model["type"] == "gaussian") params = std::max(params, d * d + d);
  terms.push_back({"model.hidden", params * v * 6});
  if (objective.is_object() && objective.contains("hidden") && objective["hidden"].is_array())
    terms.push_back({"objective.hidden", perceptron_parameters(d, objective["hidden"], 1) * v * 6});
  terms.push_back({"objective.buffer_size", integer_at(objective, "buffer_size") * d * v});
  // Chains (each K replicas when tempered), their positions and gradients; the traces kept for diagnostics.
  const double replicas = std::max(1.0, integer_at(sampler, "levels"));
  terms.push_back({"sampler.chains", integer_at(sampler, "chains") * replicas * widest(d, hidden) * v * 4});
  terms.push_back({"sampler.steps", std::min(integer_at(sampler, "chains"), std::max(2.0, integer_at(sampler, "trace_chains"))) *
                                        (integer_at(sampler, "steps") + integer_at(sampler, "warmup")) * d * 8});
  const json& ais = cfg["evaluation"].is_object() && cfg["evaluation"].contains("ais") ? cfg["evaluation"]["ais"] : json();
  if (ais.is_object() && ais.value("enabled", false))
    terms.push_back({"evaluation.ais.chains", integer_at(ais, "chains") * widest(d, hidden) * v * 4});
  // The key named: the first (in the order above: sizes before the batch that multiplies them) that is too large
  // by itself, else the largest.
  // Activations of a batch: every layer's values, with the copies of a backward pass recorded for a second one.
  terms.push_back({"training.batch_size", integer_at(cfg["training"], "batch_size") * widest(d, hidden) * v * 24});
  double total = 0;
  const Term* largest = &terms.front();
  for (const Term& t : terms) {
    total += t.bytes;
    if (t.bytes > largest->bytes) largest = &t;
  }
  for (const Term& t : terms)
    if (t.bytes > static_cast<double>(available)) {
      largest = &t;
      break;
    }
  if (!(total <= static_cast<double>(available)))
    throw InputError(largest->key + ": the sizes of this experiment need at least " + gib(total) + " of memory (" + largest->key +
                     " alone " + gib(largest->bytes) + "), and this process may use " + gib(static_cast<double>(available)) +
                     " (Note [Memory budget])");
}

}  // namespace ebm::experiment
