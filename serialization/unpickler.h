// Internal to the pickle reader (pickle_reader.cpp, unpickler_torch.cpp); include
// serialization/pickle_reader.h instead. The unpickler's stack item and state: a machine for the
// protocol-2 opcodes that knows no Python object but the few torch.save needs, with every
// length, depth and size bounded. Its methods throw tempo::CheckpointError naming the file.
// Nothing it holds is freed by a recursive destructor (see tree_release.h), so no nesting a file
// can build overflows the C++ stack, on success or failure.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/Dict.h>
#include <ATen/core/List.h>
#include <ATen/core/jit_type.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tempo/errors/error.h"
#include "tempo/serialization/pickle_reader.h"
#include "tempo/util/coding.h"

namespace tempo::detail {

// Generous for any real state tree (state/optimizers/Adam/state/0/exp_avg is 6 deep), small
// enough that a hostile file cannot exhaust memory or the C++ stack.
constexpr size_t kMaxStack = size_t{1} << 20;
constexpr size_t kMaxMarks = 256;
// A container may sit at most kMaxDepth levels below the result, as pickle_tree() allows: a
// chain of at most kMaxHeight containers.
constexpr int kMaxDepth = 256;
constexpr int kMaxHeight = kMaxDepth + 1;
constexpr size_t kMaxDims = 64;
constexpr size_t kMaxGlobalLine = 256;

inline bool is_container(const c10::IValue& v) { return v.isGenericDict() || v.isList() || v.isTuple(); }

enum class Kind { Value, Global, Storage, Tuple, Numpy };
// The globals a file may name (unpickler_torch.cpp says what each means). The last six occur in
// Composer's checkpoints, outside the tensors: its wall-clock times, NumPy's RNG state, the torch
// version in its metadata.
enum class Global {
  OrderedDict,
  RebuildTensor,
  RebuildParameter,
  StorageType,
  Timedelta,       // datetime.timedelta: becomes its seconds, a float
  CodecsEncode,    // _codecs.encode(str, 'latin1'): protocol 2's bytes, kept as a string
  NumpyReconstruct,  // numpy.(_)core.multiarray._reconstruct: an array, completed by BUILD
  NumpyNdarray,    // numpy.ndarray: only as _reconstruct's first argument
  NumpyDtype,      // numpy.dtype: a dtype, completed by BUILD
  TorchVersion,    // torch.torch_version.TorchVersion (a str subclass, made by NEWOBJ): the string
};

// A NumPy object between its REDUCE and its BUILD: Python's unpickler memoizes the object before
// BUILD fills it in, so every copy of the item (the stack's, the memo's) shares this one.
struct NumpyPending {
  bool is_array = false;  // an ndarray, else a dtype
  bool built = false;
  std::string code;  // the dtype's "u4", "f8", ...
  at::Tensor array;  // built array
};

// One entry of the unpickler's stack. Globals and storages are not values a tree may hold, so
// they live beside IValues; a tuple containing one (a persistent id, tensor rebuild arguments)
// is kept as a list of items until it is consumed.
struct Item {
  Kind kind = Kind::Value;
  c10::IValue value;  // Value: the value. Storage: the 1-D tensor spanning the storage.
  Global global = Global::OrderedDict;
  c10::ScalarType dtype = c10::ScalarType::Undefined;  // Global::StorageType
  // Kind::Tuple: the items, never changed once the tuple is made and shared by all its copies, so
  // that fetching a wide tuple from the memo again and again costs nothing; and the containers
  // nested in it, itself included (its height).
  std::shared_ptr<std::vector<Item>> items;
  int height = 0;
  std::shared_ptr<NumpyPending> numpy;  // Kind::Numpy

  Item() = default;
  Item(const Item&) = default;
  Item(Item&&) noexcept = default;
  // By value and swapped: what the target held is freed by ~Item, never recursively.
  Item& operator=(Item other) noexcept {
    std::swap(kind, other.kind);
    value.swap(other.value);
    std::swap(global, other.global);
    std::swap(dtype, other.dtype);
    items.swap(other.items);
    std::swap(height, other.height);
    numpy.swap(other.numpy);
    return *this;
  }
  // Frees nested tuples and the value's tree level by level, not by recursion.
  ~Item();
};

inline Item value_item(c10::IValue v) {
  Item item;
  item.value = std::move(v);
  return item;
}

class Unpickler {
 public:
  Unpickler(std::string_view bytes, const StorageLoader& load, const std::string& what)
      : bytes_(bytes), load_(load), what_(what), max_values_(max_tree_values(bytes.size())) {}
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;
  // Frees everything but the result without recursion, and empties every dict and list the
  // result does not reach (all of them after a failure): a hostile pickle can build reference
  // cycles through the memo, which would otherwise leak.
  ~Unpickler();

  c10::IValue run();

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw CheckpointError("checkpoint '" + what_ + "': " + why);
  }
  [[noreturn]] void fail_depth() const { fail("pickle nests deeper than " + std::to_string(kMaxDepth) + " levels"); }

  size_t left() const { return bytes_.size() - pos_; }
  std::string_view take(size_t n) {
    if (n > left())
      fail("truncated pickle: " + std::to_string(n) + " bytes needed at offset " + std::to_string(pos_) +
           ", " + std::to_string(left()) + " left");
    const auto out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  uint64_t le(size_t n) {
    return decode_le(take(n).data(), static_cast<int>(n));
  }
  std::string line() {
    const auto end = bytes_.find('\n', pos_);
    if (end == std::string_view::npos || end - pos_ > kMaxGlobalLine) fail("malformed GLOBAL opcode");
    std::string out(bytes_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }

  void push(Item item) {
    if (stack_.size() >= kMaxStack) fail("pickle stack exceeds " + std::to_string(kMaxStack) + " entries");
    stack_.push_back(std::move(item));
  }
  Item pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("malformed pickle: stack underflow");
    Item item = std::move(stack_.back());
    stack_.pop_back();
    return item;
  }
  Item& top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("malformed pickle: stack underflow");
    return stack_.back();
  }
  std::vector<Item> pop_mark() {
    if (marks_.empty()) fail("malformed pickle: no MARK");
    const size_t base = marks_.back();
    marks_.pop_back();
    std::vector<Item> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(base)),
                            std::make_move_iterator(stack_.end()));
    stack_.resize(base);
    return items;
  }
  std::vector<Item> pop_n(size_t n) {
    const size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() < floor + n) fail("malformed pickle: stack underflow");
    std::vector<Item> items(std::make_move_iterator(stack_.end() - static_cast<std::ptrdiff_t>(n)),
                            std::make_move_iterator(stack_.end()));
    stack_.resize(stack_.size() - n);
    return items;
  }

  c10::IValue as_value(const Item& item, const char* where) const {
    if (item.kind == Kind::Numpy && item.numpy->is_array && item.numpy->built) return item.numpy->array;
    if (item.kind != Kind::Value) fail(std::string("a global or storage appears as ") + where);
    return item.value;
  }
  // A built NumPy array as the value it now is; anything else as it is.
  static Item resolved(const Item& item) {
    if (item.kind == Kind::Numpy && item.numpy->is_array && item.numpy->built) return value_item(item.numpy->array);
    return item;
  }
  std::vector<Item> tuple_items(const Item& item, const char* where) const {
    if (item.kind == Kind::Tuple) return *item.items;
    if (item.kind != Kind::Value || !item.value.isTuple()) fail(std::string("expected a tuple as ") + where);
    std::vector<Item> out;
    for (const auto& e : item.value.toTupleRef().elements()) out.push_back(value_item(e));
    return out;
  }
  // Containers nested in what `item` holds, itself included, as far as the opcodes so far show: a
  // list or dict can still grow deeper after it was put inside another; check_tree() has the
  // last word.
  int height_of(const Item& item) const {
    if (item.kind == Kind::Tuple) return item.height;
    if (item.kind != Kind::Value || !is_container(item.value)) return 0;
    const auto it = heights_.find(item.value.internalToPointer());
    return it == heights_.end() ? 1 : it->second;
  }
  // `container` now holds something of height `inner`.
  void grow(const c10::IValue& container, int inner) {
    if (inner + 1 > kMaxHeight) fail_depth();
    int& height = heights_[container.internalToPointer()];
    height = std::max(height, inner + 1);
  }
  Item make_tuple(std::vector<Item> items);
  Item new_dict() {
    c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
    containers_.emplace_back(d);
    // A fresh address: the height of an earlier, freed container there must not stick.
    heights_[containers_.back().internalToPointer()] = 1;
    return value_item(d);
  }
  Item new_list() {
    c10::impl::GenericList l(c10::AnyType::get());
    containers_.emplace_back(l);
    heights_[containers_.back().internalToPointer()] = 1;
    return value_item(l);
  }

  void set_items(const std::vector<Item>& items);
  void append(const std::vector<Item>& items);
  void persistent_id();
  void reduce();
  void new_object();
  void build();
  void build_numpy(Item& target, const Item& state);
  Item reduce_numpy(Global global, const std::vector<Item>& args) const;
  double timedelta_seconds(const std::vector<Item>& args) const;
  Item resolve_global(const std::string& module, const std::string& name) const;
  at::Tensor rebuild_tensor(const std::vector<Item>& args) const;
  std::vector<int64_t> int_tuple(const Item& item, const char* where) const;
  uint64_t check_tree(const c10::IValue& v, int depth, std::unordered_map<const void*, uint64_t>& seen) const;

  std::string_view bytes_;
  size_t pos_ = 0;
  const StorageLoader& load_;
  const std::string& what_;
  std::vector<Item> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Item> memo_;
  std::unordered_map<std::string, at::Tensor> storages_;
  std::vector<c10::IValue> containers_;  // every dict and list made
  // Every dict, list and tuple made, by address: its height as far as seen (see height_of).
  std::unordered_map<const void*, int> heights_;
  // After a successful STOP: the containers the result reaches, kept intact by ~Unpickler.
  std::unordered_map<const void*, uint64_t> reached_;
  const uint64_t max_values_;
};

}  // namespace tempo::detail
