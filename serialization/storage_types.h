// The dtypes a checkpoint can hold and the Python storage class that names each one in the pickle
// ("torch.FloatStorage" for float32, ...), as torch.save writes them. Shared by the pickle writer
// and reader so both agree on the table. Nothing here throws.
#pragma once

#include <c10/core/ScalarType.h>

#include <optional>
#include <string_view>

namespace tempo {

// "FloatStorage" for kFloat, ...; nullptr for a dtype checkpoints do not support.
const char* storage_type_name(c10::ScalarType dtype);
// The inverse: kFloat for "FloatStorage"; nullopt for any other name.
std::optional<c10::ScalarType> storage_type_dtype(std::string_view name);

}  // namespace tempo
