#include "tempo/distributed/data_parallel.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <unordered_map>

#include "tempo/distributed/communicator_impl.h"
#include "tempo/errors/error.h"

#ifdef TEMPO_HAS_C10D
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#endif

namespace tempo {

#ifndef TEMPO_HAS_C10D

namespace c10d_missing {
[[noreturn]] void fail() { throw ConfigError("DataParallel needs LibTorch 2.x's c10d (build with TEMPO_TORCH=wheel)"); }
}  // namespace c10d_missing

}  // namespace tempo
namespace c10d {
class Reducer {};
}  // namespace c10d
namespace tempo {

DataParallel::DataParallel(std::shared_ptr<Communicator>, std::vector<at::Tensor>, std::vector<std::string>,
                           std::vector<at::Tensor>, DataParallelOptions) {
  c10d_missing::fail();
}
DataParallel::~DataParallel() = default;
void DataParallel::sync_module_states() {}
void DataParallel::before_forward() {}
void DataParallel::arm(bool) {}

#else

namespace {
// DDP's broadcast bucket for module states (torch.nn.parallel.distributed's 250 MB).
constexpr size_t kBroadcastBucketBytes = 250 * 1024 * 1024;
}  // namespace

DataParallel::DataParallel(std::shared_ptr<Communicator> comm, std::vector<at::Tensor> parameters,
                           std::vector<std::string> names, std::vector<at::Tensor> buffers, DataParallelOptions options)
    : comm_(std::move(comm)), parameters_(std::move(parameters)), buffers_(std::move(buffers)), options_(options) {
  if (!comm_) throw ConfigError("DataParallel: the communicator is null");
  if (options_.bucket_cap_mb() < 1) {
    throw ConfigError(fmt::format("DataParallel: bucket_cap_mb must be >= 1, got {}", options_.bucket_cap_mb()));
  }
  if (parameters_.empty()) throw ConfigError("DataParallel: the model has no parameters to train");
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (!parameters_[i].requires_grad() || !parameters_[i].is_leaf()) {
      throw ConfigError(fmt::format("DataParallel: parameter '{}' must be a leaf tensor that requires grad",
                                    i < names.size() ? names[i] : std::to_string(i)));
    }
  }
  auto& group = comm_->impl().group;
  try {
    // Every rank must hold the same parameters: a different model would hang or diverge silently.
    c10d::verify_params_across_processes(group, parameters_, std::nullopt);
  } catch (const std::exception& e) {
    const std::string text = e.what();
    if (text.find("DDP expects same model across all ranks") != std::string::npos ||
        text.find("ranks") != std::string::npos) {
      throw DistributedError(fmt::format("{}: the ranks' models differ ({} parameters here): {}", comm_->env().describe(),
                                         parameters_.size(), text.substr(0, text.find('\n'))));
    }
    comm_->fail("checking that every rank has the same model", e);
  }
  sync_module_states();

  const int64_t cap = options_.bucket_cap_mb() * 1024 * 1024;
  const std::vector<size_t> limits{static_cast<size_t>(c10d::kDefaultFirstBucketBytes), static_cast<size_t>(cap)};
  auto buckets = std::get<0>(c10d::compute_bucket_assignment_by_size(parameters_, limits));
  // Gradients come in roughly the reverse order of the parameters: so are the buckets (as DDP).
  std::reverse(buckets.begin(), buckets.end());
  num_buckets_ = buckets.size();
  std::unordered_map<size_t, std::string> param_names;
  for (size_t i = 0; i < names.size() && i < parameters_.size(); ++i) param_names[i] = names[i];
  reducer_ = std::make_unique<c10d::Reducer>(parameters_, std::move(buckets), group,
                                             std::vector<bool>(parameters_.size(), false), cap,
                                             /*find_unused_parameters=*/false, options_.gradient_as_bucket_view(),
                                             std::move(param_names), c10d::kDefaultFirstBucketBytes,
                                             /*skip_all_reduce_unused_params=*/false, /*use_python_reducer=*/false,
                                             std::vector<int64_t>{});
}

DataParallel::~DataParallel() = default;

void DataParallel::sync_module_states() {
  std::vector<at::Tensor> states;
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : parameters_) states.push_back(p.detach());
    for (const auto& b : buffers_) states.push_back(b.detach());
  }
  try {
    torch::NoGradGuard no_grad;
    c10d::broadcast_coalesced(comm_->impl().group, states, kBroadcastBucketBytes, 0);
  } catch (const DistributedError&) {
    throw;
  } catch (const std::exception& e) {
    comm_->fail("broadcasting rank 0's parameters and buffers", e);
  }
}

void DataParallel::before_forward() {
  if (!options_.broadcast_buffers() || buffers_.empty()) return;
  std::vector<at::Tensor> states;
  for (const auto& b : buffers_) states.push_back(b.detach());
  try {
    torch::NoGradGuard no_grad;
    c10d::broadcast_coalesced(comm_->impl().group, states, kBroadcastBucketBytes, 0);
  } catch (const std::exception& e) {
    comm_->fail("broadcasting rank 0's buffers", e);
  }
}

void DataParallel::arm(bool sync) {
  if (!sync) return;
  // DDP's order: rebuilt buckets (after the first step, in the order gradients really came), then
  // the reducer armed for this backward.
  try {
    reducer_->rebuild_buckets();
    reducer_->prepare_for_forward();
    reducer_->prepare_for_backward({});
  } catch (const std::exception& e) {
    comm_->fail("preparing the gradient all-reduce", e);
  }
}

#endif

}  // namespace tempo
