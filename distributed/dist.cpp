#include "tempo/distributed/dist.h"

#include <torch/torch.h>

#include <iostream>
#include <mutex>

namespace tempo::dist {
namespace {

std::mutex& mutex() {
  static std::mutex m;
  return m;
}
std::shared_ptr<Communicator>& current() {
  static std::shared_ptr<Communicator> comm;
  return comm;
}
bool& trigger() {
  static bool set = false;
  return set;
}

}  // namespace

std::shared_ptr<Communicator> initialize(double timeout_seconds) {
  std::lock_guard<std::mutex> lock(mutex());
  if (current()) return current();
  const auto env = LaunchEnv::from_environment();
  if (!env) return nullptr;
  current() = Communicator::join(*env, timeout_seconds);
  return current();
}

std::shared_ptr<Communicator> communicator() {
  std::lock_guard<std::mutex> lock(mutex());
  return current();
}

void reset() {
  std::lock_guard<std::mutex> lock(mutex());
  current().reset();
}

int64_t world_size() {
  const auto comm = communicator();
  return comm ? comm->world_size() : 1;
}
int64_t rank() {
  const auto comm = communicator();
  return comm ? comm->rank() : 0;
}
int64_t local_rank() {
  const auto comm = communicator();
  return comm ? comm->local_rank() : 0;
}
int64_t local_world_size() {
  const auto comm = communicator();
  return comm ? comm->local_world_size() : 1;
}
int64_t node_rank() {
  const auto comm = communicator();
  return comm ? comm->node_rank() : 0;
}
bool is_main_process() { return rank() == 0; }
bool is_local_main_process() { return local_rank() == 0; }

void barrier() {
  if (const auto comm = communicator()) comm->barrier("dist::barrier");
}

void broadcast(at::Tensor& tensor, int64_t root) {
  if (const auto comm = communicator()) {
    std::vector<at::Tensor> one{tensor};
    comm->broadcast(one, root, "dist::broadcast");
  }
}

void all_reduce(at::Tensor& tensor, ReduceOp op) {
  if (const auto comm = communicator()) comm->all_reduce(tensor, op, "dist::all_reduce");
}

std::vector<at::Tensor> all_gather(const at::Tensor& tensor) {
  if (const auto comm = communicator()) return comm->all_gather(tensor, "dist::all_gather");
  return {tensor.clone()};
}

std::vector<std::string> all_gather_bytes(const std::string& bytes) {
  if (const auto comm = communicator()) return comm->all_gather_bytes(bytes, "dist::all_gather_bytes");
  return {bytes};
}

std::string broadcast_bytes(const std::string& bytes, int64_t root) {
  if (const auto comm = communicator()) return comm->broadcast_bytes(bytes, root, "dist::broadcast_bytes");
  return bytes;
}

MainProcessFirst::MainProcessFirst(bool local) : main_(local ? is_local_main_process() : is_main_process()) {
  if (!main_) barrier();  // wait for the main process to leave its scope
}

MainProcessFirst::~MainProcessFirst() noexcept(false) {
  // An exception in the main process's scope leaves the others waiting until dist_timeout, which
  // then names this rank; a second exception here must not terminate the process.
  if (main_ && std::uncaught_exceptions() == 0) barrier();
}

void set_trigger() {
  std::lock_guard<std::mutex> lock(mutex());
  trigger() = true;
}

bool check_trigger() {
  bool mine;
  {
    std::lock_guard<std::mutex> lock(mutex());
    mine = trigger();
    trigger() = false;
  }
  auto flag = torch::tensor({mine ? int64_t{1} : int64_t{0}}, torch::kLong);
  if (const auto comm = communicator()) comm->all_reduce(flag, ReduceOp::MAX, "dist::check_trigger");
  return flag.item<int64_t>() != 0;
}

void print(const std::string& text, bool local) {
  if (local ? is_local_main_process() : is_main_process()) std::cout << text << std::endl;
}

}  // namespace tempo::dist
