#include "tempo/optim/flat_buffer.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <unordered_set>

#include "tempo/errors/error.h"

namespace tempo {
namespace {

// Each parameter starts on a 64-byte line, so no two parameters' vectors share a cache line.
constexpr int64_t kAlign = 16;

int64_t round_up(int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& sizes) {
  std::vector<int64_t> strides(sizes.size(), 1);
  for (size_t d = sizes.size(); d-- > 1;) strides[d - 1] = strides[d] * std::max<int64_t>(sizes[d], 1);
  return strides;
}

}  // namespace

FlatBuffers::FlatBuffers(size_t num_state) : buffers_(2 + num_state) {}

std::string FlatBuffers::why_not(const std::vector<torch::optim::OptimizerParamGroup>& groups) const {
  const c10::StorageImpl* own = buffers_[kParams].defined() ? buffers_[kParams].storage().unsafeGetStorageImpl() : nullptr;
  std::unordered_set<const c10::TensorImpl*> seen;
  for (const auto& group : groups) {
    for (const auto& p : group.params()) {
      if (!p.defined()) return "a parameter is undefined";
      if (p.layout() != at::kStrided) return "a parameter is sparse";
      if (!p.device().is_cpu()) return fmt::format("parameters on {}", p.device().str());
      if (p.scalar_type() != at::kFloat) return fmt::format("a parameter of type {}", c10::toString(p.scalar_type()));
      if (p.is_view()) return "a parameter is a view of another tensor";
      if (!seen.insert(p.unsafeGetTensorImpl()).second) return "a parameter is listed twice";
      // Its memory held by another tensor too (a tied weight, a view kept somewhere): moving the
      // parameter would silently untie them. Parameters already in this optimizer's buffer share
      // it by design.
      if (p.storage().unsafeGetStorageImpl() != own && p.storage().use_count() > 1) {
        return "a parameter shares its memory with another tensor";
      }
    }
  }
  return "";
}

bool FlatBuffers::bound(const std::vector<torch::optim::OptimizerParamGroup>& groups) const {
  if (!built_) return false;
  const c10::StorageImpl* own = buffers_[kParams].storage().unsafeGetStorageImpl();
  size_t i = 0;
  for (const auto& group : groups) {
    for (const auto& p : group.params()) {
      if (i == segments_.size()) return false;
      const auto& s = segments_[i++];
      if (p.unsafeGetTensorImpl() != s.param || !p.has_storage() || p.storage().unsafeGetStorageImpl() != own ||
          p.storage_offset() != s.offset || p.scalar_type() != at::kFloat || !p.sizes().equals(s.sizes) ||
          !p.is_contiguous()) {
        return false;
      }
    }
  }
  return i == segments_.size();
}

void FlatBuffers::build(const std::vector<torch::optim::OptimizerParamGroup>& groups) {
  std::vector<Segment> segments;
  int64_t total = 0;
  for (const auto& group : groups) {
    for (const auto& p : group.params()) {
      segments.push_back({p.unsafeGetTensorImpl(), total, p.numel(), p.sizes().vec()});
      total += round_up(p.numel());
    }
  }
  // Zeros, so the padding between parameters is defined (a checkpoint writes the whole storage).
  auto params = at::zeros({total}, at::kFloat);
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (const auto& group : groups) {
    for (auto p : group.params()) {
      const auto& s = segments[i++];
      params.narrow(0, s.offset, s.numel).view(s.sizes).copy_(p);
      p.set_(params.storage(), s.offset, s.sizes, contiguous_strides(s.sizes));
    }
  }
  segments_ = std::move(segments);
  total_ = total;
  for (auto& b : buffers_) b = at::Tensor();
  buffers_[kParams] = params;
  built_ = true;
}

at::Tensor& FlatBuffers::buffer(size_t k) {
  if (!buffers_[k].defined()) buffers_[k] = at::zeros({total_}, at::kFloat);
  return buffers_[k];
}

bool FlatBuffers::is_view(size_t k, size_t index, const at::Tensor& t) const {
  const auto& s = segments_[index];
  return buffers_[k].defined() && t.has_storage() &&
         t.storage().unsafeGetStorageImpl() == buffers_[k].storage().unsafeGetStorageImpl() &&
         t.storage_offset() == s.offset && t.scalar_type() == at::kFloat && t.sizes().equals(s.sizes) &&
         t.is_contiguous();
}

at::Tensor FlatBuffers::view(size_t k, size_t index) {
  const auto& s = segments_[index];
  const auto& b = buffer(k);
  return at::empty({0}, b.options()).set_(b.storage(), s.offset, s.sizes, contiguous_strides(s.sizes));
}

at::Tensor FlatBuffers::zeroed(size_t k, size_t index) {
  auto t = view(k, index);
  if (segments_[index].numel > 0) std::fill_n(data(k, index), segments_[index].numel, 0.0f);
  return t;
}

float* FlatBuffers::data(size_t k, size_t index) const {
  return buffers_[k].data_ptr<float>() + segments_[index].offset;
}

float* FlatBuffers::adopt_grad(size_t index, const at::Tensor& param) {
  auto& grad = param.mutable_grad();
  if (!grad.defined()) return nullptr;
  if (is_view(kGrads, index, grad)) return data(kGrads, index);
  if (grad.is_sparse()) {
    throw Error("fused optimizer: sparse gradients are not supported; use the plain optimizer (fused: false)");
  }
  if (!grad.sizes().equals(segments_[index].sizes)) {
    throw Error(fmt::format("fused optimizer: a gradient of shape {} for a parameter of shape {}", c10::str(grad.sizes()),
                            c10::str(c10::IntArrayRef(segments_[index].sizes))));
  }
  if (grad.is_view() && grad.is_contiguous() && grad.scalar_type() == at::kFloat && grad.device().is_cpu()) {
    return grad.data_ptr<float>();  // a DDP bucket's view, already where the Reducer averaged it
  }
  torch::NoGradGuard no_grad;
  auto own = view(kGrads, index);
  own.copy_(grad);
  grad = own;
  ++copies_;
  return data(kGrads, index);
}

void FlatBuffers::adopt(size_t k, size_t index, at::Tensor& state) {
  if (state.defined() && is_view(k, index, state)) return;
  if (!state.defined()) {
    state = zeroed(k, index);
    return;
  }
  if (state.numel() != segments_[index].numel) {
    throw Error(fmt::format("fused optimizer: a state tensor of shape {} for a parameter of shape {}", c10::str(state.sizes()),
                            c10::str(c10::IntArrayRef(segments_[index].sizes))));
  }
  torch::NoGradGuard no_grad;
  auto own = view(k, index);
  own.copy_(state.reshape(segments_[index].sizes));
  state = own;
  ++copies_;
}

std::string FusedOptimizer::fallback_reason() const {
  return flat_.bound(self_.param_groups()) ? std::string() : flat_.why_not(self_.param_groups());
}

bool FusedOptimizer::prepare() {
  const auto& groups = self_.param_groups();
  if (flat_.bound(groups)) return true;
  if (!flat_.why_not(groups).empty()) return false;
  flat_.build(groups);
  return true;
}

at::Tensor& FlatBuffers::scratch(size_t slot) {
  if (scratch_.size() <= slot) scratch_.resize(slot + 1);
  at::Tensor& t = scratch_[slot];
  if (!t.defined() || t.numel() != total_) t = at::empty({total_}, at::kFloat);
  return t;
}

}  // namespace tempo
