// Reads the data.pkl of a checkpoint: a bounded, non-executing unpickler for exactly the subset
// pickle_tree() writes plus what Python's torch.save of a model's or optimizer's state_dict()
// emits (torch 1.13 and 2.x, protocol 2; protocol 3-4 bytes and framing are tolerated), and what
// Composer's checkpoints hold beside. It never calls anything named in the file: the only globals
// it knows are collections.OrderedDict (becomes a dict; its BUILD with a {'_metadata': ...} state
// is ignored), torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter (the tensor), the
// typed storages torch.FloatStorage etc., and for Composer: datetime.timedelta (becomes its
// seconds, a double), _codecs.encode(str, 'latin1') (bytes, kept as a string), NumPy's
// _reconstruct/ndarray/dtype with their BUILD (a little-endian numeric array becomes a tensor;
// uint16 and uint32 widen to int32 and int64) and torch.torch_version.TorchVersion (the string).
// Each call's arguments are checked to the form Python pickles them in.
// Results: dicts as GenericDict (str keys -> StringType key, int keys -> IntType, mixed -> Any),
// lists as GenericList, tuples as ivalue::Tuple, Python ints as int64, floats as double.
// Bounds: lengths checked against the bytes left, stack limited, cyclic structures refused,
// tensor sizes/strides must fit inside their storage. Dicts, lists and tuples nest at most 256
// levels below the result (257 deep, as pickle_tree() writes at most), checked as each container
// is filled and again on the result: "pickle nests deeper than 256 levels". The result expands,
// each reference to a shared container counted again, to at most max_tree_values(bytes.size())
// values, so that readers that walk it reference by reference (tempo inspect) finish: "pickle
// expands to more than N values through shared references" (a memo bomb). No nesting a file can
// build is freed by recursion, so none overflows the C++ stack (see tree_release.h).
// Throws tempo::CheckpointError naming `what` (the file) and the fault, e.g. "refusing to load
// global 'os.system'"; errors thrown by `load_storage` pass through.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace tempo {

// Called once per storage key; returns a 1-D contiguous tensor of `dtype` with `numel` elements.
using StorageLoader = std::function<at::Tensor(const std::string& key, c10::ScalarType dtype, int64_t numel)>;

// The most values a tree read from a file of `file_bytes` bytes may expand to: 2^24, or one a byte
// for larger files. A tree without shared parts never comes near (each value costs at least one
// byte of pickle); a memo bomb goes past it within a few levels.
constexpr uint64_t kMaxTreeValues = uint64_t{1} << 24;
inline uint64_t max_tree_values(uint64_t file_bytes) { return std::max(kMaxTreeValues, file_bytes); }

c10::IValue unpickle_tree(std::string_view bytes, const StorageLoader& load_storage, const std::string& what);

}  // namespace tempo
