#include "state/checkpoint_snapshot.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <utility>
#include <unordered_map>

namespace tempo {
namespace {

// Large copies are split over the intra-op threads in slices of this size: one thread's memcpy
// does not saturate memory bandwidth, and the copy is the whole of the training loop's stall.
constexpr int64_t kCopySlice = int64_t{4} << 20;

bool can_stage(const at::Tensor& t) {
  return t.defined() && t.layout() == at::kStrided && !t.is_quantized() && t.has_storage() && !t.is_conj() &&
         !t.is_neg();
}

void copy_bytes(const c10::Storage& from, const c10::Storage& to) {
  const auto nbytes = static_cast<int64_t>(from.nbytes());
  if (nbytes == 0) return;
  if (from.device().is_cpu()) {
    const char* src = static_cast<const char*>(from.data());
    char* dst = static_cast<char*>(to.data());
    at::parallel_for(0, (nbytes + kCopySlice - 1) / kCopySlice, 1, [&](int64_t begin, int64_t end) {
      for (int64_t slice = begin; slice < end; ++slice) {
        const int64_t at = slice * kCopySlice;
        std::memcpy(dst + at, src + at, static_cast<size_t>(std::min(kCopySlice, nbytes - at)));
      }
    });
    return;
  }
  const auto bytes = [nbytes](const c10::Storage& storage) {
    return at::empty({0}, at::TensorOptions().dtype(at::kByte).device(storage.device())).set_(storage, 0, {nbytes}, {1});
  };
  bytes(to).copy_(bytes(from));
}

}  // namespace

size_t CheckpointSnapshot::staged_bytes() const {
  size_t total = 0;
  for (const auto& buffer : staging_) total += buffer.storage.nbytes();
  return total;
}

c10::IValue CheckpointSnapshot::take(const c10::IValue& tree) {
  // Last snapshot's buffers by size, each list in the order the tree met them: a tree that keeps
  // its shapes gets every storage the buffer it had before, and one that gains or loses an entry
  // still reuses the buffers of the rest.
  std::map<std::pair<size_t, bool>, std::deque<Buffer>> unused;
  for (auto& buffer : staging_) unused[{buffer.storage.nbytes(), buffer.pinned}].push_back(std::move(buffer));
  staging_.clear();
  std::unordered_map<const c10::StorageImpl*, c10::Storage> staged;  // source storage -> its copy
  const auto stage = [&](const at::Tensor& t) -> c10::Storage {
    const c10::Storage& source = t.storage();
    if (auto found = staged.find(source.unsafeGetStorageImpl()); found != staged.end()) return found->second;
    // Host memory a GPU copies into fast is pinned; a CPU-only LibTorch has none to give.
    const bool pinned = !source.device().is_cpu() && at::globalContext().hasCUDA();
    auto& same_size = unused[{source.nbytes(), pinned}];
    if (!same_size.empty()) {
      staging_.push_back(std::move(same_size.front()));
      same_size.pop_front();
    } else {
      staging_.push_back(Buffer{at::empty({static_cast<int64_t>(source.nbytes())},
                                          at::TensorOptions().dtype(at::kByte).pinned_memory(pinned))
                                    .storage(),
                                pinned});
      ++allocations_;
    }
    const auto& buffer = staging_.back();
    copy_bytes(source, buffer.storage);
    staged.emplace(source.unsafeGetStorageImpl(), buffer.storage);
    return buffer.storage;
  };

  const auto copy = [&](const auto& self, const c10::IValue& value) -> c10::IValue {
    if (value.isTensor()) {
      const at::Tensor& t = value.toTensor();
      if (!can_stage(t)) return value;
      return at::empty({0}, at::TensorOptions().dtype(t.scalar_type()))
          .set_(stage(t), t.storage_offset(), t.sizes(), t.strides());
    }
    if (value.isGenericDict()) {
      const auto dict = value.toGenericDict();
      c10::impl::GenericDict out(dict.keyType(), dict.valueType());
      out.reserve(dict.size());
      for (const auto& entry : dict) out.insert(entry.key(), self(self, entry.value()));
      return out;
    }
    if (value.isList()) {
      c10::impl::GenericList out(value.toList().elementType());
      const auto items = value.toListRef();
      out.reserve(items.size());
      for (const c10::IValue& item : items) out.push_back(self(self, item));
      return out;
    }
    if (value.isTuple()) {
      std::vector<c10::IValue> items;
      for (const auto& item : value.toTupleRef().elements()) items.push_back(self(self, item));
      return c10::ivalue::Tuple::create(std::move(items));
    }
    return value;
  };
  return copy(copy, tree);  // buffers left in `unused` belonged to storages the tree no longer has
}

}  // namespace tempo
