// A checkpoint tree frozen in host memory, so that a background thread can write it while
// training goes on (CheckpointSaver's save_async). take() returns a tree that pickle_tree writes
// byte for byte as it would write the live one, whose tensors alias the model and optimizer
// buffers the next step overwrites; the staging memory is kept and reused by the next take().
//
// Deferred copies: take(tree, later) leaves the CPU storages in `later` for copy_later() (on
// another thread, say). The snapshot is then consistent only if nothing changed them in between;
// copy_later() names the tensors that were changed in place (by their version counters).
//
// Requires: not thread-safe; no one still reads the previous snapshot when the next one is taken
// (its staging memory is overwritten); copy_later() runs once after take() and before the
// snapshot is read. Throws only what LibTorch throws (allocation, device copies).
#pragma once

#include <ATen/core/ivalue.h>
#include <c10/core/Storage.h>

#include <cstddef>
#include <string>
#include <unordered_set>
#include <vector>

namespace tempo {

class CheckpointSnapshot {
 public:
  // A copy of `tree` whose tensors live in this object's staging memory.
  c10::IValue take(const c10::IValue& tree);
  // The same, leaving the copy of the CPU storages in `later` to copy_later().
  using StorageSet = std::unordered_set<const c10::StorageImpl*>;
  c10::IValue take(const c10::IValue& tree, const StorageSet& later);
  // Copies what take() left for later. Returns the tree paths ("state/model/fc.weight") of the
  // deferred tensors changed in place since take(), whose copy may be torn; empty when none was.
  std::vector<std::string> copy_later();
  // Bytes take() left for copy_later().
  size_t deferred_bytes() const;

  // Staging memory held, in bytes, and how many staging buffers were allocated so far (a run
  // whose tree keeps its shapes allocates only during its first snapshot).
  size_t staged_bytes() const;
  size_t allocations() const { return allocations_; }

  // Frees the staging memory; the next snapshot allocates again.
  void release() { staging_.clear(); }

 private:
  struct Buffer {
    c10::Storage storage;
    bool pinned = false;
  };
  struct Deferred {
    c10::Storage from;  // keeps the live storage alive until copied
    c10::Storage to;
  };
  struct Watched {
    std::string path;
    at::Tensor tensor;
    int64_t version = 0;
  };
  // In the order in which the last take() met each distinct storage of the tree.
  std::vector<Buffer> staging_;
  size_t allocations_ = 0;
  std::vector<Deferred> deferred_;
  std::vector<Watched> watched_;
};

class State;
// The storages in `tree` (a checkpoint tree of `state`) that only the optimizer step changes, whose
// copy save_async overlaps with the next batch's forward and backward: the parameters and the
// optimizers' state, less any storage a buffer shares (buffers change in the forward pass).
CheckpointSnapshot::StorageSet step_only_storages(const State& state, const c10::IValue& tree);

}  // namespace tempo
