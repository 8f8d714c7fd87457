// bf16 copies of float32 CUDA weights that the optimizer keeps current. Under bf16 autocast every product casts its
// float32 weight first (on the L8 mixer: 49 casts a step, reading 4 and writing 2 bytes a weight); here the first
// cast of a weight becomes its copy, and AdamW (train/adamw.h) writes the updated weight into the copy in the pass
// that updates it, for 2 bytes a weight. A copy counts only while it matches its weight: same storage and same
// version counter as when it was last written. Anything else that changes a weight (a checkpoint load, a
// broadcast, an optimizer without copies) bumps the version, and the next product casts again.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace maskmix {

// Whether weights get copies: only with maskmix's AdamW kernel (MASKMIX_ADAMW=maskmix, opt-in until it has been
// measured on a GPU), the optimizer that writes them; MASKMIX_WEIGHT_COPIES=0 turns them off even then.
bool weightCopiesOn();

// w in `dtype` for a product inside a custom autograd function's forward (no gradient flows through the result):
// the weight's current copy, or a fresh cast, which for a float32 CUDA weight cast to bf16 becomes its copy while
// weightCopiesOn().
at::Tensor computeCopy(const at::Tensor& w, at::ScalarType dtype);

// The bf16 copy of `param` an update should also write (undefined when it has none).
at::Tensor copyOf(const at::Tensor& param);
// Marks the copies of `params` current: after an update wrote them beside the weights (through no op the version
// counters see), or after a CUDA graph replayed such an update and the replay's caller bumped the versions.
void markCopiesCurrent(const std::vector<at::Tensor>& params);
// Frees the copies of weights that no longer exist (a disposed model's, a trainer's): also done whenever a copy is made.
void dropFreedCopies();
// Casts again every copy among `params` whose weight changed since it was written: before replaying a CUDA graph,
// whose products read the copies without asking.
void refreshStaleCopies(const std::vector<at::Tensor>& params);

}  // namespace maskmix
