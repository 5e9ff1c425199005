// The torch side of the unpickler: the allowlist of globals and what calling each one means.
// Nothing named in a file is ever imported or called; unknown names are refused. Besides what
// torch.save writes for tensors, the list holds exactly what Composer's checkpoints carry outside
// them (each call's arguments checked to the shape Python pickles them in):
//   datetime.timedelta(days, seconds, microseconds)     -> its seconds, a float (the *_wct times)
//   _codecs.encode(str, 'latin1')                       -> the bytes, as a string (protocol 2 bytes)
//   numpy.(_)core.multiarray._reconstruct(numpy.ndarray, (0,), b'b') + BUILD
//                                                       -> a tensor (NumPy's RNG state, uint32[624])
//   numpy.dtype(code, False, True) + BUILD              -> only inside such an array
//   NEWOBJ torch.torch_version.TorchVersion(str)       -> the string (metadata's torch_version)

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
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
  } else if (module == "datetime" && name == "timedelta") {
    g.global = Global::Timedelta;
  } else if (module == "_codecs" && name == "encode") {
    g.global = Global::CodecsEncode;
  } else if ((module == "numpy._core.multiarray" || module == "numpy.core.multiarray") && name == "_reconstruct") {
    g.global = Global::NumpyReconstruct;
  } else if (module == "numpy" && name == "ndarray") {
    g.global = Global::NumpyNdarray;
  } else if (module == "numpy" && name == "dtype") {
    g.global = Global::NumpyDtype;
  } else if (module == "torch.torch_version" && name == "TorchVersion") {
    g.global = Global::TorchVersion;
  } else {
    fail("refusing to load global '" + printable(module) + "." + printable(name) +
         "': a checkpoint may name only torch.save's tensor and storage types, collections.OrderedDict and, "
         "as Composer writes them, datetime.timedelta, _codecs.encode, NumPy's array reconstruction and "
         "torch.torch_version.TorchVersion");
  }
  return g;
}

namespace {

bool is_value(const Item& i, bool (c10::IValue::*check)() const) { return i.kind == Kind::Value && (i.value.*check)(); }

// The bytes a str of code points below 256 stands for (Python's str.encode('latin1')), from its
// UTF-8; nullopt when it holds a code point above 255 or is not UTF-8.
std::optional<std::string> latin1_bytes(const std::string& utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size() && (static_cast<unsigned char>(utf8[i + 1]) & 0xC0) == 0x80) {
      out.push_back(static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3F)));
      ++i;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// NumPy's type codes tempo reads, and the tensor type each becomes: unsigned 16 and 32-bit
// integers widen to the next signed type, so that every value keeps its meaning.
struct NumpyType {
  const char* code;
  size_t bytes;
  c10::ScalarType stored;  // what the bytes are
  c10::ScalarType result;  // what the tensor holds
};
constexpr NumpyType kNumpyTypes[] = {
    {"b1", 1, c10::kBool, c10::kBool},   {"i1", 1, c10::kChar, c10::kChar},   {"u1", 1, c10::kByte, c10::kByte},
    {"i2", 2, c10::kShort, c10::kShort}, {"u2", 2, c10::kShort, c10::kInt},   {"i4", 4, c10::kInt, c10::kInt},
    {"u4", 4, c10::kInt, c10::kLong},    {"i8", 8, c10::kLong, c10::kLong},   {"f2", 2, c10::kHalf, c10::kHalf},
    {"f4", 4, c10::kFloat, c10::kFloat}, {"f8", 8, c10::kDouble, c10::kDouble},
};

const NumpyType* numpy_type(const std::string& code) {
  for (const auto& t : kNumpyTypes)
    if (code == t.code) return &t;
  return nullptr;
}

}  // namespace

double Unpickler::timedelta_seconds(const std::vector<Item>& args) const {
  // timedelta.__reduce__ gives (days, seconds, microseconds), normalized: 0 <= seconds < 86400,
  // 0 <= microseconds < 10^6, |days| <= 999999999. Python accepts fewer (defaults 0).
  int64_t parts[3] = {0, 0, 0};
  if (args.size() > 3) fail("datetime.timedelta called with more than 3 arguments");
  for (size_t i = 0; i < args.size(); ++i) {
    if (!is_value(args[i], &c10::IValue::isInt)) fail("datetime.timedelta called with a non-integer argument");
    parts[i] = args[i].value.toInt();
  }
  if (parts[0] < -999999999 || parts[0] > 999999999 || parts[1] < 0 || parts[1] >= 86400 || parts[2] < 0 ||
      parts[2] >= 1000000)
    fail("datetime.timedelta(" + std::to_string(parts[0]) + ", " + std::to_string(parts[1]) + ", " +
         std::to_string(parts[2]) + ") is not a normalized (days, seconds, microseconds) triple");
  return static_cast<double>(parts[0]) * 86400.0 + static_cast<double>(parts[1]) +
         static_cast<double>(parts[2]) / 1e6;
}

Item Unpickler::reduce_numpy(Global global, const std::vector<Item>& args) const {
  Item item;
  item.kind = Kind::Numpy;
  item.numpy = std::make_shared<NumpyPending>();
  if (global == Global::NumpyReconstruct) {
    // _reconstruct(ndarray, (0,), b'b'): an empty array that BUILD fills.
    if (args.size() != 3 || args[0].kind != Kind::Global || args[0].global != Global::NumpyNdarray ||
        !is_value(args[2], &c10::IValue::isString))
      fail("numpy's _reconstruct called with other arguments than (numpy.ndarray, shape, typecode)");
    item.numpy->is_array = true;
    return item;
  }
  // dtype(code, align=False, copy=True); byte order comes with BUILD.
  if (args.size() != 3 || !is_value(args[0], &c10::IValue::isString) || !is_value(args[1], &c10::IValue::isBool) ||
      !is_value(args[2], &c10::IValue::isBool))
    fail("numpy.dtype called with other arguments than (code, align, copy)");
  item.numpy->code = args[0].value.toStringRef();
  if (!numpy_type(item.numpy->code))
    fail("numpy dtype '" + printable(item.numpy->code) +
         "' is not supported: tempo reads NumPy arrays of bool, int8-64, uint8-32 and float16-64");
  return item;
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
    case Global::Timedelta:
      push(value_item(timedelta_seconds(items)));
      return;
    case Global::CodecsEncode: {
      if (items.size() != 2 || !is_value(items[0], &c10::IValue::isString) ||
          !is_value(items[1], &c10::IValue::isString) || items[1].value.toStringRef() != "latin1")
        fail("_codecs.encode called with other arguments than (str, 'latin1')");
      auto bytes = latin1_bytes(items[0].value.toStringRef());
      if (!bytes) fail("_codecs.encode: the string is not latin-1 text");
      push(value_item(std::move(*bytes)));
      return;
    }
    case Global::NumpyReconstruct:
    case Global::NumpyDtype:
      push(reduce_numpy(callable.global, items));
      return;
    case Global::StorageType:
      fail("refusing to call a storage type");
    case Global::NumpyNdarray:
      fail("refusing to call numpy.ndarray (only numpy's _reconstruct may take it)");
    case Global::TorchVersion:
      fail("torch.torch_version.TorchVersion is made by NEWOBJ, not called");
  }
}

void Unpickler::new_object() {
  Item args = pop();
  Item cls = pop();
  const auto items = tuple_items(args, "NEWOBJ arguments");
  if (cls.kind != Kind::Global || cls.global != Global::TorchVersion)
    fail("malformed pickle: NEWOBJ of something other than torch.torch_version.TorchVersion");
  if (items.size() != 1 || !is_value(items[0], &c10::IValue::isString))
    fail("TorchVersion made from something other than one string");
  push(items[0]);
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

void Unpickler::build() {
  const Item state = pop();
  Item& target = top();
  if (target.kind == Kind::Numpy) return build_numpy(target, state);
  const c10::IValue value = as_value(state, "BUILD state");
  const c10::IValue object = as_value(target, "BUILD target");
  // Module.state_dict() attaches {'_metadata': ...} to its OrderedDict; tempo has no use for it.
  bool metadata_only = object.isGenericDict() && value.isGenericDict();
  if (metadata_only)
    for (const auto& entry : value.toGenericDict())
      metadata_only = metadata_only && entry.key().isString() && entry.key().toStringRef() == "_metadata";
  if (!metadata_only) fail("BUILD other than an OrderedDict's _metadata or a NumPy array's is not supported");
}

void Unpickler::build_numpy(Item& target, const Item& state) {
  NumpyPending& pending = *target.numpy;
  if (pending.built) fail("malformed pickle: a NumPy object is built twice");
  const auto items = tuple_items(state, "a NumPy object's state");
  if (!pending.is_array) {
    // dtype.__setstate__: (3, byteorder, subarray, names, fields, elsize, alignment, flags). Only
    // plain little-endian (or byte-sized, '|') types: no subarray, no fields, no object flags.
    if (items.size() != 8 || !is_value(items[0], &c10::IValue::isInt) || items[0].value.toInt() != 3 ||
        !is_value(items[1], &c10::IValue::isString) || !is_value(items[2], &c10::IValue::isNone) ||
        !is_value(items[3], &c10::IValue::isNone) || !is_value(items[4], &c10::IValue::isNone) ||
        !is_value(items[7], &c10::IValue::isInt) || items[7].value.toInt() != 0)
      fail("numpy.dtype state is not that of a plain numeric type");
    const std::string& order = items[1].value.toStringRef();
    const size_t size = numpy_type(pending.code)->bytes;
    if (!(order == "<" || order == "=" || (order == "|" && size == 1)))
      fail("numpy dtype '" + printable(pending.code) + "' with byte order '" + printable(order) +
           "': tempo reads little-endian arrays only");
    pending.built = true;
    return;
  }
  // ndarray.__setstate__: (version 1, shape, dtype, is_fortran, raw bytes).
  if (items.size() != 5 || !is_value(items[0], &c10::IValue::isInt) || items[0].value.toInt() != 1 ||
      items[2].kind != Kind::Numpy || items[2].numpy->is_array || !items[2].numpy->built ||
      !is_value(items[3], &c10::IValue::isBool) || !is_value(items[4], &c10::IValue::isString))
    fail("NumPy array state is not (1, shape, dtype, is_fortran, bytes)");
  const auto shape = int_tuple(items[1], "shape");
  const NumpyType& type = *numpy_type(items[2].numpy->code);
  const std::string& bytes = items[4].value.toStringRef();
  uint64_t numel = 1;
  for (const auto d : shape) {
    if (d != 0 && numel > bytes.size() / static_cast<uint64_t>(d)) fail("NumPy array larger than its bytes");
    numel *= static_cast<uint64_t>(d);
  }
  if (numel * type.bytes != bytes.size())
    fail("NumPy array of " + std::to_string(numel) + " '" + type.code + "' elements has " +
         std::to_string(bytes.size()) + " bytes");
  if (type.stored == c10::kBool &&
      std::any_of(bytes.begin(), bytes.end(), [](char c) { return static_cast<unsigned char>(c) > 1; }))
    fail("NumPy bool array holds a byte other than 0 or 1");
  at::Tensor flat = at::empty({static_cast<int64_t>(numel)}, at::TensorOptions().dtype(type.stored));
  if (!bytes.empty()) std::memcpy(flat.data_ptr(), bytes.data(), bytes.size());
  if (type.code == std::string("u2")) flat = flat.to(at::kInt).bitwise_and(0xFFFF);
  if (type.code == std::string("u4")) flat = flat.to(at::kLong).bitwise_and(int64_t{0xFFFFFFFF});
  at::Tensor array;
  if (items[3].value.toBool() && shape.size() > 1) {
    // Fortran order: the bytes are the transpose's C order.
    std::vector<int64_t> reversed(shape.rbegin(), shape.rend());
    std::vector<int64_t> order(shape.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(order.size() - 1 - i);
    array = flat.reshape(reversed).permute(order).contiguous();
  } else {
    array = flat.reshape(shape);
  }
  pending.array = array;
  pending.built = true;
  target = resolved(target);
}

}  // namespace tempo::detail
