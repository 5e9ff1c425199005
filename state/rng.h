// The random generators a run draws from, captured and restored so a resumed run draws the same
// numbers as an uninterrupted one. The tree is one rank's dict in the shape of Composer's
// checkpoint "rng" list entries: {"torch": ByteTensor (the same bytes as Python's
// torch.get_rng_state()), "cuda": [ByteTensor per device] when CUDA is in use}. tempo's data
// sampler is a pure function of (seed, epoch, position), so it needs no generator state.
#pragma once

#include <ATen/core/ivalue.h>

#include <cstdint>

namespace tempo {

// Seeds every generator tempo and LibTorch use (CPU, and each CUDA device when present).
void seed_all(uint64_t seed);

c10::IValue rng_state_dict();
// Throws CheckpointError when the tree is not one rng_state_dict() could have produced.
void load_rng_state_dict(const c10::IValue& rng);

}  // namespace tempo
