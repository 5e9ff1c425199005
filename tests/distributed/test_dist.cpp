// The cross-process helpers (tempo::dist, Accelerate's) on two real ranks, and the reading of
// torchrun's environment. The two ranks are two more runs of this test binary, each running the
// skipped case "one rank of two" with torchrun's variables set.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <chrono>
#include <map>
#include <thread>

#include "ranks.h"
#include "tempo/distributed/data_parallel.h"
#include "tempo/distributed/dist.h"
#include "tempo/distributed/launch_env.h"
#include "tempo/errors/error.h"
#include "tempo/optim/flat_buffer.h"
#include "tempo/optim/fused_sgd.h"
#include "tempo/state/torch_compat.h"

using namespace tempo::testing;
namespace fs = std::filesystem;
namespace dist = tempo::dist;

namespace {

std::optional<tempo::LaunchEnv> env_of(const std::map<std::string, std::string>& vars) {
  return tempo::LaunchEnv::from_environment([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string error_of(const std::map<std::string, std::string>& vars) {
  try {
    env_of(vars);
  } catch (const tempo::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("distributed") {

TEST_CASE("torchrun's environment: absent is one process; present is read and checked") {
  CHECK(!env_of({}).has_value());
  const auto env = env_of({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"},
                           {"GROUP_RANK", "1"}, {"MASTER_ADDR", "10.0.0.7"}, {"MASTER_PORT", "29400"},
                           {"TORCHELASTIC_RESTART_COUNT", "2"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"}});
  REQUIRE(env.has_value());
  CHECK(env->rank == 3);
  CHECK(env->world_size == 4);
  CHECK(env->local_rank == 1);
  CHECK(env->local_world_size == 2);
  CHECK(env->node_rank == 1);
  CHECK(env->master_addr == "10.0.0.7");
  CHECK(env->master_port == 29400);
  CHECK(env->restart_count == 2);
  CHECK(env->use_agent_store);
  CHECK(env->describe() == "rank 3 of 4 (local 1 of 2, node 1), store 10.0.0.7:29400");
  // NODE_RANK (Composer's launcher, Lightning) when torchrun's GROUP_RANK is absent.
  const std::map<std::string, std::string> store = {{"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}};
  auto vars = store;
  vars.insert({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"NODE_RANK", "1"}, {"LOCAL_WORLD_SIZE", "1"}});
  CHECK(env_of(vars)->node_rank == 1);

  CHECK(error_of({{"RANK", "1"}}).find("WORLD_SIZE") != std::string::npos);
  CHECK(error_of({{"RANK", "two"}, {"WORLD_SIZE", "2"}}).find("RANK='two'") != std::string::npos);
  CHECK(error_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}}).find("RANK") != std::string::npos);
  CHECK(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "29500"}}).find("MASTER_ADDR is not set") != std::string::npos);
  CHECK(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}})
            .find("MASTER_PORT='70000': expected a TCP port") != std::string::npos);
}

// One rank of the two that the next case starts (skipped when the suite runs: it needs them).
TEST_CASE("one rank of two, for the helpers' case below" * doctest::skip()) {
  const fs::path shared = std::getenv("TEMPO_TEST_DIR");
  REQUIRE(dist::initialize(20.0) != nullptr);
  const int64_t rank = dist::rank();
  CHECK(rank == std::atoi(std::getenv("RANK")));
  CHECK(dist::world_size() == 2);
  CHECK(dist::local_rank() == rank);
  CHECK(dist::local_world_size() == 2);
  CHECK(dist::node_rank() == 0);
  CHECK(dist::is_main_process() == (rank == 0));
  CHECK(dist::is_local_main_process() == (rank == 0));
  dist::barrier();

  auto t = torch::full({3}, static_cast<float>(rank + 1));
  dist::broadcast(t, 1);
  CHECK(torch::equal(t, torch::full({3}, 2.0f)));

  // Rank 0 holds [1, 10], rank 1 [2, 20].
  const auto mine = [&] { return torch::tensor({1.0f, 10.0f}) * static_cast<float>(rank + 1); };
  const std::vector<std::pair<tempo::ReduceOp, std::vector<float>>> cases = {
      {tempo::ReduceOp::SUM, {3, 30}}, {tempo::ReduceOp::MEAN, {1.5, 15}}, {tempo::ReduceOp::MAX, {2, 20}},
      {tempo::ReduceOp::MIN, {1, 10}}};
  for (const auto& [op, expected] : cases) {
    auto x = mine();
    dist::all_reduce(x, op);
    CHECK(torch::equal(x, torch::tensor(expected)));
  }

  const auto gathered = dist::all_gather(torch::full({2}, static_cast<int64_t>(rank * 7)));
  REQUIRE(gathered.size() == 2);
  CHECK(gathered[0][1].item<int64_t>() == 0);
  CHECK(gathered[1][0].item<int64_t>() == 7);

  // Byte strings of different lengths, an empty one among them.
  const auto bytes = dist::all_gather_bytes(rank == 0 ? std::string() : std::string("b\0b", 3));
  REQUIRE(bytes.size() == 2);
  CHECK(bytes[0].empty());
  CHECK(bytes[1] == std::string("b\0b", 3));
  CHECK(dist::broadcast_bytes(rank == 0 ? "from rank 0" : "") == "from rank 0");

  {
    // Rank 0 prepares (slowly); rank 1 must find it done when its turn comes.
    dist::MainProcessFirst first;
    if (rank == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      write(shared / "prepared", "yes");
    } else {
      CHECK(read(shared / "prepared") == "yes");
    }
  }

  // Rank 1 asks; both see it at the same check, and it is cleared after.
  if (rank == 1) dist::set_trigger();
  CHECK(dist::check_trigger());
  CHECK(!dist::check_trigger());

  {
    // DDP with gradients as bucket views (the Trainer's way) and a fused optimizer: the gradients
    // are averaged, and the optimizer reads them in the buckets, copying none into its own buffer.
    torch::manual_seed(0);  // the same start on both ranks
    auto fused_weight = torch::randn({64, 8}).requires_grad_();
    auto plain_weight = fused_weight.detach().clone().requires_grad_();
    tempo::FusedSGD fused({fused_weight}, torch::optim::SGDOptions(0.1));
    torch::optim::SGD plain({plain_weight}, torch::optim::SGDOptions(0.1));
    REQUIRE(fused.prepare());  // before the Reducer, as the Trainer does
    const auto options = tempo::DataParallelOptions().gradient_as_bucket_view(true);
    tempo::DataParallel fused_ddp(dist::communicator(), {fused_weight}, {"w"}, {}, options);
    tempo::DataParallel plain_ddp(dist::communicator(), {plain_weight}, {"w"}, {}, options);
    const auto input = torch::full({4, 64}, static_cast<float>(rank + 1));  // different data per rank
    for (int step = 0; step < 3; ++step) {
      const std::vector<torch::optim::Optimizer*> optimizers{&fused, &plain};
      for (auto* optimizer : optimizers) {
        const bool is_fused = optimizer == optimizers[0];
        tempo::zero_grad_in_place(*optimizer);
        (is_fused ? fused_ddp : plain_ddp).arm(true);
        input.matmul(is_fused ? fused_weight : plain_weight).square().sum().backward();
        optimizer->step();
      }
    }
    CHECK(fused_weight.grad().is_view());  // a bucket's
    CHECK(fused.flat().copies() == 0);
    CHECK(torch::allclose(fused_weight, plain_weight));
    const auto both = dist::all_gather(fused_weight.detach());
    CHECK(torch::equal(both[0], both[1]));  // averaged: the ranks stay together
  }

  dist::print("printed once");
  dist::print("printed by each node's first rank", true);
  dist::barrier();
  dist::reset();
}

TEST_CASE("tempo::dist helpers on two ranks") {
  Dir dir;
  const auto self = fs::read_symlink("/proc/self/exe").string();
  const auto rank = [&](int r) {
    return "RANK=" + std::to_string(r) + " LOCAL_RANK=" + std::to_string(r) + " timeout 60 '" + self +
           "' --no-skip --test-case='one rank of two*' > r" + std::to_string(r) + ".log 2>&1 & p" +
           std::to_string(r) + "=$!\n";
  };
  const int status = shell(dir.path, rank_environment(2) + "export TEMPO_TEST_DIR='" + dir.path.string() + "'\n" +
                                         rank(0) + rank(1) + "wait $p0; s0=$?; wait $p1; s1=$?; exit $((s0 * 10 + s1))");
  const auto r0 = read(dir.path / "r0.log"), r1 = read(dir.path / "r1.log");
  CHECK_MESSAGE(status == 0, (r0 + r1));
  CHECK(r0.find("test cases:  1 |  1 passed") != std::string::npos);  // it ran, and passed
  CHECK(r1.find("test cases:  1 |  1 passed") != std::string::npos);
  CHECK(r0.find("printed once") != std::string::npos);
  CHECK(r1.find("printed once") == std::string::npos);
  CHECK(r0.find("printed by each node's first rank") != std::string::npos);
  CHECK(r1.find("printed by each node's first rank") == std::string::npos);
}

TEST_CASE("without torchrun's environment the helpers act on one process") {
  if (std::getenv("RANK")) return;  // this binary started as a rank
  dist::reset();
  CHECK(dist::initialize() == nullptr);
  CHECK(dist::world_size() == 1);
  CHECK(dist::rank() == 0);
  CHECK(dist::is_main_process());
  dist::barrier();
  auto x = torch::ones({2});
  dist::all_reduce(x, tempo::ReduceOp::SUM);
  CHECK(torch::equal(x, torch::ones({2})));
  CHECK(dist::all_gather_bytes("a") == std::vector<std::string>{"a"});
  dist::set_trigger();
  CHECK(dist::check_trigger());
  CHECK(!dist::check_trigger());
}

}  // TEST_SUITE
