#include "tempo/serialization/pickle_reader.h"

#include <cstdio>
#include <cstring>

#include "tempo/serialization/tree_release.h"
#include "tempo/serialization/unpickler.h"
#include "tempo/util/coding.h"

namespace tempo {
namespace detail {

Item::~Item() {
  const bool holds_tree = is_container(value) && value.use_count() == 1;
  if (!items && !holds_tree) return;  // nothing to free here, or only a count to drop
  // Tuples of items only this one holds give up their items to a work list before they are
  // freed; every value found on the way is left to release_trees.
  std::vector<c10::IValue> values;
  std::vector<std::shared_ptr<std::vector<Item>>> tuples;
  try {
    values.push_back(std::move(value));
    tuples.push_back(std::move(items));
    while (!tuples.empty()) {
      const auto tuple = std::move(tuples.back());
      tuples.pop_back();
      if (!tuple || tuple.use_count() != 1) continue;
      for (auto& item : *tuple) {
        values.push_back(std::move(item.value));
        tuples.push_back(std::move(item.items));
      }
    }  // each tuple freed here holds emptied items, whose destructors return at once
  } catch (...) {
    // Out of memory for the work lists: the rest is freed the ordinary way.
  }
  release_trees(values);
}

Unpickler::~Unpickler() {
  std::vector<c10::IValue> loose;
  try {
    for (const auto& c : containers_)
      if (!reached_.count(c.internalToPointer())) take_children(c, loose);
  } catch (...) {
    // Out of memory: the containers not emptied are freed (or leak, if cyclic) as they are.
  }
  stack_.clear();
  memo_.clear();
  release_trees(loose);
  release_trees(containers_);
}

Item Unpickler::make_tuple(std::vector<Item> items) {
  for (auto& i : items) i = resolved(i);
  int inner = 0;
  for (const auto& i : items) inner = std::max(inner, height_of(i));
  if (inner + 1 > kMaxHeight) fail_depth();
  bool plain = true;
  for (const auto& i : items) plain = plain && i.kind == Kind::Value;
  if (!plain) {
    Item t;
    t.kind = Kind::Tuple;
    t.items = std::make_shared<std::vector<Item>>(std::move(items));
    t.height = inner + 1;
    return t;
  }
  std::vector<c10::IValue> values;
  values.reserve(items.size());
  for (auto& i : items) values.push_back(std::move(i.value));
  Item t = value_item(c10::ivalue::Tuple::create(std::move(values)));
  heights_[t.value.internalToPointer()] = inner + 1;
  return t;
}

c10::IValue Unpickler::run() {
  for (;;) {
    if (left() == 0) fail("truncated pickle: no STOP opcode");
    const size_t at = pos_;
    const auto code = static_cast<unsigned char>(take(1)[0]);
    switch (code) {
      case 0x80:  // PROTO
        if (le(1) > 5) fail("unsupported pickle protocol");
        break;
      case 0x95:  // FRAME: only a hint for buffering; the bytes follow inline
        if (le(8) > left()) fail("truncated pickle: FRAME longer than the data");
        break;
      case '.': {  // STOP
        if (stack_.size() != 1 || !marks_.empty()) fail("malformed pickle: STOP with an unbalanced stack");
        c10::IValue result = as_value(stack_.back(), "the pickle's result");
        std::unordered_map<const void*, uint64_t> seen;
        check_tree(result, 0, seen);
        reached_ = std::move(seen);
        return result;
      }
      case '(':
        if (marks_.size() >= kMaxMarks)
          fail("pickle nests deeper than " + std::to_string(kMaxMarks) + " MARKs");
        marks_.push_back(stack_.size());
        break;
      case '}':
        push(new_dict());
        break;
      case ']':
        push(new_list());
        break;
      case ')':
        push(make_tuple({}));
        break;
      case 0x85:
      case 0x86:
      case 0x87:
        push(make_tuple(pop_n(code - 0x84)));
        break;
      case 't':
        push(make_tuple(pop_mark()));
        break;
      case 's':
        set_items(pop_n(2));
        break;
      case 'u':
        set_items(pop_mark());
        break;
      case 'a':
        append(pop_n(1));
        break;
      case 'e':
        append(pop_mark());
        break;
      case 'K':
        push(value_item(static_cast<int64_t>(le(1))));
        break;
      case 'M':
        push(value_item(static_cast<int64_t>(le(2))));
        break;
      case 'J':
        push(value_item(static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(le(4))))));
        break;
      case 0x8a: {  // LONG1: little-endian two's complement
        const auto n = static_cast<size_t>(le(1));
        if (n > 8) fail("integer wider than 64 bits at offset " + std::to_string(at));
        uint64_t v = n == 0 ? 0 : le(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);
        push(value_item(static_cast<int64_t>(v)));
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        const auto b = take(8);
        const uint64_t bits = decode_be(b.data(), 8);
        double d;
        std::memcpy(&d, &bits, sizeof d);
        push(value_item(d));
        break;
      }
      case 'X':
        push(value_item(std::string(take(le(4)))));
        break;
      case 0x8c:
        push(value_item(std::string(take(le(1)))));
        break;
      case 'B':  // BINBYTES (protocol 3+): bytes are kept as strings
        push(value_item(std::string(take(le(4)))));
        break;
      case 'C':  // SHORT_BINBYTES
        push(value_item(std::string(take(le(1)))));
        break;
      case 0x88:
        push(value_item(true));
        break;
      case 0x89:
        push(value_item(false));
        break;
      case 'N':
        push(value_item(c10::IValue()));
        break;
      case 'Q':
        persistent_id();
        break;
      case 'c': {
        const std::string module = line();
        push(resolve_global(module, line()));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        auto parts = pop_n(2);
        if (parts[0].kind != Kind::Value || !parts[0].value.isString() || parts[1].kind != Kind::Value ||
            !parts[1].value.isString())
          fail("malformed STACK_GLOBAL");
        push(resolve_global(parts[0].value.toStringRef(), parts[1].value.toStringRef()));
        break;
      }
      case 'R':
        reduce();
        break;
      case 0x81:  // NEWOBJ
        new_object();
        break;
      case 'b':
        build();
        break;
      case 'q':
        memo_[le(1)] = top();
        break;
      case 'r':
        memo_[le(4)] = top();
        break;
      case 0x94:
        memo_[memo_.size()] = top();
        break;  // MEMOIZE
      case 'h':
      case 'j': {
        const uint64_t index = le(code == 'h' ? 1 : 4);
        const auto it = memo_.find(index);
        if (it == memo_.end()) fail("malformed pickle: memo entry " + std::to_string(index) + " missing");
        push(resolved(it->second));
        break;
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", code);
        fail(std::string("unsupported pickle opcode ") + hex + " at offset " + std::to_string(at));
      }
    }
  }
}

void Unpickler::set_items(const std::vector<Item>& items) {
  if (items.size() % 2 != 0) fail("malformed pickle: SETITEMS with an odd number of items");
  const c10::IValue target = as_value(top(), "a dict");
  if (!target.isGenericDict()) fail("malformed pickle: SETITEM on a value that is not a dict");
  auto dict = target.toGenericDict();
  for (size_t i = 0; i < items.size(); i += 2) {
    c10::IValue key = as_value(items[i], "a dict key");
    if (!key.isString() && !key.isInt())
      fail("dict key of type " + key.tagKind() + "; only str and int keys are supported");
    // The key type follows the keys seen: str, int, or Any once they mix.
    const c10::TypePtr want =
        key.isString() ? c10::TypePtr(c10::StringType::get()) : c10::TypePtr(c10::IntType::get());
    const c10::TypePtr& have = dict.keyType();
    if (have->kind() != c10::TypeKind::AnyType && *have != *want)
      dict.unsafeSetKeyType(dict.empty() ? want : c10::TypePtr(c10::AnyType::get()));
    grow(target, height_of(items[i + 1]));
    dict.insert_or_assign(std::move(key), as_value(items[i + 1], "a dict value"));
  }
}

void Unpickler::append(const std::vector<Item>& items) {
  const c10::IValue target = as_value(top(), "a list");
  if (!target.isList()) fail("malformed pickle: APPEND on a value that is not a list");
  auto list = target.toList();
  for (const auto& item : items) {
    grow(target, height_of(item));
    list.push_back(as_value(item, "a list element"));
  }
}

// The number of values `v` expands to, each reference to a shared container counted again
// (`seen` holds each container's count once known, 0 while it is being counted).
uint64_t Unpickler::check_tree(const c10::IValue& v, int depth,
                               std::unordered_map<const void*, uint64_t>& seen) const {
  if (!is_container(v)) return 1;
  if (depth > kMaxDepth) fail_depth();
  const void* id = v.internalToPointer();
  if (const auto it = seen.find(id); it != seen.end()) {
    if (it->second == 0) fail("pickle holds a cyclic structure");
    return it->second;  // shared, already checked
  }
  seen.emplace(id, 0);
  uint64_t count = 1;
  const auto add = [&](const c10::IValue& child) {
    count += check_tree(child, depth + 1, seen);  // each at most max_values_: no overflow
    if (count > max_values_)
      fail("pickle expands to more than " + std::to_string(max_values_) + " values through shared references");
  };
  if (v.isGenericDict()) {
    for (const auto& entry : v.toGenericDict()) add(entry.value());
  } else if (v.isList()) {
    for (const auto& e : v.toListRef()) add(e);
  } else {
    for (const auto& e : v.toTupleRef().elements()) add(e);
  }
  seen[id] = count;
  return count;
}

}  // namespace detail

c10::IValue unpickle_tree(std::string_view bytes, const StorageLoader& load_storage,
                          const std::string& what) {
  detail::Unpickler unpickler(bytes, load_storage, what);
  try {
    return unpickler.run();
  } catch (const c10::Error& e) {
    throw CheckpointError("checkpoint '" + what + "': " + e.what_without_backtrace());
  }
}

}  // namespace tempo
