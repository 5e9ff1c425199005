// Communicator: this process's place in a multi-process run, and the collectives tempo and user
// code run between the ranks. The engine is PyTorch's own c10d: a TCPStore rendezvous at
// MASTER_ADDR:MASTER_PORT (hosted by rank 0, or by torchrun's agent, see LaunchEnv) and one Gloo
// process group for the run (the backend torch.distributed uses on CPU), bounded by
// dist_timeout. The data-parallel engine (distributed/data_parallel.h) runs c10d's Reducer on the
// same group.
//
// Every collective must be called by every rank in the same order (c10d's rule); `what` names it
// in errors. A collective that fails (a peer died: the connection closes; a peer hangs or is
// stopped: Gloo's timeout) throws DistributedError naming the collective, this rank, and which
// peers stopped answering: each rank's heartbeat thread stamps the store once a second, so a
// rank whose stamp is old is named as stopped or hung and one that is gone as such.
//
// Requires: LibTorch 2.x with c10d and Gloo (the torch wheel's); with 1.13, join() throws
// ConfigError saying so.
// Throws: ConfigError from join() for a bad environment; DistributedError from join() when the
// ranks do not all arrive within the timeout, and from every collective as above.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "tempo/distributed/launch_env.h"

namespace tempo {

enum class ReduceOp { SUM, MEAN, MAX, MIN };

class Communicator {
 public:
  struct Impl;  // the c10d objects (distributed/communicator_impl.h)

  // Joins the group `env` describes, waiting up to timeout_seconds (Composer's dist_timeout) for
  // every rank to arrive.
  static std::shared_ptr<Communicator> join(const LaunchEnv& env, double timeout_seconds);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  const LaunchEnv& env() const { return env_; }
  int64_t rank() const { return env_.rank; }
  int64_t world_size() const { return env_.world_size; }
  int64_t local_rank() const { return env_.local_rank; }
  int64_t local_world_size() const { return env_.local_world_size; }
  int64_t node_rank() const { return env_.node_rank; }
  double timeout_seconds() const { return timeout_seconds_; }

  // Waits until every rank called it.
  void barrier(const std::string& what);
  // Rank `root`'s tensors into every rank's, in place (same shapes and types everywhere).
  void broadcast(std::vector<at::Tensor>& tensors, int64_t root, const std::string& what);
  // Reduces across ranks, in place. MEAN is SUM divided by world_size (floating tensors only).
  void all_reduce(at::Tensor& tensor, ReduceOp op, const std::string& what);
  // Every rank's tensor, in rank order (same shape and type on every rank).
  std::vector<at::Tensor> all_gather(const at::Tensor& tensor, const std::string& what);
  // Every rank's bytes, in rank order; lengths may differ.
  std::vector<std::string> all_gather_bytes(const std::string& bytes, const std::string& what);
  // Rank `root`'s bytes on every rank.
  std::string broadcast_bytes(const std::string& bytes, int64_t root, const std::string& what);

  // The DistributedError for a collective `what` that threw `cause`: names this rank and the
  // peers that stopped answering. Used by the engine for the work it runs on the group itself.
  [[noreturn]] void fail(const std::string& what, const std::exception& cause) const;
  // "rank 1 stopped answering 12.0 s ago (stopped or hung)", or "" when every peer is alive.
  std::string diagnose_peers() const;

  Impl& impl() const { return *impl_; }

 private:
  Communicator(LaunchEnv env, double timeout_seconds);

  LaunchEnv env_;
  double timeout_seconds_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tempo
