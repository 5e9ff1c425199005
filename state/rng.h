// The random generators a run draws from, captured and restored so a resumed run draws the same
// numbers as an uninterrupted one. The tree is one rank's entry of Composer's checkpoint "rng"
// list: {"torch": ByteTensor (the same bytes as Python's torch.get_rng_state()), "cuda":
// [ByteTensor per device] when CUDA is in use, "python": random.getstate()'s tuple, "numpy":
// np.random.get_state()'s tuple}. tempo's data sampler is a pure function of (seed, epoch,
// position), so it needs no generator state; tempo draws nothing from Python's or NumPy's
// generators either, and records them as Composer's seed_all(seed) leaves them, since Composer's
// resume restores all three (a file without them fails its fit() with KeyError 'python').
#pragma once

#include <ATen/core/ivalue.h>

#include <cstdint>

namespace tempo {

// Seeds every generator tempo and LibTorch use (CPU, and each CUDA device when present).
void seed_all(uint64_t seed);

// `seed` is the rank's seed, Composer's rank_zero_seed + rank; Python's and NumPy's states are those
// of random.seed(s) and np.random.seed(s) for s = seed mod 2^32 (Composer's seeds are 32-bit).
c10::IValue rng_state_dict(uint64_t seed);
// Restores the torch (and CUDA) generators; "python" and "numpy" are not read.
// Throws CheckpointError when the tree is not one rng_state_dict() could have produced.
void load_rng_state_dict(const c10::IValue& rng);

}  // namespace tempo
