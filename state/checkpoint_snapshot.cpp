#include "tempo/state/checkpoint_snapshot.h"

#include "tempo/state/model.h"
#include "tempo/state/state.h"

// The copy is per storage, not per tensor: tensors that share a storage in the tree share one
// staging storage in the snapshot, with the same dtype, offset, sizes and strides, so pickle_tree
// writes the snapshot byte for byte as it would write the tree. Each storage is copied once into
// staging memory that the snapshot keeps, so the second and later snapshots of a run copy into the
// same buffers instead of allocating (and page-faulting in) the checkpoint's size every time.
// Dicts, lists and tuples are copied (a container in the tree may be one the state goes on
// mutating); strings, numbers and None are immutable and shared. Tensors a checkpoint cannot hold
// (undefined, sparse, quantized, lazy conj/neg) are passed through unchanged, for
// write_checkpoint to refuse them as usual. Tensors on a GPU are staged in (pinned, where CUDA is
// present) host memory, so the file names "cpu" as their location.
//
// Deferred copies: save_async defers the parameters and the optimizer state, which only the
// optimizer step changes, so that their copy overlaps the next batch's forward and backward (the
// trainer waits for it before the step, through State::checkpoint_copy). take() only assigns
// them their staging memory; copy_later() copies them and compares each deferred tensor's version
// counter, which every in-place change through ATen bumps, with the one take() saw.

#include <ATen/ATen.h>
#include <torch/torch.h>
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
    char* dst = static_cast<char*>(to.data_ptr().get());  // our own fresh storage: never shared
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

std::string key_text(const c10::IValue& key) {
  if (key.isString()) return key.toStringRef();
  if (key.isInt()) return std::to_string(key.toInt());
  return key.tagKind();
}

}  // namespace

size_t CheckpointSnapshot::staged_bytes() const {
  size_t total = 0;
  for (const auto& buffer : staging_) total += buffer.storage.nbytes();
  return total;
}

size_t CheckpointSnapshot::deferred_bytes() const {
  size_t total = 0;
  for (const auto& copy : deferred_) total += copy.from.nbytes();
  return total;
}

c10::IValue CheckpointSnapshot::take(const c10::IValue& tree) { return take(tree, {}); }

c10::IValue CheckpointSnapshot::take(const c10::IValue& tree, const StorageSet& later) {
  // Last snapshot's buffers by size, each list in the order the tree met them: a tree that keeps
  // its shapes gets every storage the buffer it had before, and one that gains or loses an entry
  // still reuses the buffers of the rest.
  std::map<std::pair<size_t, bool>, std::deque<Buffer>> unused;
  for (auto& buffer : staging_) unused[{buffer.storage.nbytes(), buffer.pinned}].push_back(std::move(buffer));
  staging_.clear();
  deferred_.clear();
  watched_.clear();
  std::unordered_map<const c10::StorageImpl*, c10::Storage> staged;  // source storage -> its copy
  StorageSet deferred_sources;
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
    // A GPU copy stays here: it needs this thread's device and stream.
    if (source.device().is_cpu() && later.count(source.unsafeGetStorageImpl()) != 0) {
      deferred_.push_back({source, buffer.storage});
      deferred_sources.insert(source.unsafeGetStorageImpl());
    } else {
      copy_bytes(source, buffer.storage);
    }
    staged.emplace(source.unsafeGetStorageImpl(), buffer.storage);
    return buffer.storage;
  };

  std::string path;  // of the value being copied, for copy_later()'s report
  const auto copy = [&](const auto& self, const c10::IValue& value) -> c10::IValue {
    const auto child = [&](const std::string& name, const c10::IValue& item) {
      const size_t size = path.size();
      if (!path.empty()) path += '/';
      path += name;
      auto result = self(self, item);
      path.resize(size);
      return result;
    };
    if (value.isTensor()) {
      const at::Tensor& t = value.toTensor();
      if (!can_stage(t)) return value;
      auto storage = stage(t);
      // Inference tensors keep no version counter.
      if (deferred_sources.count(t.storage().unsafeGetStorageImpl()) != 0 && !t.is_inference()) {
        watched_.push_back({path, t, t._version()});
      }
      return at::empty({0}, at::TensorOptions().dtype(t.scalar_type()))
          .set_(std::move(storage), t.storage_offset(), t.sizes(), t.strides());
    }
    if (value.isGenericDict()) {
      const auto dict = value.toGenericDict();
      c10::impl::GenericDict out(dict.keyType(), dict.valueType());
      out.reserve(dict.size());
      for (const auto& entry : dict) out.insert(entry.key(), child(key_text(entry.key()), entry.value()));
      return out;
    }
    if (value.isList()) {
      c10::impl::GenericList out(value.toList().elementType());
      const auto items = value.toListRef();
      out.reserve(items.size());
      for (size_t i = 0; i < items.size(); ++i) out.push_back(child(std::to_string(i), items[i]));
      return out;
    }
    if (value.isTuple()) {
      std::vector<c10::IValue> items;
      const auto& elements = value.toTupleRef().elements();
      for (size_t i = 0; i < elements.size(); ++i) items.push_back(child(std::to_string(i), elements[i]));
      return c10::ivalue::Tuple::create(std::move(items));
    }
    return value;
  };
  return copy(copy, tree);  // buffers left in `unused` belonged to storages the tree no longer has
}

std::vector<std::string> CheckpointSnapshot::copy_later() {
  // One plain memcpy per storage: this runs beside the training thread, whose intra-op pool it
  // should not compete for.
  for (const auto& copy : deferred_) {
    if (copy.from.nbytes() > 0) std::memcpy(copy.to.data_ptr().get(), copy.from.data(), copy.from.nbytes());
  }
  std::vector<std::string> changed;
  for (const auto& watched : watched_) {
    if (watched.tensor._version() != watched.version) changed.push_back(watched.path);
  }
  deferred_.clear();  // the live storages are no longer needed
  watched_.clear();
  return changed;
}

// The storages only the optimizer step changes, whose copy save_async overlaps with the next
// batch's forward and backward: the parameters and every tensor of the optimizers' state.
// Buffers (BatchNorm's running statistics, ...) change in the forward pass, so they are copied at
// once, even a buffer that shares memory with a parameter.
CheckpointSnapshot::StorageSet step_only_storages(const State& state, const c10::IValue& tree) {
  CheckpointSnapshot::StorageSet storages;
  const auto add = [&](const at::Tensor& t) {
    if (t.defined() && t.has_storage()) storages.insert(t.storage().unsafeGetStorageImpl());
  };
  if (state.model) {
    for (const auto& p : state.model->parameters()) add(p);
  }
  const auto add_all = [&](const auto& self, const c10::IValue& value) -> void {
    if (value.isTensor()) {
      add(value.toTensor());
    } else if (value.isGenericDict()) {
      for (const auto& entry : value.toGenericDict()) self(self, entry.value());
    } else if (value.isList()) {
      for (const auto& item : value.toListRef()) self(self, item);
    } else if (value.isTuple()) {
      for (const auto& item : value.toTupleRef().elements()) self(self, item);
    }
  };
  const auto root = tree.toGenericDict().at("state").toGenericDict();
  if (root.contains("optimizers")) add_all(add_all, root.at("optimizers"));
  if (state.model) {
    for (const auto& b : state.model->buffers()) {
      if (b.defined() && b.has_storage()) storages.erase(b.storage().unsafeGetStorageImpl());
    }
  }
  return storages;
}

}  // namespace tempo
