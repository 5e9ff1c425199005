// The c10d objects behind a Communicator, for the .cpp files of distributed/ that run their own
// work on the group (data_parallel.cpp). Not installed: c10d's headers stay out of the public ones.
#pragma once

#include <torch/version.h>

#if TORCH_VERSION_MAJOR >= 2
#define TEMPO_HAS_C10D 1
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#endif

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tempo/distributed/communicator.h"

namespace tempo {

struct Communicator::Impl {
#ifdef TEMPO_HAS_C10D
  c10::intrusive_ptr<c10d::Store> store;            // the run's store, under this attempt's prefix
  c10::intrusive_ptr<c10d::Store> heartbeat_store;  // a second client with a short timeout
  c10::intrusive_ptr<c10d::ProcessGroup> group;
#endif
  std::thread heartbeat;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
};

}  // namespace tempo
