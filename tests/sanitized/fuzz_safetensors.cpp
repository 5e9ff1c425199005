// libFuzzer target: read_safetensors over arbitrary bytes (header length, strict JSON header,
// dtype/shape/offset checks, tensor reads). Loads or throws tempo::CheckpointError; anything
// else is a finding.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "tempo/errors/error.h"
#include "memory_file.h"
#include "tempo/serialization/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tempo::fuzz::MemoryFile file(data, size);
  try {
    std::map<std::string, std::string> metadata;
    tempo::read_safetensors(file.path(), &metadata);
  } catch (const tempo::CheckpointError&) {
  }
  return 0;
}
