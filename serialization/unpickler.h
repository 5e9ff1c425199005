// Internal to the pickle reader (pickle_reader.cpp, unpickler_torch.cpp); include
// serialization/pickle_reader.h instead. The unpickler's stack item and state: a machine for the
// protocol-2 opcodes that knows no Python object but the few torch.save needs, with every
// length, depth and size bounded. Its methods throw tempo::CheckpointError naming the file.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/Dict.h>
#include <ATen/core/List.h>
#include <ATen/core/jit_type.h>

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "errors/error.h"
#include "serialization/pickle_reader.h"
#include "util/coding.h"

namespace tempo::detail {

// Generous for any real state tree (state/optimizers/Adam/state/0/exp_avg is 6 deep), small
// enough that a hostile file cannot exhaust memory or the C++ stack.
constexpr size_t kMaxStack = size_t{1} << 20;
constexpr size_t kMaxMarks = 256;
constexpr int kMaxDepth = 256;
constexpr size_t kMaxDims = 64;
constexpr size_t kMaxGlobalLine = 256;

enum class Kind { Value, Global, Storage, Tuple };
enum class Global { OrderedDict, RebuildTensor, RebuildParameter, StorageType };

// One entry of the unpickler's stack. Globals and storages are not values a tree may hold, so
// they live beside IValues; a tuple containing one (a persistent id, tensor rebuild arguments)
// is kept as a list of items until it is consumed.
struct Item {
  Kind kind = Kind::Value;
  c10::IValue value;  // Value: the value. Storage: the 1-D tensor spanning the storage.
  Global global = Global::OrderedDict;
  c10::ScalarType dtype = c10::ScalarType::Undefined;  // Global::StorageType
  std::vector<Item> items;                             // Kind::Tuple
};

inline Item value_item(c10::IValue v) {
  Item item;
  item.value = std::move(v);
  return item;
}

class Unpickler {
 public:
  Unpickler(std::string_view bytes, const StorageLoader& load, const std::string& what)
      : bytes_(bytes), load_(load), what_(what) {}

  c10::IValue run();

  // A hostile pickle can build reference cycles through the memo; emptying every container we
  // made breaks them so an aborted load does not leak.
  void break_cycles() {
    stack_.clear();
    memo_.clear();
    for (auto& c : containers_) {
      if (c.isGenericDict())
        c.toGenericDict().clear();
      else if (c.isList())
        c.toList().clear();
    }
    containers_.clear();
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw CheckpointError("checkpoint '" + what_ + "': " + why);
  }

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
    if (item.kind != Kind::Value) fail(std::string("a global or storage appears as ") + where);
    return item.value;
  }
  std::vector<Item> tuple_items(const Item& item, const char* where) const {
    if (item.kind == Kind::Tuple) return item.items;
    if (item.kind != Kind::Value || !item.value.isTuple()) fail(std::string("expected a tuple as ") + where);
    std::vector<Item> out;
    for (const auto& e : item.value.toTupleRef().elements()) out.push_back(value_item(e));
    return out;
  }
  Item make_tuple(std::vector<Item> items) {
    bool plain = true;
    for (const auto& i : items) plain = plain && i.kind == Kind::Value;
    if (!plain) {
      Item t;
      t.kind = Kind::Tuple;
      t.items = std::move(items);
      return t;
    }
    std::vector<c10::IValue> values;
    values.reserve(items.size());
    for (auto& i : items) values.push_back(std::move(i.value));
    return value_item(c10::ivalue::Tuple::create(std::move(values)));
  }

  Item new_dict() {
    c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
    containers_.emplace_back(d);
    return value_item(d);
  }
  Item new_list() {
    c10::impl::GenericList l(c10::AnyType::get());
    containers_.emplace_back(l);
    return value_item(l);
  }

  void set_items(const std::vector<Item>& items);
  void append(const std::vector<Item>& items);
  void persistent_id();
  void reduce();
  void build();
  Item resolve_global(const std::string& module, const std::string& name) const;
  at::Tensor rebuild_tensor(const std::vector<Item>& args) const;
  std::vector<int64_t> int_tuple(const Item& item, const char* where) const;
  void check_tree(const c10::IValue& v, int depth, std::unordered_map<const void*, bool>& done) const;

  std::string_view bytes_;
  size_t pos_ = 0;
  const StorageLoader& load_;
  const std::string& what_;
  std::vector<Item> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Item> memo_;
  std::unordered_map<std::string, at::Tensor> storages_;
  std::vector<c10::IValue> containers_;
};

}  // namespace tempo::detail
