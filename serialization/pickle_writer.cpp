#include "tempo/serialization/pickle_writer.h"

#include <ATen/ATen.h>

#include <cstring>
#include <unordered_map>

#include "tempo/errors/error.h"
#include "tempo/serialization/storage_types.h"
#include "tempo/util/coding.h"
#include "tempo/util/utf8.h"

namespace tempo {
namespace {

constexpr int kMaxDepth = 256;
// Python's pickler puts at most this many items in one SETITEMS/APPENDS; we match it.
constexpr size_t kBatchSize = 1000;

std::string child_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "/" + key;
}

class Pickler {
 public:
  explicit Pickler(std::vector<at::Tensor>& storages) : storages_(storages) {}

  std::string run(const c10::IValue& tree) {
    out_ += "\x80\x02";  // PROTO 2
    value(tree, "", 0);
    out_ += '.';  // STOP
    return std::move(out_);
  }

 private:
  struct StorageEntry {
    size_t key;
    c10::ScalarType dtype;
  };

  [[noreturn]] static void fail(const std::string& path, const std::string& why) {
    throw CheckpointError("cannot write checkpoint: value at '" +
                          (path.empty() ? std::string("<root>") : path) + "' " + why);
  }

  void op(char c) { out_ += c; }
  void raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  void le(uint64_t v, int bytes) { put_le(out_, v, bytes); }

  // Python's save_long: the smallest of BININT1, BININT2, BININT, else LONG1 in minimal
  // two's complement.
  void integer(int64_t v) {
    if (v >= 0 && v <= 0xFF) {
      op('K');
      le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v <= 0xFFFF) {
      op('M');
      le(static_cast<uint64_t>(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      le(static_cast<uint64_t>(static_cast<uint32_t>(static_cast<int32_t>(v))), 4);
    } else {
      unsigned char bytes[8];
      encode_le(bytes, static_cast<uint64_t>(v), 8);
      int n = 8;
      while (n > 1 && ((bytes[n - 1] == 0x00 && !(bytes[n - 2] & 0x80)) ||
                       (bytes[n - 1] == 0xFF && (bytes[n - 2] & 0x80))))
        --n;
      op('\x8a');
      le(static_cast<uint64_t>(n), 1);
      raw(bytes, static_cast<size_t>(n));
    }
  }

  void string(const std::string& s, const std::string& path) {
    // Python decodes BINUNICODE as UTF-8, so any other bytes would make the file unloadable there.
    if (!is_valid_utf8(s)) fail(path, "holds a string that is not valid UTF-8");
    if (s.size() > 0xFFFFFFFFu) fail(path, "holds a string longer than 4 GiB");
    op('X');
    le(s.size(), 4);
    out_ += s;
  }

  void floating(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    op('G');
    put_be(out_, bits, 8);
  }

  void global(const char* module, const char* name) {
    op('c');
    out_ += module;
    out_ += '\n';
    out_ += name;
    out_ += '\n';
  }

  // Python's save_tuple for protocol 2: EMPTY_TUPLE, TUPLE1..3, else MARK ... TUPLE.
  template <typename F>
  void tuple(size_t n, F&& items) {
    if (n == 0) return op(')');
    if (n > 3) op('(');
    items();
    op(n == 1 ? '\x85' : n == 2 ? '\x86' : n == 3 ? '\x87' : 't');
  }

  void value(const c10::IValue& v, const std::string& path, int depth) {
    if (depth > kMaxDepth) fail(path, "is nested deeper than 256 levels (is the tree cyclic?)");
    if (v.isNone()) {
      op('N');
    } else if (v.isBool()) {
      op(v.toBool() ? '\x88' : '\x89');
    } else if (v.isInt()) {
      integer(v.toInt());
    } else if (v.isDouble()) {
      floating(v.toDouble());
    } else if (v.isString()) {
      string(v.toStringRef(), path);
    } else if (v.isTensor()) {
      tensor(v.toTensor(), path);
    } else if (v.isGenericDict()) {
      dict(v.toGenericDict(), path, depth);
    } else if (v.isList()) {
      list(v.toListRef(), path, depth);
    } else if (v.isTuple()) {
      const auto& elements = v.toTupleRef().elements();
      tuple(elements.size(), [&] {
        for (size_t i = 0; i < elements.size(); ++i)
          value(elements[i], child_path(path, std::to_string(i)), depth + 1);
      });
    } else {
      fail(path, "has type " + v.tagKind() + ", which a checkpoint cannot hold");
    }
  }

  void dict(const c10::impl::GenericDict& d, const std::string& path, int depth) {
    op('}');
    auto it = d.begin();
    size_t left = d.size();
    while (left > 0) {
      const size_t n = std::min(left, kBatchSize);
      if (n > 1) op('(');
      for (size_t i = 0; i < n; ++i, ++it) {
        const c10::IValue& key = it->key();
        std::string key_text;
        if (key.isString()) {
          key_text = key.toStringRef();
          string(key_text, path);
        } else if (key.isInt()) {
          key_text = std::to_string(key.toInt());
          integer(key.toInt());
        } else {
          fail(path, "is a dict with a " + key.tagKind() + " key; only str and int keys are supported");
        }
        value(it->value(), child_path(path, key_text), depth + 1);
      }
      op(n > 1 ? 'u' : 's');
      left -= n;
    }
  }

  void list(c10::ArrayRef<c10::IValue> items, const std::string& path, int depth) {
    op(']');
    size_t i = 0;
    while (i < items.size()) {
      const size_t n = std::min(items.size() - i, kBatchSize);
      if (n > 1) op('(');
      for (size_t k = 0; k < n; ++k, ++i) value(items[i], child_path(path, std::to_string(i)), depth + 1);
      op(n > 1 ? 'e' : 'a');
    }
  }

  void tensor(const at::Tensor& t, const std::string& path) {
    if (!t.defined()) fail(path, "is an undefined tensor");
    if (t.layout() != at::kStrided || t.is_quantized() || !t.has_storage())
      fail(path, "is a tensor with layout " + c10::str(t.layout()) + "; only dense tensors are supported");
    if (t.is_conj() || t.is_neg())
      fail(path, "is a tensor with a lazy conj/neg bit; call resolve_conj()/resolve_neg()");
    const char* storage_name = storage_type_name(t.scalar_type());
    if (storage_name == nullptr)
      fail(path, "is a tensor of dtype " + std::string(c10::toString(t.scalar_type())) +
                     ", which checkpoints do not support");
    const c10::Storage& storage = t.storage();
    const size_t item = t.element_size();
    if (storage.nbytes() % item != 0)
      fail(path, "is a tensor whose storage size is not a multiple of its element size");
    const auto numel = static_cast<int64_t>(storage.nbytes() / item);

    auto [it, inserted] =
        keys_.try_emplace(storage.unsafeGetStorageImpl(), StorageEntry{storages_.size(), t.scalar_type()});
    if (inserted) {
      storages_.push_back(at::empty({0}, t.options().requires_grad(false)).set_(storage, 0, {numel}, {1}));
    } else if (it->second.dtype != t.scalar_type()) {
      // torch.save refuses this too: one storage is written with one storage type.
      fail(path, "views a storage that another tensor views with a different dtype");
    }

    global("torch._utils", "_rebuild_tensor_v2");
    op('(');
    // Persistent id ('storage', torch.<Type>Storage, key, location, numel), as torch.save writes.
    op('(');
    string("storage", path);
    global("torch", storage_name);
    string(std::to_string(it->second.key), path);
    string(t.device().str(), path);
    integer(numel);
    op('t');
    op('Q');  // BINPERSID
    integer(t.storage_offset());
    tuple(static_cast<size_t>(t.dim()), [&] {
      for (int64_t s : t.sizes()) integer(s);
    });
    tuple(static_cast<size_t>(t.dim()), [&] {
      for (int64_t s : t.strides()) integer(s);
    });
    op('\x89');  // requires_grad=False: a checkpoint stores values, not autograd state
    global("collections", "OrderedDict");
    op(')');
    op('R');  // backward_hooks = OrderedDict()
    op('t');
    op('R');
  }

  std::string out_;
  std::vector<at::Tensor>& storages_;
  std::unordered_map<const c10::StorageImpl*, StorageEntry> keys_;
};

}  // namespace

std::string pickle_tree(const c10::IValue& tree, std::vector<at::Tensor>& storages) {
  storages.clear();
  return Pickler(storages).run(tree);
}

}  // namespace tempo
