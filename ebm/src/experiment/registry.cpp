#include "ebm/experiment/registry.hpp"

#include <bit>
#include <cstring>
#include <stdexcept>

namespace ebm::experiment {

namespace {
template <class E>
const E& find(const std::vector<E>& entries, const std::string& name, const char* what) {
  for (const E& e : entries)
    if (e.name == name) return e;
  // Names are validated against the schema first, so this is a programming error, not user input.
  throw std::logic_error(std::string("unregistered ") + what + " \"" + name + "\"");
}
}  // namespace

const DataSource& Registry::data_source(const std::string& n) const { return find(data, n, "data source"); }
const ModelEntry& Registry::model(const std::string& n) const { return find(models, n, "model"); }
const ObjectiveEntry& Registry::objective(const std::string& n) const { return find(objectives, n, "objective"); }
const OptimizerEntry& Registry::optimizer(const std::string& n) const { return find(optimizers, n, "optimiser"); }
const SamplerEntry& Registry::sampler(const std::string& n) const { return find(samplers, n, "sampler"); }

const Registry& registry() {
  static const Registry r = [] {
    Registry r;
    register_data_sources(r);
    register_models(r);
    register_objectives(r);
    register_optimizers(r);
    register_samplers(r);
    return r;
  }();
  return r;
}

ad::Tensor<double> tensor_from_json(const json& j) {
  if (j.is_number()) return ad::Tensor<double>::scalar(j.get<double>());
  if (!j.is_array()) throw std::invalid_argument("expected a number or nested arrays of numbers");
  std::vector<int64_t> dims;
  const json* p = &j;
  while (p->is_array()) {
    dims.push_back(static_cast<int64_t>(p->size()));
    if (p->empty()) break;
    p = &(*p)[0];
  }
  if (dims.size() > 3) throw std::invalid_argument("at most 3 levels of nesting");
  std::vector<double> flat;
  std::function<void(const json&, size_t)> walk = [&](const json& a, size_t level) {
    if (level == dims.size()) {
      if (!a.is_number()) throw std::invalid_argument("expected numbers");
      flat.push_back(a.get<double>());
      return;
    }
    if (!a.is_array() || static_cast<int64_t>(a.size()) != dims[level])
      throw std::invalid_argument("ragged nested arrays (rows of different lengths)");
    for (const json& e : a) walk(e, level + 1);
  };
  walk(j, 0);
  ad::Shape shape = ad::Shape::of_rank(static_cast<int>(dims.size()), dims.data());
  return ad::Tensor<double>(shape, flat.data());
}

template <class T>
json tensor_to_json(const ad::Tensor<T>& t) {
  json a = json::array();
  for (int64_t i = 0; i < t.numel(); ++i) a.push_back(static_cast<double>(t[i]));
  return a;
}

// The bytes as they lie in memory: little-endian is what the format says, and what every target we build for is.
static_assert(std::endian::native == std::endian::little, "checkpoint tensors are stored as little-endian values");

template <class T>
json tensor_to_bytes(const ad::Tensor<T>& t) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(t.data());
  return json::binary(std::vector<uint8_t>(bytes, bytes + sizeof(T) * static_cast<size_t>(t.numel())));
}

template <class T>
bool tensor_values_into(const json& j, ad::Tensor<T>& out) {
  if (j.is_binary()) {
    const auto& bytes = j.get_binary();
    if (bytes.size() != sizeof(T) * static_cast<size_t>(out.numel())) return false;
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return true;
  }
  if (!j.is_array() || static_cast<int64_t>(j.size()) != out.numel()) return false;
  for (int64_t i = 0; i < out.numel(); ++i) out[i] = static_cast<T>(j[static_cast<size_t>(i)].get<double>());
  return true;
}

template json tensor_to_json(const ad::Tensor<float>&);
template json tensor_to_json(const ad::Tensor<double>&);
template json tensor_to_bytes(const ad::Tensor<float>&);
template json tensor_to_bytes(const ad::Tensor<double>&);
template bool tensor_values_into(const json&, ad::Tensor<float>&);
template bool tensor_values_into(const json&, ad::Tensor<double>&);

}  // namespace ebm::experiment
