// Optimisers: Adam (and AdamW) and SGD with momentum; the learning-rate schedule fields are shared.
#include "enum_field.hpp"

#include "ebm/experiment/registry.hpp"
#include "ebm/optim/adam.hpp"
#include "ebm/optim/sgd.hpp"

namespace ebm::experiment {

namespace {

std::vector<Field> with_schedule(std::vector<Field> own, double lr) {
  std::vector<Field> f = {
      {"lr", number("learning rate", lr).positive()},
      {"schedule", enum_field(kLrScheduleNames, "learning-rate schedule (cosine decays over training.steps)", LrSchedule::Kind::constant)},
      {"step_size", integer("step schedule: decay every this many steps", 1000).at_least(1)},
      {"gamma", number("step schedule: decay factor", 0.1).positive()},
      {"min_lr", number("cosine schedule: final rate", 0.0).non_negative()},
      {"warmup_steps", integer("linear warm-up steps", 0).non_negative()}};
  f.insert(f.end(), own.begin(), own.end());
  return f;
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
       }});
}

}  // namespace ebm::experiment
