// Sparsity patterns of generalized linear token mixing (SPEC §5, reference/structured-linear-mixing-notes.md):
// per head, y_i = Σ_{j ∈ A(i)} α_{i,j}·x_j + Σ_{j ∈ N(i)} β_{i,j}·y_j, i.e. Y = (I − B)⁻¹·A·X. A pattern says, for
// every position i (0-indexed here), which inputs A reads (as lags l: x_{i−l}) and which past outputs B reads (as
// slots k, each naming one position j < i or none). The nine patterns of the paper's Table 1:
//   attention      B = 0, A dense (every lag 0 … i)            decode O(n)      cache: every past input
//   local          B = 0, A banded (lags 0 … window−1)         decode O(w)      cache: the last w−1 inputs
//   first-order    A diagonal, B reads i−1 (a diagonal SSM)    decode O(1)      cache: 1 output
//   kth-order      A diagonal, B reads i−1 … i−order           decode O(k)      cache: k outputs
//   dense          A diagonal, B reads every j < i             decode O(n)      cache: every past output
//   pow2           A diagonal, B reads i − 2^k                 decode O(log n)  cache: O(n) (the last 2^⌊log₂(n−1)⌋)
//   square         A diagonal, B reads i − (k² + 1)            decode O(√n)     cache: O(n)
//   pow2-lattice   pow2 with each offset rounded up onto a lattice (below)   decode O(log n), cache O(log n)
//   square-lattice square likewise                                          decode O(√n),   cache O(√n)
// The notes' working assumption is followed: the f-patterns are on B, with A diagonal.
// Lattice (the notes' Def. 4.10, 1-indexed positions i): slot k reads a_k·⌈(i − f(k))/a_k⌉ for f(k) < i, with
// a_0 = 1 and a_{k+1} = a_k·⌈(f(k+1) − f(k))/a_k⌉. The positions read are then nested, S_i ⊆ S_{i−1} ∪ {i−1}, so
// a decoding cache keeps only what the next position reads. (Two slots of square-lattice may name the same
// position; both coefficients then apply to it, and the cache holds it once.)
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace maskmix {

enum class LinearPatternKind { Attention, Local, FirstOrder, KthOrder, Dense, Pow2, Pow2Lattice, Square, SquareLattice };

LinearPatternKind linearPatternFromName(const std::string& name);

class LinearPattern {
 public:
  // context: positions 0 … context−1; order: kth-order's k; window: local's w.
  LinearPattern(LinearPatternKind kind, int64_t context, int64_t order, int64_t window);

  LinearPatternKind kind() const { return kind_; }
  int64_t context() const { return context_; }
  // A reads x_{i−l} for lags l = 0 … lagsA()−1 (those with l ≤ i).
  int64_t lagsA() const { return lagsA_; }
  // Number of B slots of a row; slot k reads source(i, k).
  int64_t slotsB() const { return static_cast<int64_t>(offsets_.size()); }
  // Position read by B slot k of row i, or −1 when the slot reads nothing at this row.
  int64_t source(int64_t i, int64_t k) const;
  // The distinct past positions row i's B reads, ascending.
  std::vector<int64_t> reads(int64_t i) const;
  // Whether B is (nearly) full: every j < i.
  bool denseB() const { return kind_ == LinearPatternKind::Dense; }
  bool lattice() const { return kind_ == LinearPatternKind::Pow2Lattice || kind_ == LinearPatternKind::SquareLattice; }
  // The past outputs a decoding cache must hold once rows 0 … i are done: every position ≤ i that a later row
  // (< context) reads. Translation-invariant patterns: the last maxOffset() positions; lattices: reads(i + 1).
  std::vector<int64_t> retainedAfter(int64_t i) const;
  // f(k) of every B slot: slot k of row i reads i − f(k) (lattices: its rounding) when f(k) ≤ i.
  const std::vector<int64_t>& offsets() const { return offsets_; }
  // a_k of every slot (lattices; empty otherwise): slot k of row i reads a_k·⌈(i + 1 − f(k))/a_k⌉ − 1.
  const std::vector<int64_t>& latticeSteps() const { return lattice_; }
  // Largest B offset i − source(i, k) any row uses (0 without B).
  int64_t maxOffset() const;
  // 0/1 masks of the slots a row uses, rows position … position+m−1: [m, lagsA()] and [m, slotsB()].
  at::Tensor validA(int64_t position, int64_t m, const at::TensorOptions& options) const;
  at::Tensor validB(int64_t position, int64_t m, const at::TensorOptions& options) const;

 private:
  LinearPatternKind kind_;
  int64_t context_;
  int64_t lagsA_ = 1;
  std::vector<int64_t> offsets_;  // f(k) of every slot (dense, kth-order, first-order: k + 1)
  std::vector<int64_t> lattice_;  // a_k (lattice patterns)
};

}  // namespace maskmix
