// Cross-process helpers for callbacks and user code, Accelerate's and composer.utils.dist's:
// where this process stands, and the collectives between ranks. They act on the process's
// communicator, set once when the run starts (dist::initialize, which the Trainer calls; like
// torch.distributed's default process group, the one piece of process-wide state here). In a
// single process every helper works as the identity (world_size 1, rank 0, barrier returns...).
//
// Collectives must be called by every rank in the same order; each throws DistributedError when a
// peer died or stopped answering within dist_timeout (distributed/communicator.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "tempo/distributed/communicator.h"

namespace tempo::dist {

// Composer's default dist_timeout, in seconds.
constexpr double kDefaultTimeoutSeconds = 300.0;

// Joins the group the environment describes (torchrun's RANK, WORLD_SIZE, MASTER_ADDR...,
// distributed/launch_env.h), once per process; later calls return the same communicator.
// Returns null in a single process (no RANK/WORLD_SIZE). Throws what Communicator::join throws.
std::shared_ptr<Communicator> initialize(double timeout_seconds = kDefaultTimeoutSeconds);
// The process's communicator; null in a single process.
std::shared_ptr<Communicator> communicator();
// Forgets the communicator (tests; a later initialize() joins again).
void reset();

int64_t world_size();
int64_t rank();
int64_t local_rank();
int64_t local_world_size();
int64_t node_rank();
bool is_main_process();        // rank 0
bool is_local_main_process();  // local rank 0

// Accelerate's wait_for_everyone.
void barrier();
// Rank `root`'s tensor into every rank's, in place.
void broadcast(at::Tensor& tensor, int64_t root = 0);
void all_reduce(at::Tensor& tensor, ReduceOp op = ReduceOp::SUM);
// Every rank's tensor (same shape everywhere), in rank order.
std::vector<at::Tensor> all_gather(const at::Tensor& tensor);
// Every rank's bytes (any lengths), in rank order: small objects, serialized by the caller.
std::vector<std::string> all_gather_bytes(const std::string& bytes);
std::string broadcast_bytes(const std::string& bytes, int64_t root = 0);

// Accelerate's main_process_first: the main process runs the scope first (preparing a data set,
// say), the others once it has left it. Construct on every rank.
class MainProcessFirst {
 public:
  explicit MainProcessFirst(bool local = false);
  ~MainProcessFirst() noexcept(false);
  MainProcessFirst(const MainProcessFirst&) = delete;
  MainProcessFirst& operator=(const MainProcessFirst&) = delete;

 private:
  bool main_;
};

// Accelerate's set_trigger / check_trigger: any rank sets it; check_trigger(), called by every
// rank at the same point, is true on all of them when any rank set it since the last check (and
// clears it), so all stop at the same batch.
void set_trigger();
bool check_trigger();

// Accelerate's print: only the main process (or, with local, each node's local main) prints,
// to stdout, with a newline.
void print(const std::string& text, bool local = false);

}  // namespace tempo::dist
