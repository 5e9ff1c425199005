#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tempo/serialization/checkpoint_file.h"
#include "tempo/state/model_state.h"
#include "tempo/state/tree.h"
#include "support/capture_stderr.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;
namespace fs = std::filesystem;

TEST_SUITE("trainer") {
  TEST_CASE("a mid-epoch checkpoint written by another process resumes bit-exactly") {
    auto data = blobs(50);  // 13 batches per epoch
    TempDir dir;
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // GNU OpenMP (the torch wheel's intra-op pool) cannot start a parallel region in a forked
      // child of a process that used one: it waits forever. One thread runs ATen inline.
      at::set_num_threads(1);
      // The first process trains to batch 20 (epoch 1, batch 7 of 13), saving every 10 batches.
      int status = 0;
      try {
        auto first = make_run(data, "20ba", [&](TrainerOptions& o) { o.save_folder(dir.path()).save_interval("10ba"); });
        first.trainer->fit();
      } catch (...) {
        status = 1;
      }
      _exit(status);
    }
    int status = -1;
    waitpid(child, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    REQUIRE(fs::exists(dir / "ep1-ba20-rank0.pt"));

    check_resume_is_exact(data, "3ep", dir / "ep1-ba20-rank0.pt", 7, 19);
  }

  TEST_CASE("load_path with a larger max_duration extends training (Composer's 25ep -> 90ep)") {
    auto data = blobs(12);
    TempDir dir;
    auto first = make_run(data, "2ep", [&](TrainerOptions& o) { o.save_folder(dir.path()); });
    first.trainer->fit();
    auto longer = make_run(data, "4ep", [&](TrainerOptions& o) {
      o.save_folder(dir.path()).load_path(dir / "ep2-ba6-rank0.pt");
    });
    longer.trainer->fit();
    CHECK(longer.trainer->state().timestamp.epoch() == 4);
    auto straight = make_run(data, "4ep");
    straight.trainer->fit();
    CHECK(bit_equal(weights(*straight.model), weights(*longer.model)));
    CHECK(files_in(dir.path()) == std::vector<std::string>{"ep1-ba3-rank0.pt", "ep2-ba6-rank0.pt", "ep3-ba9-rank0.pt",
                                                           "ep4-ba12-rank0.pt", "latest-rank0.pt"});
  }

  TEST_CASE("autoresume continues from the newest checkpoint, never extends the run, and rotation survives restarts") {
    auto data = blobs(12);
    TempDir dir;
    auto options = [&](TrainerOptions& o) {
      o.save_folder(dir.path()).save_interval("2ba").save_num_checkpoints_to_keep(2).autoresume(true);
    };
    // Three "restarts", each one stopping early through a callback, as a preemption would.
    class StopAfter : public Callback {
     public:
      explicit StopAfter(int64_t n) : n_(n) {}

     protected:
      void on_batch_end(State& state, Logger&) override {
        if (++seen_ == n_) state.request_stop("preempted");
      }

     private:
      int64_t n_, seen_ = 0;
    };
    for (int restart = 0; restart < 3; ++restart) {
      auto run = make_run(data, "4ep", 42, 7, {std::make_shared<StopAfter>(3)}, 4, options);
      CHECK(run.trainer->state().timestamp.batch() == restart * 3);
      run.trainer->fit();
      CHECK(run.trainer->state().timestamp.batch() == restart * 3 + 3);
      auto on_disk = files_in(dir.path());
      CHECK(on_disk.size() == 3);  // two checkpoints and the latest link
    }
    auto last = make_run(data, "4ep", options);
    CHECK(last.trainer->state().timestamp.batch() == 9);
    last.trainer->fit();
    CHECK(last.trainer->state().timestamp.epoch() == 4);
    auto straight = make_run(data, "4ep");
    straight.trainer->fit();
    CHECK(bit_equal(weights(*straight.model), weights(*last.model)));

    // Restarting a finished run does not train further.
    auto finished = make_run(data, "4ep", options);
    CHECK(finished.trainer->state().timestamp.batch() == 12);
    finished.trainer->fit();
    CHECK(finished.trainer->state().timestamp.batch() == 12);
    CHECK(bit_equal(weights(*straight.model), weights(*finished.model)));
  }

  TEST_CASE("autoresume ignores load_path, load_weights_only and load_ignore_keys: Adam's state continues exactly") {
    // Composer applies those three to a run's first load only. Kept on a restart,
    // load_ignore_keys: [state/optimizers/*] would drop Adam's moments and step every time.
    auto data = blobs(12);
    TempDir dir;
    auto pre = make_run(data, "1ep", [&](TrainerOptions& o) { o.save_folder(dir / "pre"); });
    pre.trainer->fit();
    const std::string pretrained = dir / "pre/ep1-ba3-rank0.pt";
    class StopAfterBatches : public Callback {
     public:
      explicit StopAfterBatches(int64_t n) : n_(n) {}

     protected:
      void on_batch_end(State& state, Logger&) override {
        if (++seen_ == n_) state.request_stop("preempted");
      }

     private:
      int64_t n_, seen_ = 0;
    };
    for (bool weights_only : {false, true}) {
      CAPTURE(weights_only);
      const auto first_load = [&](TrainerOptions& o) {
        o.load_path(pretrained).load_weights_only(weights_only).load_ignore_keys({"state/optimizers/*"});
      };
      const auto options = [&](TrainerOptions& o) {
        first_load(o);
        o.save_folder(dir / (weights_only ? "w" : "f")).save_interval("2ba").autoresume(true);
      };
      auto first = make_run(data, "4ep", 42, 7, {std::make_shared<StopAfterBatches>(4)}, 4, options);
      first.trainer->fit();
      const auto stopped_at = first.trainer->state().timestamp.batch();
      CHECK(stopped_at == (weights_only ? 4 : 7));
      auto resumed = make_run(data, "4ep", 42, 7, {}, 4, options);
      CHECK(resumed.trainer->state().timestamp.batch() == stopped_at);
      CHECK(!resumed.optimizer->state().empty());
      CHECK(bit_equal(adam_tensors(*first.optimizer), adam_tensors(*resumed.optimizer)));
      resumed.trainer->fit();
      auto straight = make_run(data, "4ep", 42, 7, {}, 4, first_load);
      straight.trainer->fit();
      CHECK(bit_equal(weights(*straight.model), weights(*resumed.model)));
      CHECK(bit_equal(adam_tensors(*straight.optimizer), adam_tensors(*resumed.optimizer)));
    }
  }

  TEST_CASE("autoresume keeps the run name its checkpoints carry, and says so when the config names another") {
    auto data = blobs(12);
    TempDir dir;
    class StopAtFirstBatch : public Callback {
     protected:
      void on_batch_end(State& state, Logger&) override { state.request_stop("preempted"); }
    };
    const auto options = [&](const std::string& name) {
      return [&, name](TrainerOptions& o) { o.save_folder(dir.path()).autoresume(true).run_name(name); };
    };
    auto first = make_run(data, "2ep", 42, 7, {std::make_shared<StopAtFirstBatch>()}, 4, options("original"));
    first.trainer->fit();
    {
      CapturedStderr captured;
      auto same = make_run(data, "2ep", 42, 7, {}, 4, options("original"));
      CHECK(captured.text() == "");
      CHECK(same.trainer->state().run_name == "original");
    }
    CapturedStderr captured;
    auto renamed = make_run(data, "2ep", 42, 7, {}, 4, options("renamed"));
    const auto text = captured.text();
    CHECK(renamed.trainer->state().run_name == "original");
    CHECK(text == "tempo: warning: autoresume continues run 'original' from '" + dir / "ep0-ba1-rank0.pt" +
                      "'; the config's run_name 'renamed' is not used\n");
    renamed.trainer->fit();
    const auto last = read_checkpoint(dir / "latest-rank0.pt");
    CHECK(last.toGenericDict().at("state").toGenericDict().at("run_name").toStringRef() == "original");
  }

  TEST_CASE("save and load state pre-hooks edit the checkpoint tree before it is written and before it is applied") {
    // Accelerate's register_save_state_pre_hook / register_load_state_pre_hook. Here the save hook
    // stores the model's weights under a wrapper's prefix ("net.") and notes itself in
    // state/integrations; only with the load hook, which strips the prefix, does the file load.
    auto data = blobs(12);
    TempDir dir;
    const auto rename_model = [](c10::IValue& tree, const std::function<std::string(const std::string&)>& rename) {
      auto state = tree.toGenericDict().at("state").toGenericDict();
      auto renamed = new_tree_dict();
      for (const auto& entry : state.at("model").toGenericDict()) {
        renamed.insert(rename(entry.key().toStringRef()), entry.value());
      }
      state.insert_or_assign("model", renamed);
    };
    int saves = 0;
    auto first = make_run(data, "1ep", [&](TrainerOptions& o) {
      o.save_folder(dir.path()).register_save_state_pre_hook([&](c10::IValue& tree) {
        ++saves;
        rename_model(tree, [](const std::string& key) { return "net." + key; });
        auto state = tree.toGenericDict().at("state").toGenericDict();
        if (state.contains("integrations")) state.at("integrations").toGenericDict().insert("hook", "saved by a hook");
      });
    });
    first.trainer->fit();
    CHECK(saves == 1);
    const std::string path = dir / "ep1-ba3-rank0.pt";
    const auto written = read_checkpoint(path).toGenericDict().at("state").toGenericDict();
    CHECK(written.at("model").toGenericDict().contains("net.fc1.weight"));
    CHECK_FALSE(written.at("model").toGenericDict().contains("fc1.weight"));
    CHECK(written.at("integrations").toGenericDict().at("hook").toStringRef() == "saved by a hook");

    CHECK_THROWS_WITH_AS(make_run(data, "2ep", [&](TrainerOptions& o) { o.load_path(path); }),
                         doctest::Contains("net.fc1.weight"), CheckpointError);
    std::vector<std::string> seen;
    auto resumed = make_run(data, "2ep", [&](TrainerOptions& o) {
      o.load_path(path)
          .register_load_state_pre_hook([&](c10::IValue&) { seen.push_back("first"); })
          .register_load_state_pre_hook([&](c10::IValue& tree) {
            seen.push_back("second");
            rename_model(tree, [](const std::string& key) { return key.substr(std::string("net.").size()); });
          });
    });
    CHECK(seen == std::vector<std::string>{"first", "second"});
    CHECK(bit_equal(weights(*first.model), weights(*resumed.model)));
    CHECK(bit_equal(adam_tensors(*first.optimizer), adam_tensors(*resumed.optimizer)));
    CHECK(resumed.trainer->state().timestamp.batch() == 3);
    // Trainer::state_dict() and load_state_dict() go through the same hooks.
    CHECK(resumed.trainer->state_dict().toGenericDict().at("state").toGenericDict().at("model").toGenericDict().contains(
        "fc1.weight"));
    CHECK_NOTHROW(resumed.trainer->load_state_dict(first.trainer->state_dict()));
    CHECK(seen.size() == 4);
  }

  TEST_CASE("autoresume needs a run name and a save folder") {
    CHECK_THROWS_WITH_AS(make_run(blobs(12), "1ep", [](TrainerOptions& o) { o.run_name("").autoresume(true); }),
                         doctest::Contains("autoresume needs an explicit run_name"), ConfigError);
  }

  TEST_CASE("load_weights_only, strict and non-strict loading, and load_ignore_keys") {
    auto data = blobs(12);
    TempDir dir;
    auto first = make_run(data, "2ep", [&](TrainerOptions& o) { o.save_folder(dir.path()); });
    first.trainer->fit();
    const auto path = dir / "ep2-ba6-rank0.pt";

    // Weights only: the model, nothing else; the run starts at zero.
    auto fine_tune = make_run(data, "1ep", 1, 99, {}, 4, [&](TrainerOptions& o) {
      o.load_path(path).load_weights_only(true);
    });
    CHECK(bit_equal(weights(*first.model), weights(*fine_tune.model)));
    CHECK(fine_tune.trainer->state().timestamp.batch() == 0);
    CHECK(fine_tune.optimizer->state().empty());

    // Ignore the optimizers and the generators: weights and time are restored, Adam starts fresh.
    auto partial = make_run(data, "3ep", 1, 99, {}, 4, [&](TrainerOptions& o) {
      o.load_path(path).load_ignore_keys({"state/optimizers/*", "rng"});
    });
    CHECK(bit_equal(weights(*first.model), weights(*partial.model)));
    CHECK(partial.trainer->state().timestamp.batch() == 6);
    CHECK(partial.optimizer->state().empty());

    // A model with an extra layer: strict loading names it, non-strict loading skips it.
    class Wider : public TinyNet {
     public:
      Wider() : extra(register_module("extra", torch::nn::Linear(2, 2))) {}
      torch::nn::Linear extra;
    };
    auto make_wider = [&](bool strict) {
      torch::manual_seed(3);
      auto model = std::make_shared<Wider>();
      auto adam = std::make_shared<torch::optim::Adam>(model->parameters());
      Trainer trainer(TrainerOptions()
                          .model(model)
                          .train_dataloader(loader(data, 4))
                          .optimizers({adam})
                          .max_duration("1ep")
                          .load_path(path)
                          .load_weights_only(true)
                          .load_strict_model_weights(strict));
      return model;
    };
    CHECK_THROWS_WITH_AS(make_wider(true), doctest::Contains("missing keys: extra.weight, extra.bias"), CheckpointError);
    auto wider = make_wider(false);
    CHECK(torch::equal(wider->fc1->weight, first.model->fc1->weight));

    // A weights-only checkpoint loads as weights only without load_weights_only (Composer), with
    // one line saying so; then a missing file, and a file that is not a checkpoint.
    auto weights_dir = dir / "w";
    auto weights_run = make_run(data, "1ep", [&](TrainerOptions& o) { o.save_folder(weights_dir).save_weights_only(true); });
    weights_run.trainer->fit();
    {
      CapturedStderr captured;
      auto from_weights = make_run(data, "2ep", 1, 99, {}, 4, [&](TrainerOptions& o) {
        o.load_path(weights_dir + "/ep1-ba3-rank0.pt");
      });
      const auto text = captured.text();
      CHECK(bit_equal(weights(*weights_run.model), weights(*from_weights.model)));
      CHECK(from_weights.trainer->state().timestamp.batch() == 0);
      CHECK(from_weights.optimizer->state().empty());
      CHECK(text == "tempo: warning: '" + weights_dir + "/ep1-ba3-rank0.pt' is a weights-only checkpoint (saved with "
                    "save_weights_only): loading only its model weights, as load_weights_only does\n");
      from_weights.trainer->fit();
      CHECK(from_weights.trainer->state().timestamp.epoch() == 2);
    }
    CHECK_THROWS_WITH_AS(make_run(data, "1ep", [&](TrainerOptions& o) {
                           o.save_folder(weights_dir).save_weights_only(true).autoresume(true);
                         }),
                         doctest::Contains("autoresume needs full checkpoints"), ConfigError);
    CHECK_THROWS_WITH_AS(make_run(data, "2ep", [&](TrainerOptions& o) { o.load_path(dir / "missing.pt"); }),
                         doctest::Contains("missing.pt"), CheckpointError);
    {
      std::ofstream(dir / "notes.txt") << "not a checkpoint";
    }
    CHECK_THROWS_WITH_AS(make_run(data, "2ep", [&](TrainerOptions& o) { o.load_path(dir / "notes.txt"); }),
                         doctest::Contains("notes.txt"), CheckpointError);
  }

  TEST_CASE("a model that does not match the checkpoint is refused before any state changes") {
    auto data = blobs(12);
    TempDir dir;
    auto first = make_run(data, "1ep", [&](TrainerOptions& o) { o.save_folder(dir.path()); });
    first.trainer->fit();
    torch::manual_seed(3);
    auto narrow = std::make_shared<TinyNet>(/*features=*/5);
    auto adam = std::make_shared<torch::optim::Adam>(narrow->parameters());
    const auto before = weights(*narrow);
    CHECK_THROWS_WITH_AS(Trainer(TrainerOptions()
                                     .model(narrow)
                                     .train_dataloader(loader(blobs(12, 5), 4))
                                     .optimizers({adam})
                                     .max_duration("1ep")
                                     .load_path(dir / "ep1-ba3-rank0.pt")),
                         doctest::Contains("fc1.weight (checkpoint [16, 8] vs model [16, 5])"), CheckpointError);
    CHECK(bit_equal(before, weights(*narrow)));
  }
}
