#include "serialization/checkpoint_file.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include "errors/error.h"
#include "serialization/atomic_file.h"
#include "serialization/pickle_reader.h"
#include "serialization/pickle_writer.h"

namespace tempo {
namespace {

// Storage keys are ours or torch.save's ("0", "1", ...); anything else cannot name a record.
bool plain_key(const std::string& key) {
  if (key.empty() || key.size() > 64) return false;
  for (char c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

}  // namespace

void write_checkpoint(const c10::IValue& tree, const std::string& path) {
  std::vector<at::Tensor> storages;
  std::string pickle;
  try {
    pickle = pickle_tree(tree, storages);
  } catch (const CheckpointError& e) {
    // "cannot write checkpoint: value at ..." gains the file name.
    const std::string message = e.what();
    const std::string prefix = "cannot write checkpoint: ";
    throw CheckpointError("cannot write checkpoint '" + path +
                          "': " + (message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message));
  }
  AtomicFile file(path);
  // The zip writer must never see an exception from its sink: 1.13's writer finalizes in its
  // destructor and a second throw there would terminate. So the sink records the first failure,
  // swallows the rest, and we stop feeding records and throw once the writer is done.
  std::string io_error;
  try {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) -> size_t {
      if (!io_error.empty()) return size;
      try {
        file.write(data, size);
      } catch (const CheckpointError& e) {
        io_error = e.what();
      }
      return size;
    });
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    for (size_t key = 0; key < storages.size() && io_error.empty(); ++key) {
      // CPU storages are written from their own memory; others are copied over one at a time.
      const at::Tensor bytes = storages[key].is_cpu() ? storages[key] : storages[key].cpu();
      writer.writeRecord("data/" + std::to_string(key), bytes.data_ptr(), bytes.nbytes());
    }
    writer.writeEndOfFile();  // central directory; adds the "version" record as torch.save does
  } catch (const c10::Error& e) {
    throw CheckpointError("cannot write checkpoint '" + path + "': " + e.what_without_backtrace());
  }
  if (!io_error.empty()) throw CheckpointError(io_error);
  file.commit();
}

c10::IValue read_checkpoint(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) throw CheckpointError("checkpoint '" + path + "' does not exist");
    throw CheckpointError("cannot read checkpoint '" + path + "': " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode))
    throw CheckpointError("checkpoint '" + path + "' is a folder, not a checkpoint file");
  const auto file_size = static_cast<uint64_t>(st.st_size);

  // Issue 5 puts a bounded validator of the zip structure in front of PyTorchStreamReader; until
  // then miniz parses the directory and we only turn its c10::Errors into CheckpointErrors.
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw CheckpointError("checkpoint '" + path + "' is not a PyTorch checkpoint (" +
                          e.what_without_backtrace() + ")");
  }
  try {
    if (!reader->hasRecord("data.pkl"))
      throw CheckpointError("checkpoint '" + path +
                            "' is not a PyTorch checkpoint: it has no data.pkl record");
    auto [pickle, pickle_size] = reader->getRecord("data.pkl");

    const StorageLoader load = [&](const std::string& key, c10::ScalarType dtype, int64_t numel) {
      const std::string name = "data/" + key;
      if (!plain_key(key) || !reader->hasRecord(name))
        throw CheckpointError("checkpoint '" + path + "' is damaged: storage record '" + name +
                              "' is missing");
      uint64_t expected = 0;
      if (__builtin_mul_overflow(static_cast<uint64_t>(numel), c10::elementSize(dtype), &expected) ||
          expected > file_size)
        throw CheckpointError("checkpoint '" + path + "' is damaged: storage '" + name + "' declares " +
                              std::to_string(numel) + " elements, more than the file holds");
      auto [data, size] = reader->getRecord(name);
      if (size != expected)
        throw CheckpointError("checkpoint '" + path + "' is damaged: record '" + name + "' has " +
                              std::to_string(size) + " bytes, expected " + std::to_string(expected));
      if (dtype == c10::ScalarType::Bool) {
        // Any byte but 0 and 1 in a bool tensor is undefined behaviour in the kernels.
        const auto* p = static_cast<const unsigned char*>(data.get());
        for (size_t i = 0; i < size; ++i)
          if (p[i] > 1)
            throw CheckpointError("checkpoint '" + path + "' is damaged: bool storage '" + name +
                                  "' holds byte " + std::to_string(p[i]));
      }
      // The record's buffer becomes the tensor's storage: read once, never copied.
      c10::Storage storage(c10::Storage::use_byte_size_t(), size, std::move(data), nullptr, false);
      return at::empty({0}, at::TensorOptions().dtype(dtype)).set_(std::move(storage), 0, {numel}, {1});
    };
    return unpickle_tree(std::string_view(static_cast<const char*>(pickle.get()), pickle_size), load, path);
  } catch (const c10::Error& e) {
    throw CheckpointError("checkpoint '" + path + "' is damaged: " + e.what_without_backtrace());
  }
}

}  // namespace tempo
