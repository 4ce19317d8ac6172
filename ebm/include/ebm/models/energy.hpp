#pragma once
// The model interface: an energy E_θ(x) over a batch, with its parameters θ held by name.
//
// Convention used everywhere in ebm/: p_θ(x) ∝ exp(−E_θ(x)), so the model score is s_θ(x) = −∇ₓE_θ(x).
//
// A model owns the values of its parameters (`params()`), but computes from Vars: `energy(params, x)` takes
// the parameters already placed on x's tape. Bound as variables (Bind::variable), ∇θ comes from ad::grad;
// since every op can be differentiated again, score-matching objectives can take ∇ₓE with create_graph and
// then differentiate it with respect to θ. Bound as constants (Bind::constant), θ is held fixed, which is
// what samplers want.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <autodiff/autodiff.hpp>

namespace ebm {

/// One named parameter tensor.
template <class T>
struct Param {
  std::string name;
  ad::Tensor<T> value;
};

enum class Bind { variable, constant };

/// Puts every parameter on the tape, in order, as a variable (gradients flow) or a constant (θ held fixed).
template <class T>
std::vector<ad::Var<T>> bind_params(ad::Tape<T>& tape, const std::vector<Param<T>>& params, Bind how);

template <class T>
class Energy {
 public:
  virtual ~Energy() = default;
  virtual std::string name() const = 0;
  /// Number of input columns d.
  virtual int64_t dim() const = 0;
  virtual std::unique_ptr<Energy<T>> clone() const = 0;
  /// Per-sample energies [B] for a batch x of shape [B, d]. `params` are this model's parameters in the order
  /// of params(), on x's tape (variables or constants).
  virtual ad::Var<T> energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const = 0;

  std::vector<Param<T>>& params() { return params_; }
  const std::vector<Param<T>>& params() const { return params_; }
  /// The value of a parameter by name; throws std::out_of_range naming the model and the parameter.
  ad::Tensor<T>& param(std::string_view name);
  const ad::Tensor<T>& param(std::string_view name) const;
  size_t param_index(std::string_view name) const;
  /// Total number of scalar parameters.
  int64_t num_parameters() const;

  /// E(x) with θ held fixed: the parameters are bound as constants on x's tape (for samplers).
  ad::Var<T> fixed_energy(const ad::Var<T>& x) const;
  /// Plain evaluation of a batch: energies [B], nothing is kept.
  ad::Tensor<T> evaluate(const ad::Tensor<T>& x) const;
  /// ∇ₓE for each row, [B, d], θ fixed. The model score is its negative (see score()).
  ad::Tensor<T> grad_energy(const ad::Tensor<T>& x) const;
  /// s_θ(x) = −∇ₓE(x), [B, d].
  ad::Tensor<T> score(const ad::Tensor<T>& x) const;

 protected:
  Energy() = default;
  Energy(const Energy&) = default;
  Energy& operator=(const Energy&) = default;
  /// Throws unless `params` matches params() in count and shapes, and x is [B, dim()].
  void check_call(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const;

  std::vector<Param<T>> params_;
};

extern template class Energy<float>;
extern template class Energy<double>;

}  // namespace ebm
