// Helpers for the serialization tests: a scratch folder, a tree holding every kind of value a
// checkpoint can store, bit-exact tree comparison, and an independent pickle opcode walker that
// lists the globals a pickle names (so the tests do not trust the reader under test).
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "tempo/errors/error.h"
#include "tempo/serialization/checkpoint_file.h"
#include "support/temp_dir.h"

namespace tempo::testing {

inline c10::impl::GenericDict str_dict() {
  return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
}
inline c10::impl::GenericDict int_dict() {
  return c10::impl::GenericDict(c10::IntType::get(), c10::AnyType::get());
}
inline c10::impl::GenericList any_list() { return c10::impl::GenericList(c10::AnyType::get()); }

// A scratch folder that can also list everything in it, temporaries included.
class ScratchFolder : public TempDir {
 public:
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path())) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

// {"Adam": {"state": param_state, "param_groups": [one group over params 0 and 1]}}, in
// PyTorch's optimizer layout.
inline c10::impl::GenericDict adam_optimizers_tree(const c10::impl::GenericDict& param_state) {
  auto group = str_dict();
  group.insert("lr", 0.001);
  group.insert("betas", c10::ivalue::Tuple::create({0.9, 0.999}));
  group.insert("foreach", c10::IValue());
  group.insert("amsgrad", false);
  group.insert("params", c10::List<int64_t>({0, 1}));
  auto groups = any_list();
  groups.push_back(group);
  auto adam = str_dict();
  adam.insert("state", param_state);
  adam.insert("param_groups", groups);
  auto optimizers = str_dict();
  optimizers.insert("Adam", adam);
  return optimizers;
}

// A file's whole contents.
inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The CheckpointError message read_checkpoint(path) gives, or "no error".
inline std::string error_reading(const std::string& path) {
  try {
    read_checkpoint(path);
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "no error";
}

// All dtypes a checkpoint supports, each as a small tensor with distinct values.
inline c10::impl::GenericDict dtype_tensors() {
  auto d = str_dict();
  const std::vector<std::pair<std::string, at::ScalarType>> types = {
      {"float32", at::kFloat},     {"float64", at::kDouble}, {"float16", at::kHalf},
      {"bfloat16", at::kBFloat16}, {"int8", at::kChar},      {"int16", at::kShort},
      {"int32", at::kInt},         {"int64", at::kLong},     {"uint8", at::kByte}};
  for (const auto& [name, type] : types) {
    // Negative values only where the dtype has them: a negative double cast to uint8 is undefined.
    const at::Tensor values =
        type == at::kByte ? at::arange(5, at::kDouble) * 60 : at::arange(5, at::kDouble) * 1.5 - 2;
    d.insert(name, values.to(type));
  }
  d.insert("bool", at::arange(5, at::kLong).remainder(2).to(at::kBool));
  return d;
}

// A tree with every value type, nested dicts with int keys, shared-storage views, all dtypes,
// empty and 0-dim tensors, and containers past Python's 1000-item batch size.
inline c10::IValue sample_tree() {
  at::Tensor w = at::arange(12, at::kFloat).reshape({3, 4}) / 3;
  w[0][0] = std::numeric_limits<float>::quiet_NaN();
  w[0][1] = -0.0f;
  w[0][2] = std::numeric_limits<float>::infinity();
  auto model = str_dict();
  model.insert("w", w);
  model.insert("w_row", w[1]);            // view with an offset, same storage
  model.insert("w_t", w.t());             // non-contiguous strides, same storage
  model.insert("w_col", w.select(1, 2));  // offset and stride
  auto param_state = int_dict();
  for (int64_t i = 0; i < 2; ++i) {
    auto s = str_dict();
    s.insert("step", at::scalar_tensor(3.0 + static_cast<double>(i), at::kFloat));
    s.insert("exp_avg", at::full({2, 2}, 0.25 * static_cast<double>(i + 1)));
    param_state.insert(i, s);
  }
  auto optimizers = adam_optimizers_tree(param_state);

  auto ints = any_list();
  for (int64_t v : std::vector<int64_t>{0, 1, 255, 256, 65535, 65536, -1, -256, INT32_MIN, INT32_MAX,
                                        int64_t{INT32_MAX} + 1, int64_t{INT32_MIN} - 1, int64_t{1} << 40,
                                        -(int64_t{1} << 40), int64_t{1} << 39, INT64_MIN, INT64_MAX})
    ints.push_back(v);
  auto doubles = any_list();
  for (double v : {0.5, -0.0, 1e300, -1e-300, std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN()})
    doubles.push_back(v);
  auto tuples = any_list();
  tuples.push_back(c10::ivalue::Tuple::create({}));
  tuples.push_back(c10::ivalue::Tuple::create({int64_t{1}}));
  tuples.push_back(c10::ivalue::Tuple::create({int64_t{1}, "two"}));
  tuples.push_back(c10::ivalue::Tuple::create({int64_t{1}, 2.0, true}));
  tuples.push_back(
      c10::ivalue::Tuple::create({int64_t{1}, c10::IValue(), at::ones({2}), c10::ivalue::Tuple::create({})}));
  auto big_list = any_list();
  for (int64_t i = 0; i < 2500; ++i) big_list.push_back(i);
  auto big_dict = int_dict();
  for (int64_t i = 0; i < 2001; ++i) big_dict.insert(i * 7, "v" + std::to_string(i));
  auto one = str_dict();
  one.insert("only", int64_t{1});
  auto single_list = any_list();
  single_list.push_back("x");

  auto state = str_dict();
  state.insert("model", model);
  state.insert("optimizers", optimizers);
  state.insert("dtypes", dtype_tensors());
  state.insert("empty", at::empty({0}));
  state.insert("empty2d", at::zeros({0, 3}, at::kLong));
  state.insert("scalar", at::scalar_tensor(7.5, at::kDouble));
  state.insert("run_name", std::string("tempo-\xc3\xbcn\xc3\xaf"));
  state.insert("ints", ints);
  state.insert("doubles", doubles);
  state.insert("tuples", tuples);
  state.insert("flags", c10::List<bool>({true, false}));
  state.insert("none", c10::IValue());
  state.insert("empty_dict", str_dict());
  state.insert("empty_list", any_list());
  state.insert("one_item_dict", one);
  state.insert("one_item_list", single_list);
  state.insert("big_list", big_list);
  state.insert("big_dict", big_dict);
  auto rng = any_list();
  auto rank0 = str_dict();
  rank0.insert("seed", int64_t{42});
  rank0.insert("torch", at::arange(16, at::kByte));
  rng.push_back(rank0);
  auto root = str_dict();
  root.insert("state", state);
  root.insert("rng", rng);
  return root;
}

inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

inline bool tensors_identical(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const at::Tensor ca = a.contiguous(), cb = b.contiguous();
  // An empty tensor may have no memory at all: memcmp of a null pointer is undefined even for 0 bytes.
  return ca.nbytes() == 0 || std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) == 0;
}

// Same structure, key order, key types, scalar values (bit-exact doubles) and tensor bytes.
inline void check_same_tree(const c10::IValue& a, const c10::IValue& b, const std::string& path = "") {
  INFO("at '" << path << "'");
  REQUIRE(a.tagKind() == b.tagKind());
  if (a.isGenericDict()) {
    const auto da = a.toGenericDict(), db = b.toGenericDict();
    REQUIRE(da.size() == db.size());
    if (!da.empty()) CHECK(da.keyType()->str() == db.keyType()->str());
    auto ia = da.begin(), ib = db.begin();
    for (; ia != da.end(); ++ia, ++ib) {
      const auto key = ia->key().isString() ? ia->key().toStringRef() : std::to_string(ia->key().toInt());
      REQUIRE(ia->key().tagKind() == ib->key().tagKind());
      CHECK(ia->key() == ib->key());
      check_same_tree(ia->value(), ib->value(), path + "/" + key);
    }
  } else if (a.isList()) {
    const auto la = a.toListRef(), lb = b.toListRef();
    REQUIRE(la.size() == lb.size());
    for (size_t i = 0; i < la.size(); ++i) check_same_tree(la[i], lb[i], path + "/" + std::to_string(i));
  } else if (a.isTuple()) {
    const auto& ta = a.toTupleRef().elements();
    const auto& tb = b.toTupleRef().elements();
    REQUIRE(ta.size() == tb.size());
    for (size_t i = 0; i < ta.size(); ++i) check_same_tree(ta[i], tb[i], path + "/" + std::to_string(i));
  } else if (a.isTensor()) {
    CHECK(tensors_identical(a.toTensor(), b.toTensor()));
    CHECK(a.toTensor().strides() == b.toTensor().strides());
    CHECK(a.toTensor().storage_offset() == b.toTensor().storage_offset());
  } else if (a.isDouble()) {
    CHECK(same_bits(a.toDouble(), b.toDouble()));
  } else if (a.isInt()) {
    CHECK(a.toInt() == b.toInt());
  } else if (a.isString()) {
    CHECK(a.toStringRef() == b.toStringRef());
  } else if (a.isBool()) {
    CHECK(a.toBool() == b.toBool());
  } else {
    CHECK(a.isNone());
  }
}

// The globals ("module.name") a protocol-2 pickle names, by walking its opcodes; an opcode
// outside what torch.save emits is reported as "?opcode 0x..".
inline std::vector<std::string> pickle_globals(const std::string& p) {
  std::vector<std::string> out;
  size_t i = 0;
  const auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(p.at(at + static_cast<size_t>(k)));
    return v;
  };
  while (i < p.size()) {
    const auto op = static_cast<unsigned char>(p[i++]);
    switch (op) {
      case '.':
        return out;
      case '(':
      case '}':
      case ']':
      case ')':
      case 't':
      case 's':
      case 'u':
      case 'a':
      case 'e':
      case 'N':
      case 'Q':
      case 'R':
      case 'b':
      case 0x85:
      case 0x86:
      case 0x87:
      case 0x88:
      case 0x89:
        break;
      case 0x80:
      case 'K':
      case 'q':
      case 'h':
        i += 1;
        break;
      case 'M':
        i += 2;
        break;
      case 'J':
      case 'r':
      case 'j':
        i += 4;
        break;
      case 'G':
        i += 8;
        break;
      case 0x8a:
        i += 1 + static_cast<unsigned char>(p.at(i));
        break;
      case 'X':
        i += 4 + u32(i);
        break;
      case 'c': {
        const size_t a = p.find('\n', i), b = p.find('\n', a + 1);
        out.push_back(p.substr(i, a - i) + "." + p.substr(a + 1, b - a - 1));
        i = b + 1;
        break;
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        out.push_back(std::string("?opcode ") + hex);
        return out;
      }
    }
  }
  out.push_back("?no STOP");
  return out;
}

inline bool allowed_global(const std::string& g) {
  static const std::vector<std::string> storages = {"Float", "Double", "Half", "BFloat16", "Char",
                                                    "Short", "Int",    "Long", "Byte",     "Bool"};
  if (g == "torch._utils._rebuild_tensor_v2" || g == "collections.OrderedDict") return true;
  for (const auto& s : storages)
    if (g == "torch." + s + "Storage") return true;
  return false;
}

}  // namespace tempo::testing
