#include "tempo/data/npy_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <vector>

#include "tempo/errors/error.h"
#include "tempo/util/coding.h"

namespace tempo {
namespace {

struct Mapping {
  void* address = MAP_FAILED;
  size_t length = 0;
  ~Mapping() {
    if (address != MAP_FAILED) munmap(address, length);
  }
};

// The Python literals a .npy header is written in: a dict of str keys, with str, bool, None, int
// and tuple values (and lists, which only structured dtypes use).
struct PyValue {
  enum Kind { STR, BOOL, NONE, INT, TUPLE, LIST, DICT } kind = NONE;
  std::string text;
  int64_t integer = 0;
  bool boolean = false;
  std::vector<PyValue> items;
  std::vector<std::string> keys;  // DICT: items[i] is the value of keys[i]
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  PyValue parse() {
    PyValue v = value();
    skip();
    if (i_ != s_.size()) fail("unexpected text after the header's dict");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw DataError(fmt::format("{}: the .npy header is not a Python dict literal ({} at offset {} of \"{}\")", path_,
                                why, i_, s_));
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool word(const char* w) {
    const size_t n = std::strlen(w);
    if (s_.compare(i_, n, w) != 0) return false;
    i_ += n;
    return true;
  }
  // Items until `close`, a trailing comma allowed.
  void sequence(char close, PyValue& v, bool dict) {
    while (!eat(close)) {
      if (dict) {
        PyValue key = value();
        if (key.kind != PyValue::STR) fail("a key that is not a string");
        if (!eat(':')) fail("expected ':'");
        v.keys.push_back(key.text);
      }
      v.items.push_back(value());
      if (!eat(',')) {
        if (!eat(close)) fail(fmt::format("expected ',' or '{}'", close));
        return;
      }
    }
  }
  PyValue value() {
    skip();
    if (i_ >= s_.size()) fail("unexpected end");
    PyValue v;
    const char c = s_[i_];
    if (c == '\'' || c == '"') {
      ++i_;
      v.kind = PyValue::STR;
      while (i_ < s_.size() && s_[i_] != c) v.text += s_[i_++];
      if (i_ >= s_.size()) fail("an unclosed string");
      ++i_;
    } else if (c == '{' || c == '(' || c == '[') {
      ++i_;
      v.kind = c == '{' ? PyValue::DICT : c == '(' ? PyValue::TUPLE : PyValue::LIST;
      sequence(c == '{' ? '}' : c == '(' ? ')' : ']', v, c == '{');
    } else if (word("True")) {
      v.kind = PyValue::BOOL;
      v.boolean = true;
    } else if (word("False")) {
      v.kind = PyValue::BOOL;
    } else if (word("None")) {
      v.kind = PyValue::NONE;
    } else if (c >= '0' && c <= '9') {
      v.kind = PyValue::INT;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
        const int digit = s_[i_++] - '0';
        if (v.integer > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("an integer too large");
        v.integer = v.integer * 10 + digit;
      }
      if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2's long, in old files
    } else {
      fail(fmt::format("unexpected '{}'", c));
    }
    return v;
  }

  const std::string& s_;
  const std::string& path_;
  size_t i_ = 0;
};

const PyValue& entry(const PyValue& dict, const std::string& key, const std::string& path) {
  for (size_t k = 0; k < dict.keys.size(); ++k) {
    if (dict.keys[k] == key) return dict.items[k];
  }
  throw DataError(fmt::format("{}: the .npy header has no '{}' (it needs descr, fortran_order and shape)", path, key));
}

at::ScalarType dtype_of(const std::string& descr, const std::string& path) {
  static const std::map<std::string, at::ScalarType> types = {
      {"f2", at::kHalf}, {"f4", at::kFloat}, {"f8", at::kDouble}, {"i2", at::kShort}, {"i4", at::kInt},
      {"i8", at::kLong}, {"i1", at::kChar},  {"u1", at::kByte},   {"b1", at::kBool}};
  const std::string supported = "<f2 <f4 <f8 <i2 <i4 <i8 |i1 |u1 |b1";
  if (descr.size() >= 2) {
    const auto it = types.find(descr.substr(1));
    const bool one_byte = it != types.end() && at::elementSize(it->second) == 1;
    if (it != types.end() && (descr[0] == '<' || (one_byte && (descr[0] == '|' || descr[0] == '>')))) {
      return it->second;
    }
    if (it != types.end() && descr[0] == '>') {
      throw DataError(fmt::format("{}: dtype '{}' is big-endian; tempo reads little-endian .npy files (save "
                                  "arr.astype('<{}'))",
                                  path, descr, descr.substr(1)));
    }
  }
  throw DataError(fmt::format("{}: unsupported dtype '{}' (supported: {})", path, descr, supported));
}

}  // namespace

at::Tensor map_npy(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw DataError(fmt::format("{}: cannot open the .npy file ({})", path, std::strerror(errno)));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    throw DataError(fmt::format("{}: cannot read the .npy file ({})", path, std::strerror(error)));
  }
  const auto file_size = static_cast<size_t>(info.st_size);
  constexpr size_t kPreamble = 10;  // magic (6), version (2), header length (2 in version 1.0)
  if (file_size < kPreamble) {
    ::close(fd);
    throw DataError(fmt::format("{}: truncated: {} bytes, too short for a .npy file", path, file_size));
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->address = ::mmap(nullptr, file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  const int map_error = errno;
  ::close(fd);
  if (mapping->address == MAP_FAILED) {
    throw DataError(fmt::format("{}: cannot map the .npy file into memory ({})", path, std::strerror(map_error)));
  }
  mapping->length = file_size;
  const auto* bytes = static_cast<const unsigned char*>(mapping->address);

  if (std::memcmp(bytes, "\x93NUMPY", 6) != 0) {
    throw DataError(fmt::format("{}: not a .npy file: bad magic (expected \\x93NUMPY at the start)", path));
  }
  const int major = bytes[6], minor = bytes[7];
  if (major < 1 || major > 3 || minor != 0) {
    throw DataError(fmt::format("{}: unsupported .npy format version {}.{} (1.0, 2.0 and 3.0 are read)", path, major,
                                minor));
  }
  const size_t length_bytes = major == 1 ? 2 : 4;
  if (file_size < 8 + length_bytes) {
    throw DataError(fmt::format("{}: truncated in the .npy preamble ({} bytes)", path, file_size));
  }
  const auto header_length = static_cast<size_t>(decode_le(bytes + 8, static_cast<int>(length_bytes)));
  const size_t data_offset = 8 + length_bytes + header_length;
  if (data_offset > file_size) {
    throw DataError(fmt::format("{}: truncated: the .npy header is {} bytes long but the file has {} bytes", path,
                                header_length, file_size));
  }
  const std::string header(reinterpret_cast<const char*>(bytes) + 8 + length_bytes, header_length);
  const PyValue dict = HeaderParser(header, path).parse();
  if (dict.kind != PyValue::DICT) throw DataError(fmt::format("{}: the .npy header is not a dict: \"{}\"", path, header));

  const PyValue& descr = entry(dict, "descr", path);
  if (descr.kind != PyValue::STR) {
    throw DataError(fmt::format("{}: unsupported dtype: a structured or non-string descr in \"{}\"", path, header));
  }
  const at::ScalarType dtype = dtype_of(descr.text, path);
  const PyValue& fortran = entry(dict, "fortran_order", path);
  if (fortran.kind != PyValue::BOOL) throw DataError(fmt::format("{}: fortran_order is not True or False", path));
  if (fortran.boolean) {
    throw DataError(fmt::format("{}: the array is in Fortran order (fortran_order: True); save a C-order array "
                                "(np.save(path, np.ascontiguousarray(arr)))",
                                path));
  }
  const PyValue& shape_value = entry(dict, "shape", path);
  if (shape_value.kind != PyValue::TUPLE) throw DataError(fmt::format("{}: shape is not a tuple in \"{}\"", path, header));
  std::vector<int64_t> shape;
  const auto item_size = static_cast<int64_t>(at::elementSize(dtype));
  int64_t numel = 1;
  for (const auto& dim : shape_value.items) {
    if (dim.kind != PyValue::INT) throw DataError(fmt::format("{}: shape holds a non-integer in \"{}\"", path, header));
    if (dim.integer != 0 && numel > std::numeric_limits<int64_t>::max() / item_size / dim.integer) {
      throw DataError(fmt::format("{}: shape {} is too large to be real", path, c10::str(c10::IntArrayRef(shape))));
    }
    numel *= dim.integer;
    shape.push_back(dim.integer);
  }
  const auto data_bytes = static_cast<size_t>(numel * item_size);
  const size_t held = file_size - data_offset;
  if (held < data_bytes) {
    throw DataError(fmt::format("{}: truncated: shape {} of {} needs {} bytes of data, the file holds {}", path,
                                c10::str(c10::IntArrayRef(shape)), descr.text, data_bytes, held));
  }
  if (held > data_bytes) {
    throw DataError(fmt::format("{}: size mismatch: {} bytes of data past the {} that shape {} of {} needs", path,
                                held - data_bytes, data_bytes, c10::str(c10::IntArrayRef(shape)), descr.text));
  }
  auto* data = static_cast<unsigned char*>(mapping->address) + data_offset;
  if (dtype == at::kBool) {
    for (size_t k = 0; k < data_bytes; ++k) {
      if (data[k] > 1) throw DataError(fmt::format("{}: bool element {} holds byte {}, not 0 or 1", path, k, data[k]));
    }
  }
  const auto options = torch::TensorOptions().dtype(dtype);
  at::Tensor tensor = torch::from_blob(data, shape, [mapping](void*) {}, options);
  if (reinterpret_cast<uintptr_t>(data) % static_cast<uintptr_t>(item_size) != 0) return tensor.clone();
  return tensor;
}

}  // namespace tempo
