// Optimisers: Adam (and AdamW) and SGD with momentum; the learning-rate schedule fields are shared.
#include "ebm/experiment/registry.hpp"
#include "ebm/optim/adam.hpp"
#include "ebm/optim/sgd.hpp"

namespace ebm::experiment {

namespace {

std::vector<Field> with_schedule(std::vector<Field> own, double lr) {
  std::vector<Field> f = {
      {"lr", number("learning rate", lr).positive()},
      {"schedule", enumeration("learning-rate schedule (cosine decays over training.steps)", {"constant", "step", "cosine"}, "constant")},
      {"step_size", integer("step schedule: decay every this many steps", 1000).at_least(1)},
      {"gamma", number("step schedule: decay factor", 0.1).positive()},
      {"min_lr", number("cosine schedule: final rate", 0.0).non_negative()},
      {"warmup_steps", integer("linear warm-up steps", 0).non_negative()}};
  f.insert(f.end(), own.begin(), own.end());
  return f;
}

template <class T>
json tensors(const std::vector<ad::Tensor<T>>& v) {
  json a = json::array();
  for (const auto& t : v) a.push_back(tensor_to_bytes(t));
  return a;
}

template <class T>
std::vector<ad::Tensor<T>> tensors_like(const json& a, const std::vector<ad::Tensor<T>*>& shapes_of) {
  std::vector<ad::Tensor<T>> out;
  if (a.size() != shapes_of.size() && !a.empty()) throw std::runtime_error("optimiser state does not match the parameters");
  for (size_t i = 0; i < a.size(); ++i) {
    out.emplace_back(shapes_of[i]->shape(), ad::uninitialized);
    if (!tensor_values_into(a[i], out.back())) throw std::runtime_error("optimiser state does not match the parameters");
  }
  return out;
}

}  // namespace

void register_optimizers(Registry& r) {
  r.optimizers.push_back(
      {"adam", "Adam (torch semantics); decoupled_weight_decay gives AdamW",
       with_schedule({{"beta1", number("first-moment decay", 0.9).range(0, 1).below(1)},
                      {"beta2", number("second-moment decay", 0.999).range(0, 1).below(1)},
                      {"eps", number("denominator epsilon", 1e-8).positive()},
                      {"weight_decay", number("L2 weight decay", 0.0).non_negative()},
                      {"decoupled_weight_decay", boolean("AdamW-style decay", false)}},
                     1e-3),
       [](auto tag, const json& c, const LrSchedule& s) -> OptimizerPtr<decltype(tag)> {
         AdamOptions o;
         o.beta1 = c["beta1"], o.beta2 = c["beta2"], o.eps = c["eps"], o.weight_decay = c["weight_decay"];
         o.decoupled_weight_decay = c["decoupled_weight_decay"];
         return std::make_unique<Adam<typename decltype(tag)::type>>(s, o);
       },
       [](auto tag, auto& o) {
         auto st = dynamic_cast<Adam<typename decltype(tag)::type>&>(o).state();
         return json{{"step", st.step}, {"m", tensors(st.m)}, {"v", tensors(st.v)}};
       },
       [](auto tag, auto& o, const json& j, const auto& shapes) {
         using T = typename decltype(tag)::type;
         typename Adam<T>::State st;
         st.step = j["step"];
         st.m = tensors_like(j["m"], shapes);
         st.v = tensors_like(j["v"], shapes);
         dynamic_cast<Adam<T>&>(o).set_state(std::move(st));
       }});
  r.optimizers.push_back(
      {"sgd", "stochastic gradient descent with optional (Nesterov) momentum",
       with_schedule({{"momentum", number("momentum", 0.0).range(0, 1).below(1)},
                      {"nesterov", boolean("Nesterov momentum", false)},
                      {"weight_decay", number("L2 weight decay", 0.0).non_negative()}},
                     1e-2),
       [](auto tag, const json& c, const LrSchedule& s) -> OptimizerPtr<decltype(tag)> {
         SgdOptions o;
         o.momentum = c["momentum"], o.nesterov = c["nesterov"], o.weight_decay = c["weight_decay"];
         return std::make_unique<Sgd<typename decltype(tag)::type>>(s, o);
       },
       [](auto tag, auto& o) {
         auto& s = dynamic_cast<Sgd<typename decltype(tag)::type>&>(o);
         return json{{"step", s.steps()}, {"momentum", tensors(s.momentum_buffers())}};
       },
       [](auto tag, auto& o, const json& j, const auto& shapes) {
         auto& s = dynamic_cast<Sgd<typename decltype(tag)::type>&>(o);
         s.set_steps(j["step"]);
         s.momentum_buffers() = tensors_like(j["momentum"], shapes);
       }});
}

}  // namespace ebm::experiment
