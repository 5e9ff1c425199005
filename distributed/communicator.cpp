#include "tempo/distributed/communicator.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cstring>

#include "tempo/distributed/communicator_impl.h"
#include "tempo/errors/error.h"

#ifdef TEMPO_HAS_C10D
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace tempo {
namespace {

using namespace std::chrono_literals;

// A heartbeat older than this names its rank as stopped: three missed beats.
constexpr double kStaleSeconds = 3.0;
constexpr auto kHeartbeatPeriod = 1s;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The first line of an exception's message, without LibTorch's backtrace.
std::string first_line(const std::exception& e) {
  std::string text = e.what();
  if (const auto* error = dynamic_cast<const c10::Error*>(&e)) text = error->what_without_backtrace();
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

}  // namespace

Communicator::Communicator(LaunchEnv env, double timeout_seconds)
    : env_(std::move(env)), timeout_seconds_(timeout_seconds), impl_(std::make_unique<Impl>()) {}

Communicator::~Communicator() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->heartbeat.joinable()) impl_->heartbeat.join();
}

#ifndef TEMPO_HAS_C10D

std::shared_ptr<Communicator> Communicator::join(const LaunchEnv& env, double) {
  throw ConfigError(fmt::format("{}: this tempo is built on LibTorch {}; training on several processes needs LibTorch "
                                "2.x's c10d (build with TEMPO_TORCH=wheel)",
                                env.describe(), TORCH_VERSION));
}
void Communicator::barrier(const std::string&) {}
void Communicator::broadcast(std::vector<at::Tensor>&, int64_t, const std::string&) {}
void Communicator::all_reduce(at::Tensor&, ReduceOp, const std::string&) {}
std::vector<at::Tensor> Communicator::all_gather(const at::Tensor& tensor, const std::string&) { return {tensor}; }
std::vector<std::string> Communicator::all_gather_bytes(const std::string& bytes, const std::string&) { return {bytes}; }
std::string Communicator::broadcast_bytes(const std::string& bytes, int64_t, const std::string&) { return bytes; }
void Communicator::fail(const std::string& what, const std::exception& cause) const {
  throw DistributedError(fmt::format("{}: {} failed: {}", env_.describe(), what, first_line(cause)));
}
std::string Communicator::diagnose_peers() const { return ""; }

#else

namespace {

template <typename Start>
void run_collective(const Communicator& comm, const std::string& what, Start&& start) {
  try {
    auto work = start();
    work->wait();
  } catch (const DistributedError&) {
    throw;
  } catch (const std::exception& e) {
    comm.fail(what, e);
  }
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const LaunchEnv& env) {
  // GLOO_SOCKET_IFNAME picks the interface, as it does for torch.distributed; a run on one machine
  // stays on the loopback interface whatever the host name resolves to.
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface != nullptr && *interface != '\0') {
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  }
  if (is_loopback(env.master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

c10d::ReduceOp to_c10d(ReduceOp op) {
  switch (op) {
    case ReduceOp::SUM:
    case ReduceOp::MEAN:
      return c10d::ReduceOp::SUM;
    case ReduceOp::MAX:
      return c10d::ReduceOp::MAX;
    case ReduceOp::MIN:
      return c10d::ReduceOp::MIN;
  }
  return c10d::ReduceOp::SUM;
}

}  // namespace

std::shared_ptr<Communicator> Communicator::join(const LaunchEnv& env, double timeout_seconds) {
  if (!(timeout_seconds > 0) || timeout_seconds > 1e7) {
    throw ConfigError(fmt::format("dist_timeout must be a number of seconds > 0, got {}", timeout_seconds));
  }
  std::shared_ptr<Communicator> comm(new Communicator(env, timeout_seconds));
  auto& impl = *comm->impl_;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000.0));
  const bool host = env.rank == 0 && !env.use_agent_store;
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(env.master_port);
    options.isServer = host;
    // Every rank names the world size (each client counts itself in); the host waits for all.
    if (!env.use_agent_store) options.numWorkers = static_cast<size_t>(env.world_size);
    options.waitWorkers = !env.use_agent_store;  // each rank counts itself in there (torch.distributed does so too)
    options.timeout = timeout;
    options.multiTenant = true;
    c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    // torchrun's agent keeps its store across restarts: each attempt works under its own prefix,
    // as torch.distributed's env:// rendezvous does, so keys of a failed attempt are never read.
    if (env.use_agent_store) {
      store = c10::make_intrusive<c10d::PrefixStore>(fmt::format("/worker/attempt_{}", env.restart_count), store);
    }
    impl.store = c10::make_intrusive<c10d::PrefixStore>("tempo", store);
    c10d::TCPStoreOptions beat_options = options;
    beat_options.isServer = false;
    beat_options.numWorkers = std::nullopt;
    beat_options.waitWorkers = false;
    beat_options.timeout = std::chrono::milliseconds(5000);
    c10::intrusive_ptr<c10d::Store> beat = c10::make_intrusive<c10d::TCPStore>(env.master_addr, beat_options);
    if (env.use_agent_store) {
      beat = c10::make_intrusive<c10d::PrefixStore>(fmt::format("/worker/attempt_{}", env.restart_count), beat);
    }
    impl.heartbeat_store = c10::make_intrusive<c10d::PrefixStore>("tempo", beat);

    auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
    gloo_options->devices.push_back(gloo_device(env));
    auto backend = c10::make_intrusive<c10d::ProcessGroupGloo>(
        c10::make_intrusive<c10d::PrefixStore>("gloo", impl.store), static_cast<int>(env.rank),
        static_cast<int>(env.world_size), gloo_options);
    impl.group = c10::make_intrusive<c10d::ProcessGroup>(impl.store, static_cast<int>(env.rank),
                                                         static_cast<int>(env.world_size));
    impl.group->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
    impl.group->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, backend);
    impl.group->setGroupName("tempo");
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw DistributedError(fmt::format(
        "{}: could not join the process group within dist_timeout ({} s): {}. Every rank must start with the same "
        "MASTER_ADDR, MASTER_PORT and WORLD_SIZE; {}",
        env.describe(), timeout_seconds, first_line(e),
        host ? "the other ranks did not all connect" : "rank 0 (or torchrun's agent) hosts the store at that address"));
  }
  // Each rank stamps the store once a second from its own thread; a rank stopped by a signal,
  // hung in a system call or dead stops stamping, which is how a failure names it.
  impl.heartbeat = std::thread([comm = comm.get()] {
    auto& impl = *comm->impl_;
    const std::string key = fmt::format("heartbeat/{}", comm->rank());
    std::unique_lock<std::mutex> lock(impl.mutex);
    while (!impl.stopping) {
      try {
        const std::string stamp = fmt::format("{:.3f}", now_seconds());
        impl.heartbeat_store->set(key, std::vector<uint8_t>(stamp.begin(), stamp.end()));
      } catch (const std::exception&) {
        // The store went away (rank 0 ended first, or failed): a collective will say so.
      }
      impl.wake.wait_for(lock, kHeartbeatPeriod, [&] { return impl.stopping; });
    }
  });
  return comm;
}

std::string Communicator::diagnose_peers() const {
  auto& impl = *impl_;
  std::vector<std::string> problems;
  std::lock_guard<std::mutex> lock(impl.mutex);
  try {
    for (int64_t r = 0; r < env_.world_size; ++r) {
      if (r == env_.rank) continue;
      const std::string key = fmt::format("heartbeat/{}", r);
      if (!impl.heartbeat_store->check({key})) {
        problems.push_back(fmt::format("rank {} never answered", r));
        continue;
      }
      const auto value = impl.heartbeat_store->get(key);
      const double age = now_seconds() - std::stod(std::string(value.begin(), value.end()));
      if (age > kStaleSeconds) {
        problems.push_back(fmt::format("rank {} stopped answering {:.1f} s ago (it died, hung or was stopped)", r, age));
      }
    }
  } catch (const std::exception&) {
    return fmt::format("the rendezvous store at {}:{} does not answer ({}: it is gone or stopped)", env_.master_addr,
                       env_.master_port, env_.use_agent_store ? "torchrun's agent hosts it" : "rank 0 hosts it");
  }
  std::string text;
  for (const auto& problem : problems) text += (text.empty() ? "" : "; ") + problem;
  return text;
}

void Communicator::fail(const std::string& what, const std::exception& cause) const {
  // A peer that just died still has a fresh stamp: wait for it to go stale before naming it.
  std::string peers;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::duration<double>(kStaleSeconds + 1.5);
  while ((peers = diagnose_peers()).empty() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(250ms);
  }
  throw DistributedError(fmt::format("{}: {} failed: {}. {}. dist_timeout is {} s", env_.describe(), what,
                                     first_line(cause),
                                     peers.empty() ? "Every other rank is still answering: see their errors" : peers,
                                     timeout_seconds_));
}

void Communicator::barrier(const std::string& what) {
  run_collective(*this, what, [&] { return impl_->group->barrier(); });
}

void Communicator::broadcast(std::vector<at::Tensor>& tensors, int64_t root, const std::string& what) {
  for (auto& tensor : tensors) {
    std::vector<at::Tensor> one{tensor.is_contiguous() ? tensor : tensor.contiguous()};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    run_collective(*this, what, [&] { return impl_->group->broadcast(one, options); });
    if (!one[0].is_same(tensor)) tensor.copy_(one[0]);
  }
}

void Communicator::all_reduce(at::Tensor& tensor, ReduceOp op, const std::string& what) {
  if (op == ReduceOp::MEAN && !tensor.is_floating_point()) {
    throw ConfigError(fmt::format("{}: a MEAN all-reduce needs a floating tensor, got {}", what,
                                  c10::toString(tensor.scalar_type())));
  }
  std::vector<at::Tensor> one{tensor.is_contiguous() ? tensor : tensor.contiguous()};
  c10d::AllreduceOptions options;
  options.reduceOp = to_c10d(op);
  run_collective(*this, what, [&] { return impl_->group->allreduce(one, options); });
  if (op == ReduceOp::MEAN) one[0].div_(static_cast<double>(env_.world_size));
  if (!one[0].is_same(tensor)) tensor.copy_(one[0]);
}

std::vector<at::Tensor> Communicator::all_gather(const at::Tensor& tensor, const std::string& what) {
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int64_t r = 0; r < env_.world_size; ++r) outputs[0].push_back(at::empty_like(tensor, at::MemoryFormat::Contiguous));
  std::vector<at::Tensor> inputs{tensor.contiguous()};
  run_collective(*this, what, [&] { return impl_->group->allgather(outputs, inputs); });
  return outputs[0];
}

std::vector<std::string> Communicator::all_gather_bytes(const std::string& bytes, const std::string& what) {
  const auto lengths = all_gather(torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kLong), what);
  int64_t longest = 0;
  for (const auto& length : lengths) longest = std::max(longest, length.item<int64_t>());
  auto buffer = torch::zeros({std::max<int64_t>(longest, 1)}, torch::kUInt8);
  std::memcpy(buffer.data_ptr(), bytes.data(), bytes.size());
  const auto gathered = all_gather(buffer, what);
  std::vector<std::string> result;
  for (size_t r = 0; r < gathered.size(); ++r) {
    result.emplace_back(static_cast<const char*>(gathered[r].data_ptr()), static_cast<size_t>(lengths[r].item<int64_t>()));
  }
  return result;
}

std::string Communicator::broadcast_bytes(const std::string& bytes, int64_t root, const std::string& what) {
  std::vector<at::Tensor> length{torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kLong)};
  broadcast(length, root, what);
  const int64_t n = length[0].item<int64_t>();
  std::vector<at::Tensor> buffer{torch::zeros({std::max<int64_t>(n, 1)}, torch::kUInt8)};
  if (env_.rank == root) std::memcpy(buffer[0].data_ptr(), bytes.data(), bytes.size());
  broadcast(buffer, root, what);
  return std::string(static_cast<const char*>(buffer[0].data_ptr()), static_cast<size_t>(n));
}

#endif

}  // namespace tempo
