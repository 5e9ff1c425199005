#include "tempo/distributed/launch_env.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>

#include "tempo/errors/error.h"

namespace tempo {
namespace {

// The variable as an integer in [low, high], or ConfigError naming it.
int64_t read_int(const char* name, const char* text, int64_t low, int64_t high, const std::string& expected) {
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno != 0 || value < low || value > high) {
    throw ConfigError(fmt::format("environment variable {}='{}': expected {}", name, text, expected));
  }
  return value;
}

}  // namespace

std::optional<LaunchEnv> LaunchEnv::from_environment(const std::function<const char*(const char*)>& getenv_fn) {
  const auto get = [&](const char* name) -> const char* { return getenv_fn ? getenv_fn(name) : std::getenv(name); };
  const char* rank = get("RANK");
  const char* world = get("WORLD_SIZE");
  if (rank == nullptr && world == nullptr) return std::nullopt;
  if (rank == nullptr || world == nullptr) {
    throw ConfigError(fmt::format("environment variable {} is set but {} is not: a multi-process launch (torchrun, "
                                  "tempo train --nproc) sets both",
                                  rank ? "RANK" : "WORLD_SIZE", rank ? "WORLD_SIZE" : "RANK"));
  }
  LaunchEnv env;
  env.world_size = read_int("WORLD_SIZE", world, 1, 1 << 20, "a number of processes >= 1");
  env.rank = read_int("RANK", rank, 0, env.world_size - 1, fmt::format("a rank in 0..{} (WORLD_SIZE={})", env.world_size - 1, env.world_size));
  // A launcher that sets only RANK and WORLD_SIZE (a scheduler's own) runs one process per node.
  const char* local_world = get("LOCAL_WORLD_SIZE");
  env.local_world_size = local_world ? read_int("LOCAL_WORLD_SIZE", local_world, 1, env.world_size,
                                                fmt::format("1..{} (WORLD_SIZE)", env.world_size))
                                     : 1;
  const char* local_rank = get("LOCAL_RANK");
  env.local_rank = local_rank ? read_int("LOCAL_RANK", local_rank, 0, env.local_world_size - 1,
                                         fmt::format("a local rank in 0..{} (LOCAL_WORLD_SIZE={})",
                                                     env.local_world_size - 1, env.local_world_size))
                              : 0;
  const char* node = get("GROUP_RANK");
  const char* node_name = "GROUP_RANK";
  if (node == nullptr) {
    node = get("NODE_RANK");
    node_name = "NODE_RANK";
  }
  if (node != nullptr) env.node_rank = read_int(node_name, node, 0, env.world_size - 1, "a node rank >= 0");
  if (env.world_size > 1) {
    const char* addr = get("MASTER_ADDR");
    const char* port = get("MASTER_PORT");
    if (addr == nullptr || *addr == '\0' || port == nullptr) {
      throw ConfigError(fmt::format("WORLD_SIZE={} but {} is not set: the ranks meet at MASTER_ADDR:MASTER_PORT "
                                    "(torchrun and tempo train --nproc set both)",
                                    env.world_size, addr == nullptr || *addr == '\0' ? "MASTER_ADDR" : "MASTER_PORT"));
    }
    env.master_addr = addr;
    env.master_port = read_int("MASTER_PORT", port, 1, 65535, "a TCP port in 1..65535");
  }
  if (const char* restarts = get("TORCHELASTIC_RESTART_COUNT")) {
    env.restart_count = read_int("TORCHELASTIC_RESTART_COUNT", restarts, 0, INT32_MAX, "a count >= 0");
  }
  if (const char* agent = get("TORCHELASTIC_USE_AGENT_STORE")) {
    env.use_agent_store = std::string(agent) == "True" || std::string(agent) == "true" || std::string(agent) == "1";
  }
  return env;
}

std::string LaunchEnv::describe() const {
  return fmt::format("rank {} of {} (local {} of {}, node {}), store {}:{}", rank, world_size, local_rank,
                     local_world_size, node_rank, master_addr, master_port);
}

}  // namespace tempo
