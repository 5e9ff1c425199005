// The torch side of the unpickler: the allowlist of globals and what calling each one means.
// Nothing named in a file is ever imported or called; unknown names are refused.

#include <optional>

#include "tempo/serialization/storage_types.h"
#include "tempo/serialization/storage_view.h"
#include "tempo/serialization/unpickler.h"

namespace tempo::detail {
namespace {

std::string printable(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) c = '?';
  return out;
}

}  // namespace

Item Unpickler::resolve_global(const std::string& module, const std::string& name) const {
  Item g;
  g.kind = Kind::Global;
  if (module == "collections" && name == "OrderedDict") {
    g.global = Global::OrderedDict;
  } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
    g.global = Global::RebuildTensor;
  } else if (module == "torch._utils" && name == "_rebuild_parameter") {
    g.global = Global::RebuildParameter;
  } else if (const auto dtype = module == "torch" ? storage_type_dtype(name) : std::nullopt) {
    g.global = Global::StorageType;
    g.dtype = *dtype;
  } else {
    fail("refusing to load global '" + printable(module) + "." + printable(name) + "'");
  }
  return g;
}

void Unpickler::persistent_id() {
  const auto pid = tuple_items(pop(), "a persistent id");
  const auto is = [&](size_t i, bool (c10::IValue::*check)() const) {
    return pid[i].kind == Kind::Value && (pid[i].value.*check)();
  };
  if (pid.size() != 5 || !is(0, &c10::IValue::isString) || pid[0].value.toStringRef() != "storage" ||
      pid[1].kind != Kind::Global || pid[1].global != Global::StorageType || !is(2, &c10::IValue::isString) ||
      !is(3, &c10::IValue::isString) || !is(4, &c10::IValue::isInt) || pid[4].value.toInt() < 0)
    fail("malformed persistent id; expected ('storage', torch.<Type>Storage, key, location, numel)");
  const std::string& key = pid[2].value.toStringRef();
  const c10::ScalarType dtype = pid[1].dtype;
  const int64_t numel = pid[4].value.toInt();
  auto it = storages_.find(key);
  if (it == storages_.end()) {
    at::Tensor t = load_(key, dtype, numel);
    if (!t.defined() || t.scalar_type() != dtype || t.dim() != 1 || t.numel() != numel || !t.is_contiguous())
      fail("storage '" + key + "' did not load as " + std::to_string(numel) + " elements of " +
           c10::toString(dtype));
    it = storages_.emplace(key, std::move(t)).first;
  } else if (it->second.scalar_type() != dtype || it->second.numel() != numel) {
    fail("storage '" + key + "' is referenced with two different types or sizes");
  }
  Item s;
  s.kind = Kind::Storage;
  s.value = it->second;
  push(std::move(s));
}

std::vector<int64_t> Unpickler::int_tuple(const Item& item, const char* where) const {
  const auto items = tuple_items(item, where);
  if (items.size() > kMaxDims) fail(std::string("tensor ") + where + " has more than 64 dimensions");
  std::vector<int64_t> out;
  for (const auto& i : items) {
    if (i.kind != Kind::Value || !i.value.isInt() || i.value.toInt() < 0)
      fail(std::string("tensor ") + where + " holds something other than a non-negative int");
    out.push_back(i.value.toInt());
  }
  return out;
}

at::Tensor Unpickler::rebuild_tensor(const std::vector<Item>& args) const {
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.size() < 6 || args.size() > 7 || args[0].kind != Kind::Storage || args[1].kind != Kind::Value ||
      !args[1].value.isInt())
    fail("malformed _rebuild_tensor_v2 arguments");
  const c10::IValue hooks = as_value(args[5], "backward hooks");
  if (!hooks.isGenericDict() || !hooks.toGenericDict().empty())
    fail("tensor with backward hooks; refusing to load");
  return storage_view(args[0].value.toTensor(), args[1].value.toInt(), int_tuple(args[2], "size"),
                      int_tuple(args[3], "stride"), what_);
}

void Unpickler::reduce() {
  Item args = pop();
  Item callable = pop();
  if (callable.kind != Kind::Global) fail("malformed pickle: REDUCE of something that is not a known global");
  const auto items = tuple_items(args, "call arguments");
  switch (callable.global) {
    case Global::OrderedDict:
      if (!items.empty()) fail("OrderedDict called with arguments");
      push(new_dict());
      return;
    case Global::RebuildTensor:
      push(value_item(rebuild_tensor(items)));
      return;
    case Global::RebuildParameter:
      // (data, requires_grad, backward_hooks): a checkpoint keeps the values only.
      if (items.size() != 3 || items[0].kind != Kind::Value || !items[0].value.isTensor())
        fail("malformed _rebuild_parameter arguments");
      push(items[0]);
      return;
    case Global::StorageType:
      fail("refusing to call a storage type");
  }
}

void Unpickler::build() {
  const c10::IValue state = as_value(pop(), "BUILD state");
  const c10::IValue target = as_value(top(), "BUILD target");
  // Module.state_dict() attaches {'_metadata': ...} to its OrderedDict; tempo has no use for it.
  bool metadata_only = target.isGenericDict() && state.isGenericDict();
  if (metadata_only)
    for (const auto& entry : state.toGenericDict())
      metadata_only = metadata_only && entry.key().isString() && entry.key().toStringRef() == "_metadata";
  if (!metadata_only) fail("BUILD other than an OrderedDict's _metadata is not supported");
}

}  // namespace tempo::detail
