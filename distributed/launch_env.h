// Where this process stands in a multi-process run, as torchrun (and `tempo train --nproc`) tell
// it through the environment: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK (the
// node), MASTER_ADDR, MASTER_PORT, and torchrun's TORCHELASTIC_RESTART_COUNT and
// TORCHELASTIC_USE_AGENT_STORE (torchrun's agent already hosts the TCPStore: every rank connects
// to it as a client, under the prefix of the restart attempt, as torch.distributed does).
// Torch-free, so it is tested without LibTorch.
//
// Ensures: from_environment() is empty when neither RANK nor WORLD_SIZE is set (a single-process
// run); otherwise every field is checked: 0 <= rank < world_size, 0 <= local_rank <
// local_world_size <= world_size, a port in 1..65535.
// Throws: ConfigError naming the variable, its value and what was expected, when one is missing or
// malformed (RANK without WORLD_SIZE, "two", RANK=2 with WORLD_SIZE=2 ...).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace tempo {

struct LaunchEnv {
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;
  int64_t local_world_size = 1;
  int64_t node_rank = 0;  // GROUP_RANK (torchrun), else NODE_RANK, else 0
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  int64_t restart_count = 0;     // TORCHELASTIC_RESTART_COUNT
  bool use_agent_store = false;  // TORCHELASTIC_USE_AGENT_STORE=True

  // Reads the process's environment; `getenv` stands in for it in tests (returns null for unset).
  static std::optional<LaunchEnv> from_environment(
      const std::function<const char*(const char*)>& getenv = nullptr);
  // "rank 1 of 2 (local 1 of 2, node 0), store 127.0.0.1:29500", for messages.
  std::string describe() const;
};

}  // namespace tempo
