#include "tempo/serialization/safetensors.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "tempo/errors/error.h"
#include "tempo/serialization/atomic_file.h"
#include "tempo/util/coding.h"
#include "tempo/util/json.h"
#include "tempo/util/regular_file.h"
#include "tempo/util/utf8.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors stores little-endian data and this code copies it to memory as is");

namespace tempo {
namespace {

// The reference implementation refuses larger headers; so do we, before allocating anything.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DType {
  const char* name;
  at::ScalarType type;
};

constexpr DType kDTypes[] = {
    {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf}, {"BF16", at::kBFloat16}, {"I64", at::kLong},
    {"I32", at::kInt},    {"I16", at::kShort}, {"I8", at::kChar},  {"U8", at::kByte},       {"BOOL", at::kBool},
};

const DType* find_dtype(std::string_view name) {
  for (const auto& d : kDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DType* find_dtype(at::ScalarType type) {
  for (const auto& d : kDTypes)
    if (type == d.type) return &d;
  return nullptr;
}

std::string errno_text() { return std::strerror(errno); }

// Closes on destruction so that every early exit, exceptions included, releases the descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { close(); }
  int get() const { return fd_; }
  int close() {
    const int rc = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// ---- writing ----------------------------------------------------------------------------------

// `text` as a JSON string; names and metadata must be valid UTF-8, since every reader of the
// header decodes them so and json_quote would otherwise change them.
std::string quoted(std::string_view text, const std::string& what) {
  if (!is_valid_utf8(text)) throw CheckpointError(fmt::format("{}: a name or value is not valid UTF-8", what));
  return json_quote(text);
}

// The header text, padded with spaces so that the data buffer starts 8-byte aligned.
std::string build_header(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata,
                         const std::string& path) {
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (const auto& [key, value] : metadata) {
      if (header.back() != '{') header += ',';
      header += quoted(key, path + ": metadata key") + ':' + quoted(value, path + ": metadata value");
    }
    header += '}';
  }
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") throw CheckpointError(fmt::format("{}: a tensor may not be named __metadata__", path));
    if (!names.insert(name).second) throw CheckpointError(fmt::format("{}: tensor '{}' given twice", path, name));
    if (!tensor.defined()) throw CheckpointError(fmt::format("{}: tensor '{}' is undefined", path, name));
    if (tensor.layout() != at::kStrided)
      throw CheckpointError(
          fmt::format("{}: tensor '{}' is not dense (layout {})", path, name, c10::str(tensor.layout())));
    const DType* dtype = find_dtype(tensor.scalar_type());
    if (!dtype)
      throw CheckpointError(fmt::format("{}: tensor '{}' has dtype {}, which safetensors export does not support", path,
                                        name, c10::toString(tensor.scalar_type())));
    const uint64_t bytes = static_cast<uint64_t>(tensor.numel()) * tensor.element_size();
    if (header.back() != '{') header += ',';
    header += quoted(name, path + ": tensor name");
    header += fmt::format(":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}", dtype->name,
                          fmt::join(tensor.sizes(), ","), offset, offset + bytes);
    offset += bytes;
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');
  return header;
}

// One tensor's bytes, straight from its memory when it already is contiguous CPU memory.
void write_tensor(AtomicFile& file, const std::string& name, const at::Tensor& tensor) {
  at::Tensor t = tensor;
  try {
    if (!t.device().is_cpu() || !t.is_contiguous() || t.is_neg() || t.is_conj())
      t = t.to(at::kCPU).resolve_conj().resolve_neg().contiguous();
  } catch (const c10::Error& e) {
    throw CheckpointError(
        fmt::format("{}: cannot copy tensor '{}' to CPU memory: {}", file.path(), name, e.what_without_backtrace()));
  }
  const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
  if (bytes > 0) file.write(t.data_ptr(), bytes);
}

// ---- reading ----------------------------------------------------------------------------------

void read_exact(int fd, void* data, uint64_t size, uint64_t offset, const std::string& path) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::pread(fd, p, std::min<uint64_t>(size, 1u << 30), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw CheckpointError(fmt::format("{}: cannot read: {}", path, errno_text()));
    if (n == 0) throw CheckpointError(fmt::format("{}: file ended early (was it changed while being read?)", path));
    p += n;
    size -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

struct Entry {
  std::string name;
  const DType* dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

std::string describe_shape(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

uint64_t integer_at(const JsonValue& v, const std::string& where) {
  if (v.kind != JsonValue::Kind::number || !v.integer)
    throw CheckpointError(fmt::format("{} must be integers, found {}", where, to_string(v.kind)));
  if (v.negative) throw CheckpointError(fmt::format("{} must not be negative, found -{}", where, v.magnitude));
  return v.magnitude;
}

const JsonValue& member(const JsonValue& entry, const char* key, JsonValue::Kind kind, const std::string& where) {
  const JsonValue* v = entry.find(key);
  if (!v) throw CheckpointError(fmt::format("{} has no \"{}\"", where, key));
  if (v->kind != kind)
    throw CheckpointError(
        fmt::format("{}: \"{}\" must be {}, found {}", where, key, to_string(kind), to_string(v->kind)));
  return *v;
}

Entry parse_entry(const std::string& name, const JsonValue& value, uint64_t data_size, const std::string& path) {
  const std::string where = fmt::format("{}: tensor '{}'", path, name);
  if (value.kind != JsonValue::Kind::object)
    throw CheckpointError(fmt::format("{} must be an object, found {}", where, to_string(value.kind)));
  for (const auto& [key, unused] : value.object)
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw CheckpointError(fmt::format("{} has unknown field \"{}\"", where, key));
  Entry e{name, nullptr, {}, 0, 0};
  const std::string& dtype = member(value, "dtype", JsonValue::Kind::string, where).string;
  e.dtype = find_dtype(dtype);
  if (!e.dtype)
    throw CheckpointError(
        fmt::format("{} has unknown or unsupported dtype \"{}\" (supported: F64 F32 F16 BF16 I64 I32 "
                    "I16 I8 U8 BOOL)",
                    where, dtype));
  uint64_t elements = 1;
  bool overflow = false;
  for (const auto& dim : member(value, "shape", JsonValue::Kind::array, where).array) {
    const uint64_t d = integer_at(dim, where + ": shape entries");
    if (d > static_cast<uint64_t>(INT64_MAX)) overflow = true;
    overflow |= __builtin_mul_overflow(elements, d, &elements);
    e.shape.push_back(static_cast<int64_t>(d));
  }
  const auto& offsets = member(value, "data_offsets", JsonValue::Kind::array, where).array;
  if (offsets.size() != 2)
    throw CheckpointError(
        fmt::format("{}: \"data_offsets\" must be [begin, end], found {} numbers", where, offsets.size()));
  e.begin = integer_at(offsets[0], where + ": data_offsets");
  e.end = integer_at(offsets[1], where + ": data_offsets");
  const uint64_t element_size = c10::elementSize(e.dtype->type);
  uint64_t needed = 0;
  overflow |= __builtin_mul_overflow(elements, element_size, &needed);
  if (overflow)
    throw CheckpointError(fmt::format("{} has shape {} whose size overflows", where, describe_shape(e.shape)));
  if (e.begin > e.end)
    throw CheckpointError(
        fmt::format("{} has data_offsets [{}, {}] whose begin is after its end", where, e.begin, e.end));
  if (e.end > data_size)
    throw CheckpointError(fmt::format("{} has data_offsets [{}, {}] beyond the data buffer of {} bytes", where, e.begin,
                                      e.end, data_size));
  if (e.end - e.begin != needed)
    throw CheckpointError(fmt::format("{} has data_offsets [{}, {}] but shape {} of {} needs {} bytes", where, e.begin,
                                      e.end, describe_shape(e.shape), e.dtype->name, needed));
  return e;
}

// The byte ranges must tile [0, data_size) exactly: no gap, no overlap, nothing left over.
void check_tiling(std::vector<const Entry*> entries, uint64_t data_size, const std::string& path) {
  std::stable_sort(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry* e : entries) {
    if (e->begin < covered)
      throw CheckpointError(fmt::format("{}: tensor '{}' data_offsets [{}, {}] overlap tensor '{}' [{}, {}]", path,
                                        e->name, e->begin, e->end, previous->name, previous->begin, previous->end));
    if (e->begin > covered)
      throw CheckpointError(
          fmt::format("{}: bytes [{}, {}) of the data buffer belong to no tensor (before tensor '{}')", path, covered,
                      e->begin, e->name));
    covered = e->end;
    previous = e;
  }
  if (covered != data_size)
    throw CheckpointError(fmt::format("{}: bytes [{}, {}) of the data buffer belong to no tensor (trailing data)", path,
                                      covered, data_size));
}

std::vector<Entry> parse_header(const JsonValue& root, uint64_t data_size, const std::string& path,
                                std::map<std::string, std::string>* metadata) {
  if (root.kind != JsonValue::Kind::object)
    throw CheckpointError(fmt::format("{}: header must be a JSON object, found {}", path, to_string(root.kind)));
  std::vector<Entry> entries;
  for (const auto& [name, value] : root.object) {
    if (name != "__metadata__") {
      entries.push_back(parse_entry(name, value, data_size, path));
      continue;
    }
    if (value.kind != JsonValue::Kind::object)
      throw CheckpointError(fmt::format("{}: __metadata__ must be an object, found {}", path, to_string(value.kind)));
    for (const auto& [key, v] : value.object) {
      if (v.kind != JsonValue::Kind::string)
        throw CheckpointError(
            fmt::format("{}: __metadata__ '{}' must be a string, found {}", path, key, to_string(v.kind)));
      if (metadata) (*metadata)[key] = v.string;
    }
  }
  std::vector<const Entry*> pointers;
  for (const auto& e : entries) pointers.push_back(&e);
  check_tiling(std::move(pointers), data_size, path);
  return entries;
}

}  // namespace

void write_safetensors(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata,
                       const std::string& path, Env& env) {
  const std::size_t slash = path.rfind('/');
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") throw CheckpointError(fmt::format("{}: not a file name", path));
  const std::string header = build_header(tensors, metadata, path);

  // Temporary next to `path`, fsynced, renamed into place and the folder fsynced; the destructor
  // removes the temporary if anything below throws.
  AtomicFile file(path, env, "safetensors file");
  uint8_t length[8];
  encode_le(length, header.size(), 8);
  file.write(length, 8);
  file.write(header.data(), header.size());
  for (const auto& [name, tensor] : tensors) write_tensor(file, name, tensor);
  file.commit();
}

NamedTensors read_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  std::string why;
  uint64_t file_size = 0;
  Fd fd(open_regular_file(path, why, &file_size));
  if (fd.get() < 0) throw CheckpointError(fmt::format("{} {}", path, why));
  if (file_size < 8)
    throw CheckpointError(
        fmt::format("{}: truncated: {} bytes, but a safetensors file starts with an 8-byte header "
                    "length",
                    path, file_size));
  uint8_t length[8];
  read_exact(fd.get(), length, 8, 0, path);
  const uint64_t header_size = decode_fixed64(length);
  if (header_size > kMaxHeaderBytes)
    throw CheckpointError(
        fmt::format("{}: header length {} exceeds the limit of {} bytes", path, header_size, kMaxHeaderBytes));
  if (header_size > file_size - 8)
    throw CheckpointError(fmt::format("{}: header length {} exceeds the {} bytes that follow it (truncated file?)",
                                      path, header_size, file_size - 8));
  std::string header(header_size, '\0');
  read_exact(fd.get(), header.data(), header_size, 8, path);

  std::map<std::string, std::string> found_metadata;
  const uint64_t data_start = 8 + header_size;
  JsonValue root;
  try {
    // Sizes and offsets must be exact: integers only.
    root = parse_json(header, path + " header", JsonReadOptions().integers_only(true));
  } catch (const JsonError& e) {
    throw CheckpointError(e.what());
  }
  const auto entries = parse_header(root, file_size - data_start, path, &found_metadata);

  NamedTensors tensors;
  tensors.reserve(entries.size());
  for (const auto& e : entries) {
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.dtype->type));
    if (e.end > e.begin) read_exact(fd.get(), t.data_ptr(), e.end - e.begin, data_start + e.begin, path);
    tensors.emplace_back(e.name, std::move(t));
  }
  if (metadata) *metadata = std::move(found_metadata);
  return tensors;
}

}  // namespace tempo
