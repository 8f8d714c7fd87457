#include "ops/causal_products.h"

#include "common/env_setting.h"
#include "common/torch_compat.h"

namespace maskmix {

std::vector<int64_t> causalPanelEdges(int64_t t) {
  // One panel (the plain GEMM) until the panel counts have been timed on a GPU (scripts/device/step-variants.sh):
  // smaller GEMMs may lose more to tile quantisation than the skipped triangle saves.
  const int64_t panels = envInt("MASKMIX_MIXING_PANELS", 1, 1, 16);
  std::vector<int64_t> edges{0};
  for (int64_t i = 1; i < panels; ++i) {
    int64_t edge = (i * t / panels + 7) / 8 * 8;
    if (edge > edges.back() && edge < t) edges.push_back(edge);
  }
  edges.push_back(t);
  return edges;
}

at::Tensor causalProduct(const at::Tensor& a, const at::Tensor& b, int64_t lead) {
  const int64_t t = a.size(0);
  std::vector<int64_t> edges = causalPanelEdges(t);
  if (edges.size() == 2) return at::mm(a, b);
  at::Tensor out = at::empty({t, b.size(1)}, b.options());
  for (size_t i = 0; i + 1 < edges.size(); ++i) {
    const int64_t first = edges[i], end = edges[i + 1], k = lead + end;  // rows [first, end) read B's first k rows
    at::Tensor rows = out.narrow(0, first, end - first);
    at::mm_out(rows, a.narrow(0, first, end - first).narrow(1, 0, k), b.narrow(0, 0, k));
  }
  return out;
}

at::Tensor causalTransposedProduct(const at::Tensor& m, const at::Tensor& g) {
  const int64_t t = m.size(0);
  std::vector<int64_t> edges = causalPanelEdges(t);
  if (edges.size() == 2) return at::mm(m.t(), g);
  at::Tensor out = at::empty_like(g);
  for (size_t i = 0; i + 1 < edges.size(); ++i) {
    // Output rows [first, end) are M's columns there; only M's rows from `first` on are non-zero in them.
    const int64_t first = edges[i], end = edges[i + 1];
    at::Tensor rows = out.narrow(0, first, end - first);
    at::mm_out(rows, m.narrow(0, first, t - first).narrow(1, first, end - first).t(), g.narrow(0, first, t - first));
  }
  return out;
}

at::Tensor causalWeightGradient(const at::Tensor& g, const at::Tensor& x, at::ScalarType dtype) {
  const int64_t t = g.size(0);
  std::vector<int64_t> edges = causalPanelEdges(t);
  if (edges.size() == 2) return compat::mmAs(g, x.t(), dtype).tril_();
  at::Tensor out = at::zeros({t, t}, g.options().dtype(dtype));
  for (size_t i = 0; i + 1 < edges.size(); ++i) {
    // Rows [first, end) of the gradient are zero beyond column end − 1: one [rows, end] block each.
    const int64_t first = edges[i], end = edges[i + 1];
    out.narrow(0, first, end - first).narrow(1, 0, end).copy_(compat::mmAs(g.narrow(0, first, end - first), x.narrow(0, 0, end).t(), dtype));
  }
  return out.tril_();
}

}  // namespace maskmix
