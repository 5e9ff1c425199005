// A checkpoint tree frozen in host memory, so that a background thread can write it while
// training goes on (CheckpointSaver's save_async). make_checkpoint_tree's tensors alias the live
// model and optimizer buffers, which the next step overwrites; a snapshot copies each of their
// storages once into staging memory that this object keeps, so the second and later snapshots of
// a run copy into the same buffers instead of allocating (and page-faulting in) the checkpoint's
// size every time.
//
// The copy is per storage, not per tensor: tensors that share a storage in the tree share one
// staging storage in the snapshot, with the same dtype, offset, sizes and strides, so pickle_tree
// writes the snapshot byte for byte as it would write the tree. Dicts, lists and tuples are
// copied (a container in the tree may be one the state goes on mutating); strings, numbers and
// None are immutable and shared. Tensors a checkpoint cannot hold (undefined, sparse, quantized,
// lazy conj/neg) are passed through unchanged, for write_checkpoint to refuse them as usual.
// Tensors on a GPU are staged in (pinned, where CUDA is present) host memory, so the file names
// "cpu" as their location.
//
// Deferred copies: take(tree, later) copies everything except the CPU storages in `later` and
// only assigns those their staging memory; copy_later() (on another thread, say) fills it. The
// snapshot is then consistent only if nothing changed those storages in between: save_async
// defers the parameters and the optimizer state, which only the optimizer step changes, so that
// their copy overlaps the next batch's forward and backward (the trainer waits for it before the
// step, through State::checkpoint_copy). copy_later() checks each deferred tensor's version
// counter, which every in-place change through ATen bumps, and names those that moved.
//
// Not thread-safe; the caller guarantees that no one still reads the previous snapshot when it
// takes the next one (its staging memory is overwritten), and that copy_later() runs once after
// take() and before the snapshot is read.
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

}  // namespace tempo
