// matmul with transpose flags (so adjoints never materialise a transpose) and an explicit 2-D transpose.
#include "kernels/gemm.hpp"
#include "ops/common.hpp"

namespace ad {
using namespace ops;

namespace {
// op(B) packed for the GEMM if B is a leaf or a constant (Note [Packed operands]), else null.
template <class T>
const T* packed_operand(const Var<T>& b, bool tb, int64_t N, int64_t K) {
  auto& impl = b.tape().impl();
  if (impl.nodes[b.id()].rule || !kernels::gemm_packs_b<T>(N, K)) return nullptr;
  auto [it, fresh] = impl.packed.by_node.try_emplace(uint64_t{b.id()} * 2 + tb);
  if (fresh) {
    it->second = impl.packed.take(static_cast<size_t>(kernels::packed_b_size<T>(N, K)));
    kernels::pack_b_panels(tb, N, K, b.data(), it->second.data());
  }
  return it->second.data();
}
}  // namespace

template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b, bool ta, bool tb) {
  // C = op(A) op(B). With g = ∂L/∂C the adjoints are, per flag combination:
  //   C = A B    : gA = g Bᵀ,     gB = Aᵀ g
  //   C = Aᵀ B   : gA = B gᵀ,     gB = A g
  //   C = A Bᵀ   : gA = g B,      gB = gᵀ A
  //   C = Aᵀ Bᵀ  : gA = Bᵀ gᵀ,    gB = gᵀ Aᵀ
  static const Rule<T> rule{
      "matmul",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) {
        const bool ta = n.i(), tb = n.j();
        const Var<T> A = n.in(0), B = n.in(1);
        if (n.needs(0)) gin[0] = ta ? matmul(B, g, tb, true) : matmul(g, B, false, !tb);
        if (n.needs(1)) gin[1] = tb ? matmul(g, A, true, ta) : matmul(A, g, !ta, false);
      },
      [](const OpNode<T>& n, const Var<T>* t) {
        const bool ta = n.i(), tb = n.j();
        Var<T> r;
        if (t[0].defined()) r = matmul(t[0], n.in(1), ta, tb);
        if (t[1].defined()) r = acc(r, matmul(n.in(0), t[1], ta, tb));
        return r;
      }, false,
      [](const OpNode<T>& n, const Var<T>* t) -> Var<T> {
        // K directions of A (not transposed) in one product: [K m, k] op(B), m = M or 1 (shared by all rows).
        // Other cases (a tangent of B, or Aᵀ) go slice by slice.
        if (t[1].defined() || n.i()) return Var<T>();
        const Shape ts = t[0].shape(), sa = n.in_shape(0);
        const Var<T> t0 = ts[2] == sa[1] ? t[0] : broadcast_to(t[0], Shape{ts[0], ts[1], sa[1]});
        const Var<T> r = matmul(reshape(t0, Shape{ts[0] * ts[1], sa[1]}), n.in(1), false, n.j() != 0);
        return reshape(r, Shape{ts[0], ts[1], r.shape()[1]});
      }};
  const Shape sa = a.shape(), sb = b.shape();
  if (sa.rank() != 2 || sb.rank() != 2) throw ShapeError("matmul", sa, sb, "both operands must be 2-D");
  const int64_t M = ta ? sa[1] : sa[0], K = ta ? sa[0] : sa[1];
  const int64_t Kb = tb ? sb[1] : sb[0], N = tb ? sb[0] : sb[1];
  if (K != Kb)
    throw ShapeError(std::string("matmul") + (ta ? " (a transposed)" : "") + (tb ? " (b transposed)" : ""), sa, sb,
                     "inner dimensions " + std::to_string(K) + " and " + std::to_string(Kb) + " differ");
  Var<T> y = record(rule, {a, b}, Shape{M, N}, Attrs::ints(ta, tb));
  kernels::gemm(ta, tb, M, N, K, a.data(), b.data(), mutable_data(y), false, packed_operand(b, tb, N, K));
  return y;
}

template <class T>
Var<T> transpose(const Var<T>& x) {
  static const Rule<T> rule{
      "transpose", [](const OpNode<T>&, const Var<T>& g, Var<T>* gin) { gin[0] = transpose(g); },
      [](const OpNode<T>&, const Var<T>* t) { return transpose(t[0]); }};
  const Shape s = x.shape();
  if (s.rank() != 2) throw ShapeError("transpose: expected a 2-D value, got shape " + s.str());
  Var<T> y = record(rule, {x}, Shape{s[1], s[0]});
  kernels::transpose(x.data(), s[0], s[1], mutable_data(y));
  return y;
}

#define AD_INSTANTIATE(T)                                                  \
  template Var<T> matmul(const Var<T>&, const Var<T>&, bool, bool);        \
  template Var<T> transpose(const Var<T>&);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)
#undef AD_INSTANTIATE

}  // namespace ad
