#include "model_init.hpp"

#include <cmath>

#include "ebm/data/npy.hpp"

namespace ebm::experiment {

Node model_init_schema() {
  Node n;
  n.kind = Node::Kind::any;
  n.description = "initial parameters by name (e.g. {\"W\": [[0, 1], [1, 0]], \"b\": \"b.npy\"}): numbers, nested arrays "
                  "or .npy files relative to the experiment file; parameters not named keep the model's own initialisation";
  n.default_value = json::object();
  return n;
}

template <class T>
void apply_model_init(const json& init, Energy<T>& model) {
  if (!init.is_object()) throw InputError("model.init: expected an object of parameter names, got " + brief(init));
  std::string names;
  for (const auto& p : model.params()) names += (names.empty() ? "" : ", ") + p.name;
  for (const auto& [name, value] : init.items()) {
    const std::string key = "model.init." + name;
    Param<T>* target = nullptr;
    for (auto& p : model.params())
      if (p.name == name) target = &p;
    if (!target) throw InputError(key + ": the model has no parameter \"" + name + "\" (it has " + names + ")");
    ad::Tensor<double> t;
    try {
      t = value.is_string() ? data::read_npy(value.template get<std::string>()) : tensor_from_json(value);
    } catch (const std::exception& e) {
      throw InputError(key + ": " + e.what());
    }
    const ad::Shape want = target->value.shape();
    // A number or a flat array fills a parameter of the same number of values only when the shapes agree as well,
    // except that a single number may stand for a one-value parameter of any rank.
    if (t.shape() != want && !(t.numel() == 1 && want.numel() == 1))
      throw InputError(key + ": expected shape " + want.str() + ", got " + t.shape().str());
    for (int64_t k = 0; k < t.numel(); ++k)
      if (!std::isfinite(static_cast<T>(t[k])))  // finite in double, it may still overflow float
        throw InputError(key + ": value " + std::to_string(k) + " is not finite" +
                         (std::isfinite(t[k]) ? std::string(" in ") + dtype_name<T>() : ""));
    std::copy(t.data(), t.data() + t.numel(), target->value.data());  // converted to T
  }
}

template void apply_model_init(const json&, Energy<float>&);
template void apply_model_init(const json&, Energy<double>&);

}  // namespace ebm::experiment
