#include "tempo/serialization/storage_types.h"

#include <array>
#include <utility>

namespace tempo {
namespace {

using Entry = std::pair<c10::ScalarType, const char*>;
constexpr std::array<Entry, 10> kStorageTypes{{
    {c10::ScalarType::Float, "FloatStorage"},
    {c10::ScalarType::Double, "DoubleStorage"},
    {c10::ScalarType::Half, "HalfStorage"},
    {c10::ScalarType::BFloat16, "BFloat16Storage"},
    {c10::ScalarType::Char, "CharStorage"},
    {c10::ScalarType::Short, "ShortStorage"},
    {c10::ScalarType::Int, "IntStorage"},
    {c10::ScalarType::Long, "LongStorage"},
    {c10::ScalarType::Byte, "ByteStorage"},
    {c10::ScalarType::Bool, "BoolStorage"},
}};

}  // namespace

const char* storage_type_name(c10::ScalarType dtype) {
  for (const auto& [type, name] : kStorageTypes)
    if (type == dtype) return name;
  return nullptr;
}

std::optional<c10::ScalarType> storage_type_dtype(std::string_view name) {
  for (const auto& [type, type_name] : kStorageTypes)
    if (name == type_name) return type;
  return std::nullopt;
}

}  // namespace tempo
