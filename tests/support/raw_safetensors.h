// An independent reader of safetensors files and Hugging Face index files for tests, so that what
// tempo writes is checked by code that shares nothing with tempo's own reader (no
// read_safetensors, no util/json.h): an 8-byte little-endian header length, the JSON header, the
// raw bytes. The JSON parser is a small hand-written one for what these files hold (objects,
// arrays, strings with simple escapes, non-negative integers); it throws std::runtime_error on
// anything else.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tempo::testing {

struct MiniJson {
  enum Kind { object, array, string, number } kind = number;
  std::vector<std::pair<std::string, MiniJson>> members;  // object, in text order
  std::vector<MiniJson> items;                            // array
  std::string text;                                       // string
  uint64_t value = 0;                                     // number

  const MiniJson& at(const std::string& key) const {
    for (const auto& [k, v] : members)
      if (k == key) return v;
    throw std::runtime_error("JSON object has no key '" + key + "'");
  }
};

class MiniJsonParser {
 public:
  explicit MiniJsonParser(const std::string& text) : s_(text) {}
  MiniJson parse() {
    MiniJson v = value();
    skip();
    if (i_ != s_.size()) fail("trailing text");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("mini JSON: " + what + " at byte " + std::to_string(i_));
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  void expect(char c) {
    skip();
    if (i_ >= s_.size() || s_[i_] != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string string_literal() {
    expect('"');
    std::string out;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated escape");
      const char e = s_[i_++];
      if (e == '"' || e == '\\' || e == '/') out += e;
      else if (e == 'n') out += '\n';
      else if (e == 't') out += '\t';
      else fail("unsupported escape");
    }
  }
  MiniJson value() {
    skip();
    if (i_ >= s_.size()) fail("unexpected end");
    MiniJson v;
    if (s_[i_] == '{') {
      v.kind = MiniJson::object;
      ++i_;
      skip();
      if (i_ < s_.size() && s_[i_] == '}') return ++i_, v;
      while (true) {
        std::string key = string_literal();
        expect(':');
        v.members.emplace_back(std::move(key), value());
        skip();
        if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
        expect('}');
        return v;
      }
    }
    if (s_[i_] == '[') {
      v.kind = MiniJson::array;
      ++i_;
      skip();
      if (i_ < s_.size() && s_[i_] == ']') return ++i_, v;
      while (true) {
        v.items.push_back(value());
        skip();
        if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
        expect(']');
        return v;
      }
    }
    if (s_[i_] == '"') {
      v.kind = MiniJson::string;
      v.text = string_literal();
      return v;
    }
    if (s_[i_] < '0' || s_[i_] > '9') fail("unsupported value");
    v.kind = MiniJson::number;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') v.value = v.value * 10 + (s_[i_++] - '0');
    return v;
  }

  const std::string& s_;
  std::size_t i_ = 0;
};

inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), {}};
}

struct RawTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

struct RawSafetensors {
  std::vector<std::pair<std::string, RawTensor>> tensors;  // header order
  std::map<std::string, std::string> metadata;
};

inline RawSafetensors read_raw_safetensors(const std::string& path) {
  const std::string file = read_file_bytes(path);
  if (file.size() < 8) throw std::runtime_error(path + ": shorter than 8 bytes");
  uint64_t n = 0;
  for (int k = 7; k >= 0; --k) n = (n << 8) | static_cast<unsigned char>(file[k]);
  if (n > file.size() - 8) throw std::runtime_error(path + ": header length past the end");
  const std::string header = file.substr(8, n);
  const std::size_t data = 8 + n;
  RawSafetensors out;
  for (const auto& [name, entry] : MiniJsonParser(header).parse().members) {
    if (name == "__metadata__") {
      for (const auto& [k, v] : entry.members) out.metadata[k] = v.text;
      continue;
    }
    RawTensor t;
    t.dtype = entry.at("dtype").text;
    for (const auto& d : entry.at("shape").items) t.shape.push_back(static_cast<int64_t>(d.value));
    const auto& offsets = entry.at("data_offsets").items;
    if (offsets.size() != 2 || offsets[0].value > offsets[1].value || data + offsets[1].value > file.size())
      throw std::runtime_error(path + ": bad data_offsets for " + name);
    t.bytes = file.substr(data + offsets[0].value, offsets[1].value - offsets[0].value);
    out.tensors.emplace_back(name, std::move(t));
  }
  return out;
}

// The safetensors dtype name of `t`'s dtype, for the few the tests use.
inline std::string safetensors_dtype(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kDouble: return "F64";
    case at::kFloat: return "F32";
    case at::kBFloat16: return "BF16";
    case at::kHalf: return "F16";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    case at::kByte: return "U8";
    case at::kBool: return "BOOL";
    default: return "?";
  }
}

// The row-major bytes of `t`'s elements (whatever its strides).
inline std::string logical_bytes(const at::Tensor& t) {
  const auto c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
}

// Whether the raw tensor holds exactly `t`: dtype, shape and every byte.
inline bool raw_equals(const RawTensor& raw, const at::Tensor& t) {
  return raw.dtype == safetensors_dtype(t) && raw.shape == t.sizes().vec() && raw.bytes == logical_bytes(t);
}

}  // namespace tempo::testing
