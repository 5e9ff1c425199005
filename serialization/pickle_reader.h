// Reads the data.pkl of a checkpoint: a bounded, non-executing unpickler for exactly the subset
// pickle_tree() writes plus what Python's torch.save of a model's or optimizer's state_dict()
// emits (torch 1.13, protocol 2; protocol 4 framing is tolerated). It never calls anything named
// in the file: the only globals it knows are collections.OrderedDict (becomes a dict; its BUILD
// with a {'_metadata': ...} state is ignored), torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter (the tensor) and the typed storages torch.FloatStorage etc.
// Results: dicts as GenericDict (str keys -> StringType key, int keys -> IntType, mixed -> Any),
// lists as GenericList, tuples as ivalue::Tuple, Python ints as int64, floats as double.
// Bounds: lengths checked against the bytes left, stack and nesting depth limited, cyclic
// structures refused, tensor sizes/strides must fit inside their storage.
// Throws tempo::CheckpointError naming `what` (the file) and the fault, e.g. "refusing to load
// global 'os.system'"; errors thrown by `load_storage` pass through.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace tempo {

// Called once per storage key; returns a 1-D contiguous tensor of `dtype` with `numel` elements.
using StorageLoader = std::function<at::Tensor(const std::string& key, c10::ScalarType dtype, int64_t numel)>;

c10::IValue unpickle_tree(std::string_view bytes, const StorageLoader& load_storage, const std::string& what);

}  // namespace tempo
