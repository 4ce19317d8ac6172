#pragma once
// Multilayer perceptrons: the energy network E(x) = MLP(x) with a scalar output, and the shared forward pass
// (also used by the classifier energy).
//
// Layer l maps [B, in] to [B, out] as a = act(h W_l + b_l), W_l of shape [in, out], b_l of shape [out];
// the last layer is linear. Parameters are named "W0", "b0", "W1", "b1", ... (with an optional prefix).
// Initialisation: W ~ N(0, 1/in) (LeCun; keeps pre-activations O(1) for tanh/silu/softplus), b = 0.
#include <optional>
#include <string>

#include "ebm/enum_names.hpp"
#include "ebm/models/energy.hpp"

namespace ebm {

enum class Activation { tanh, silu, softplus, elu, relu, sigmoid };
/// The activations' names, as configs spell them; the config schema lists them in this order.
inline constexpr EnumName<Activation> kActivationNames[] = {{"silu", Activation::silu}, {"softplus", Activation::softplus},
                                                            {"tanh", Activation::tanh}, {"elu", Activation::elu},
                                                            {"relu", Activation::relu}, {"sigmoid", Activation::sigmoid}};

std::string to_string(Activation a);
/// A name of kActivationNames; throws std::invalid_argument otherwise.
Activation activation_from_string(std::string_view s);

template <class T>
ad::Var<T> activate(const ad::Var<T>& x, Activation a);

/// Parameters of an MLP with the given layer widths (widths[0] = input, widths.back() = output).
template <class T>
std::vector<Param<T>> mlp_init(const std::vector<int64_t>& widths, ad::Rng& rng, const std::string& prefix = "");

/// The forward pass using params[first .. first + 2·layers): returns [B, widths.back()].
template <class T>
ad::Var<T> mlp_forward(const std::vector<ad::Var<T>>& params, size_t first, size_t layers, const ad::Var<T>& x,
                       Activation act);

/// E(x) = MLP(x), widths {d, hidden..., 1}.
template <class T>
class MlpEnergy : public Energy<T> {
 public:
  MlpEnergy(int64_t d, std::vector<int64_t> hidden, Activation act, ad::Rng& rng);

  std::string name() const override { return "mlp"; }
  int64_t dim() const override { return widths_.front(); }
  std::unique_ptr<Energy<T>> clone() const override { return std::make_unique<MlpEnergy>(*this); }
  ad::Var<T> energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const override;

  Activation activation() const { return act_; }
  const std::vector<int64_t>& widths() const { return widths_; }

 private:
  std::vector<int64_t> widths_;
  Activation act_;
};

/// A warning for objectives that use second derivatives in x (exact, sliced score matching): with ReLU
/// every ∂²E/∂x² is zero almost everywhere, so the trace term vanishes and the loss only shrinks ‖∇ₓE‖.
/// Returns nullopt when the combination is fine.
std::optional<std::string> score_matching_warning(Activation act, bool objective_uses_second_derivatives);
/// The same for a model: looks through MLP and classifier energies (other models never warn).
/// Pass objective.uses_second_derivatives().
template <class T>
std::optional<std::string> score_matching_warning(const Energy<T>& model, bool objective_uses_second_derivatives);

extern template class MlpEnergy<float>;
extern template class MlpEnergy<double>;

}  // namespace ebm
