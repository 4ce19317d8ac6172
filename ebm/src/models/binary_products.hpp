#pragma once
// Note [Delta products]: products x M in which every row x_r holds only 0s and 1s (the states of a binary RBM's
// units), computed from additions and from each other instead of by a dense matrix product.
//
// Row r of x M is Σ_{k: x_rk = 1} m_k, a sum of selected rows of M: additions only, one per 1 in x_r (about a third
// of the pixels of binarised Fashion-MNIST, 40 % of trained hidden units), against a dense product's K multiply-adds.
// Better still, rows resemble each other: if row p is already known, x_r M = x_p M + Σ_{x_r has a 1, x_p a 0} m_k
// − Σ_{x_p has a 1, x_r a 0} m_k, which costs the Hamming distance between x_r and x_p. So a product is planned as a
// tree: every row's parent is the bias (cost: its count of ones) or a row computed before it (cost: their Hamming
// distance), chosen as a minimum spanning tree by Prim's algorithm. Measured on batches of 100: 82 instead of 229
// additions per data row, 37 instead of 112 per sample of 256 hidden units; a product's rows can also start from
// rows of an earlier product with the same M (a PCD chain's state after a Gibbs sweep from the state before it).
// For the weight gradient vᵀQ the "rows" are the columns of v (pixels): see Note [Chain products].
//
// Execution: M is packed once (per parameter state) into panels of NR columns (4 SIMD vectors), each panel's rows
// contiguous; a panel is walked in slices of kSliceRows rows (with AVX-512, 32 KiB of floats or 64 KiB of doubles:
// contiguous, where M's rows in place would be KiBs apart and collide in the cache), and every row's signed sum
// over that slice is added to its output. A second pass adds each row's base (bias or parent output) in plan order.
// M is read in place instead when its rows are whole panels (plan_tree's in_place_cols): no packing copy. Panels
// run in parallel; each output element is computed by one task in a fixed order, so the result does not depend on
// the thread count. It differs from a dense product only by rounding (the sums run in another order).
#include <autodiff/shards.hpp>
#include <cstdint>
#include <functional>
#include <vector>

namespace ebm::detail {

/// Rows of 0/1 values as bitsets, `words` 64-bit words per row (bit k of row r: word r·words + k/64, bit k%64).
struct BitRows {
  int64_t rows = 0, cols = 0, words = 0;
  std::vector<uint64_t> bits;

  /// From a row-major [rows, cols] array; returns false if some value is neither 0 nor 1 (bits then unspecified).
  template <class T>
  bool assign(const T* x, int64_t rows, int64_t cols);
  /// Appends the rows of another BitRows of the same width.
  void append(const BitRows& other);
  /// rows × cols bits, all zero, for writing row by row.
  void reset(int64_t rows, int64_t cols);
  const uint64_t* row(int64_t r) const { return bits.data() + r * words; }
  uint64_t* row(int64_t r) { return bits.data() + r * words; }
  int64_t count(int64_t r) const;
  /// Ones of row r among columns [c0, c1).
  int64_t count_range(int64_t r, int64_t c0, int64_t c1) const;
};

/// How each output row is formed (Note [Delta products]).
struct DeltaPlan {
  int64_t rows = 0, slices = 0;
  std::vector<int32_t> order;   // parents come before their children
  std::vector<int64_t> parent;  // −1: the bias; 0 .. rows−1: a row of this product; rows + q: reference row q
  std::vector<int32_t> idx;     // entries (k − slice start) · stride: the rows of M to add, then those to subtract
  std::vector<int64_t> off;     // per (row, slice): off[2(r·slices + s)] adds begin, [+1] subtracts begin, [+2] end
  int64_t stride = 0;           // elements between rows of M: NR for packed panels, N for M read in place
  int64_t entries() const { return static_cast<int64_t>(idx.size()); }
};

/// Rows of M per slice and panel width in elements, for element type T.
template <class T>
struct DeltaLayout {
  static constexpr int64_t kVectors = 4;
  static constexpr int64_t kSliceRows = 256;  // a multiple of 64: slices start at word boundaries
  static int64_t width();                     // NR: kVectors SIMD vectors of T
};

/// A minimum spanning tree over x's rows, the all-zero row (the bias) and `refs` (rows whose outputs are known).
/// Rows are planned in blocks of at most 256 (a block's rows start from the bias, refs or rows of that block).
/// `in_place_cols` > 0: M will be read in place, row-major with that many columns (a multiple of NR); 0: M is
/// packed (pack_panels).
template <class T>
DeltaPlan plan_tree(const BitRows& x, const BitRows* refs, int64_t in_place_cols = 0);
/// Row r starts from reference row r (or from the bias, when it has fewer ones than their Hamming distance): no
/// tree to search, for rows that each have a known close relative (a chain's state and its state one sweep
/// before). refs has as many rows as x.
template <class T>
DeltaPlan plan_pairs(const BitRows& x, const BitRows& refs, int64_t in_place_cols = 0);
/// M [K, N] (row-major; or stored transposed, [N, K], when `trans`) as panels: panel p holds columns
/// [p·NR, p·NR + NR) of all K rows, row after row (zeros beyond column N): out[(p·K + k)·NR + c] = M[k, p·NR + c].
/// out must hold panels(N)·K·NR values. Panels are packed in parallel from `parallel_from` values of M on: below
/// 2^16 waking a second thread costs more than it saves, unless the caller is about to use it anyway.
template <class T>
void pack_panels(const T* M, bool trans, int64_t K, int64_t N, T* out, int64_t parallel_from = int64_t{1} << 16);
template <class T>
int64_t panels(int64_t N) {
  return (N + DeltaLayout<T>::width() - 1) / DeltaLayout<T>::width();
}

/// out[r, :] = base_r + Σ_{k ∈ adds_r} M[k, :] − Σ_{k ∈ subs_r} M[k, :] for the plan's rows, M [K, N] given as
/// pack_panels, or in place (row-major, N a multiple of NR) if the plan was made for that. Packing pays for
/// itself on big batches (a panel's slice stays in L1 across all rows); on a few rows it costs more than it saves. base_r: bias [N] (zeros when null) for parent −1, out[parent, :], or ref_rows[parent − rows][:]
/// (pointers to the reference rows' outputs, N values each). out is [rows, N]. `parallel`: panels may run as
/// parallel tasks (callers that already run products in parallel, one per block of rows, pass false).
template <class T>
void delta_product(const DeltaPlan& plan, const T* packed, int64_t K, int64_t N, const T* bias, const T* const* ref_rows, T* out,
                   bool parallel = true);

/// Note [Panels packed on the fly]: delta_product with M given by its transpose, mt [N, K] row-major (an RBM's W
/// for M = Wᵀ, whose rows b + hWᵀ sums). Each panel is packed from mt just before its rows are summed, into a
/// buffer of the calling task (K·NR values: 64 KiB for 256 hidden units in double), where it is still in L1/L2,
/// instead of all of Wᵀ first into one shared buffer. In a PCD step every row shard does this for its own rows,
/// so Wᵀ is transposed once per shard instead of once per step; yet the step got faster (batch 100, two threads,
/// 1000 steps: 1.61 → 1.50 ms with 256 hidden units, 0.67 → 0.61 ms with 64): the shared pack cost ~130 µs on two
/// threads inside a step, against ~40 µs for the same copy in isolation, because both cores had just read (W) or
/// were about to read (Wᵀ) every line of it, and it was a separate parallel region. The plan is one made for
/// packed panels.
template <class T>
void delta_product_transposed(const DeltaPlan& plan, const T* mt, int64_t K, int64_t N, const T* bias, const T* const* ref_rows,
                              T* out, bool parallel = true);

/// Note [Chain products]: the weight gradient vᵀQ of a binary RBM is a product whose "rows" are the columns of v
/// (pixels), and neighbouring pixels are alike: column i starts from column i − 1 (10 instead of 31 rows of Q per
/// column on a batch of 100 images), or from zero when its count of ones is below that Hamming distance. Every row
/// has the same parent, the row before it, so no tree is searched. One task per 64 columns (one word of the
/// stacked rows) transposes its columns out of the rows' bits, counts their ones per part (for ∂/∂b), writes
/// their differences as index lists once (branch-free, set_bits.hpp: a branch per set bit mispredicted at every
/// word's end and cost more than the additions), then, per block of kChainBlockVectors SIMD vectors of columns,
/// keeps the running row in registers, adds and subtracts the listed rows, and stores it. Against a planned delta
/// product this saves the per-slice partial sums and the second pass over the output (together 3× the time of the
/// additions at batch 10); transposing and counting in the tasks instead of before them took ~30 µs off a serial
/// stretch of each PCD step (batch 100). Each task's column block starts from zero and runs in a fixed order:
/// the result does not depend on the thread count, and differs from a dense product only by rounding.
inline constexpr int kChainBlockVectors = 16;
/// For the rows of `rows` stacked (one after the other, all of the same width C): out[i, :] = Σ_{stacked rows r
/// with a 1 in column i} M[r, :], M [total rows, N] row-major, out [C, N]; and counts[k·C + i] = the ones in column
/// i among stacked rows [ranges[k], ranges[k + 1]).
template <class T>
void chain_product(const std::vector<const BitRows*>& rows, const std::vector<int64_t>& ranges, const T* M, int64_t N, T* out,
                   int64_t* counts);

/// Note [Row shards]: a product of n rows runs as shards_of(n) blocks of consecutive rows, one task each, each
/// planned on its own (with the same reference rows). On two cores this beats splitting the columns into panels
/// when there are few panels (64 hidden units are two): each core then reads all of M but writes only its own
/// rows, planning runs in parallel too, and no output cache line is written from both cores. The blocks depend
/// on n only, never on the thread count, so results do not either.
struct Shards {
  int64_t count = 1, n = 0;
  int64_t begin(int64_t s) const { return n * s / count; }
};
/// Run with ad::for_each_shard(count, ...): one task per shard, whichever thread runs it.
Shards shards_of(int64_t n);

}  // namespace ebm::detail
