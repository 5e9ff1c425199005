// Turns the `device` option into a c10::Device: "cpu", "cuda", "cuda:N", or "auto" (the first
// GPU when LibTorch has CUDA and one is present, else the CPU). Throws ConfigError for any
// other string and for a CUDA device this build or machine does not have.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace tempo {

c10::Device resolve_device(const std::string& name);

}  // namespace tempo
