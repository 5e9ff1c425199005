#include "serialization/pickle_reader.h"

#include <cstdio>
#include <cstring>

#include "serialization/unpickler.h"
#include "util/coding.h"

namespace tempo {
namespace detail {

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
        std::unordered_map<const void*, bool> done;
        check_tree(result, 0, done);
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
        push(value_item(c10::ivalue::Tuple::create({})));
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
        push(it->second);
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
    dict.insert_or_assign(std::move(key), as_value(items[i + 1], "a dict value"));
  }
}

void Unpickler::append(const std::vector<Item>& items) {
  const c10::IValue target = as_value(top(), "a list");
  if (!target.isList()) fail("malformed pickle: APPEND on a value that is not a list");
  auto list = target.toList();
  for (const auto& item : items) list.push_back(as_value(item, "a list element"));
}

void Unpickler::check_tree(const c10::IValue& v, int depth,
                           std::unordered_map<const void*, bool>& done) const {
  if (!v.isGenericDict() && !v.isList() && !v.isTuple()) return;
  if (depth > kMaxDepth) fail("pickle nests deeper than " + std::to_string(kMaxDepth) + " levels");
  const void* id = v.internalToPointer();
  const auto [it, fresh] = done.try_emplace(id, false);
  if (!fresh) {
    if (!it->second) fail("pickle holds a cyclic structure");
    return;  // shared, already checked
  }
  if (v.isGenericDict()) {
    for (const auto& entry : v.toGenericDict()) check_tree(entry.value(), depth + 1, done);
  } else if (v.isList()) {
    for (const auto& e : v.toListRef()) check_tree(e, depth + 1, done);
  } else {
    for (const auto& e : v.toTupleRef().elements()) check_tree(e, depth + 1, done);
  }
  done[id] = true;
}

}  // namespace detail

c10::IValue unpickle_tree(std::string_view bytes, const StorageLoader& load_storage,
                          const std::string& what) {
  detail::Unpickler unpickler(bytes, load_storage, what);
  try {
    return unpickler.run();
  } catch (const c10::Error& e) {
    unpickler.break_cycles();
    throw CheckpointError("checkpoint '" + what + "': " + e.what_without_backtrace());
  } catch (...) {
    unpickler.break_cycles();
    throw;
  }
}

}  // namespace tempo
