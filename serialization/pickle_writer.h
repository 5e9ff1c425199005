// Writes a checkpoint tree as the protocol-2 pickle that Python's torch.save puts in data.pkl.
// The output uses only what torch.load(weights_only=True) accepts: dicts, lists, tuples, str, int,
// float, bool, None, and tensors as torch._utils._rebuild_tensor_v2 over typed storages
// (torch.FloatStorage, ...) referenced by persistent id, plus the empty collections.OrderedDict
// torch.save passes as backward hooks. No TorchScript type tags, no other globals.
// Invariants: tensors sharing a storage share one storage key ("0", "1", ... in order of first
// appearance); the whole storage is stored, tensors keep offset and strides.
// Throws tempo::CheckpointError naming the tree path ("state/optimizers/Adam/...") of a value it
// cannot write: an unsupported type or dtype, a sparse/quantized tensor, a string that is not
// UTF-8, nesting deeper than 256 (which also catches cyclic trees).
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>

#include <string>
#include <vector>

namespace tempo {

// The pickle bytes. `storages` receives, at index = storage key, a 1-D tensor spanning each
// referenced storage in full (on the storage's device), for the caller to write as data/<key>.
std::string pickle_tree(const c10::IValue& tree, std::vector<at::Tensor>& storages);

}  // namespace tempo
