#include "tempo/callbacks/checkpoint_background_save.h"

#include <fmt/format.h>

#include <filesystem>
#include <system_error>

#include "tempo/errors/error.h"
#include "tempo/serialization/atomic_file.h"
#include "tempo/serialization/checkpoint_file.h"

namespace tempo {
namespace fs = std::filesystem;

// Creates the folder `path` goes into.
void make_parent(const std::string& path, Env& env) {
  const auto parent = fs::path(path).parent_path();
  std::error_code error;
  env.create_directories(parent.string(), error);
  if (error) {
    throw CheckpointError(fmt::format("cannot write checkpoint '{}': cannot create its folder '{}': {}", path,
                                      parent.string(), error.message()));
  }
}

void CheckpointSaver::BackgroundSave::run() noexcept {
  if (copy_later != nullptr) {
    std::vector<std::string> changed;
    try {
      changed = copy_later->copy_later();
    } catch (...) {
      save_error = std::current_exception();
    }
    copied.set_value();
    if (!changed.empty()) {
      // A bug in the program, not a disk problem: ignore_errors does not apply.
      save_error = std::make_exception_ptr(Error(fmt::format(
          "save_async: '{}'{} changed in place while the checkpoint of batch {} was copied from it, so that "
          "checkpoint was not written; code that changes parameters or optimizer state in place outside the "
          "optimizer step (a callback, say) must call state.checkpoint_copy.wait() first",
          changed.front(), changed.size() > 1 ? fmt::format(" (and {} more tensors)", changed.size() - 1) : "",
          batch)));
    }
    if (save_error) {
      done.store(true, std::memory_order_release);
      return;
    }
  }

  if (!path.empty()) {
    try {
      make_parent(path, *env);
      write_checkpoint(tree, path, {}, *env);  // on failure the temporary is removed; nothing else changed
      written = true;
      if (!link.empty()) CheckpointFolder::point_latest(path, link, *env);
      linked = true;
      if (uploader != nullptr) uploader->enqueue(path, link);
      for (const auto& old : drop) {
        if (uploader != nullptr) {
          uploader->enqueue_local_removal(old);  // once the store holds it
        } else {
          env->unlink(old.c_str());  // already gone is fine: the goal is that it is not there
        }
      }
    } catch (const CheckpointError&) {
      save_error = std::current_exception();
      save_error_ignorable = true;
    } catch (...) {
      save_error = std::current_exception();
    }
  }
  if (!best.empty() && (!save_error || (ignore_errors && save_error_ignorable))) {
    try {
      make_parent(best, *env);
      if (written) {
        atomic_hard_link(path, best, *env);
      } else {
        write_checkpoint(tree, best, {}, *env);
      }
    } catch (...) {
      best_error = std::current_exception();
    }
  }
  done.store(true, std::memory_order_release);
}

}  // namespace tempo
