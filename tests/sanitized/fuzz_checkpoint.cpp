// libFuzzer target: read_checkpoint over arbitrary bytes. The contract under test: any input
// either loads or throws tempo::CheckpointError. Any other exception (a c10::Error from LibTorch
// would mean unvalidated input reached it), a crash, a sanitizer report, a hang or an allocation
// beyond -malloc_limit_mb is a finding.
#include <cstddef>
#include <cstdint>

#include "tempo/errors/error.h"
#include "memory_file.h"
#include "tempo/serialization/checkpoint_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tempo::fuzz::MemoryFile file(data, size);
  try {
    tempo::read_checkpoint(file.path());
  } catch (const tempo::CheckpointError&) {
  }
  return 0;
}
