// Preemption: SIGTERM/SIGINT during fit() finish the batch, checkpoint whatever the interval,
// run FIT_END and return; the run resumes bit-exactly; a second signal kills at once.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "tempo/callbacks/checkpoint_saver.h"
#include "tempo/serialization/atomic_file.h"
#include "support/capture_stderr.h"
#include "support/fixtures.h"
#include "tempo/trainer/signal_handling.h"

using namespace tempo;
using namespace tempo::testing;
namespace fs = std::filesystem;

namespace {

// Raises `signal_number` `times` times at `event` of batch `batch` (the batch being trained,
// counting from 1; BATCH_END and later events of that batch see timestamp.batch() == batch).
class RaiseAt : public Callback {
 public:
  RaiseAt(Event event, int64_t batch, int signal_number = SIGTERM, int times = 1)
      : event_(event), batch_(batch), signal_(signal_number), times_(times) {}
  int64_t raised_at = -1;

 protected:
  void on_event(Event event, State& state, Logger&) override {
    if (event != event_ || raised_at >= 0) return;
    // Before BATCH_END the timestamp still names the previous batch.
    const bool after_step = event >= Event::BATCH_END && event <= Event::ITERATION_CHECKPOINT;
    const int64_t training = state.timestamp.batch() + (after_step ? 0 : 1);
    if (training != batch_) return;
    raised_at = state.timestamp.batch();
    for (int i = 0; i < times_; ++i) std::raise(signal_);
  }

 private:
  Event event_;
  int64_t batch_;
  int signal_;
  int times_;
};

class FitEndSeen : public Callback {
 public:
  bool seen = false;

 protected:
  void on_fit_end(State&, Logger&) override { seen = true; }
};

}  // namespace

TEST_SUITE("trainer") {
  TEST_CASE("SIGTERM finishes the batch, checkpoints it whatever the interval, and the restart is bit-exact") {
    auto data = blobs(50);  // 13 batches per epoch
    TempDir dir;
    auto options = [&](TrainerOptions& o) { o.save_folder(dir.path()).save_interval("100ba").autoresume(true); };
    auto raise_at = std::make_shared<RaiseAt>(Event::BATCH_END, 5);
    auto fit_end = std::make_shared<FitEndSeen>();
    struct sigaction before {};
    sigaction(SIGTERM, nullptr, &before);
    {
      auto first = make_run(data, "3ep", 42, 7, {raise_at, fit_end}, 4, options);
      first.trainer->fit();
      CHECK(first.trainer->stopped_by_signal() == SIGTERM);
      CHECK(first.trainer->state().timestamp.batch() == 5);
      CHECK(first.trainer->state().stop_reason() == "SIGTERM");
      CHECK(fit_end->seen);
      CHECK(first.trainer->checkpoint_saver()->checkpoint_of_batch(5) == dir / "ep0-ba5-rank0.pt");
      CHECK(files_in(dir.path()) == std::vector<std::string>{"ep0-ba5-rank0.pt", "latest-rank0.pt"});
      CHECK(SignalGuard::pending() == SIGTERM);  // nothing else cleared it; the next fit does
    }
    // The handler is gone after fit(): SIGTERM's action is what it was before.
    struct sigaction now {};
    sigaction(SIGTERM, nullptr, &now);
    CHECK(bool(now.sa_handler == before.sa_handler));

    auto resumed = make_run(data, "3ep", 1, 99, {}, 4, options);
    CHECK(resumed.trainer->state().timestamp.batch() == 5);
    resumed.trainer->fit();
    CHECK(resumed.trainer->stopped_by_signal() == 0);
    CHECK(resumed.trainer->state().timestamp.epoch() == 3);
    auto straight = make_run(data, "3ep");
    straight.trainer->fit();
    CHECK(bit_equal(weights(*straight.model), weights(*resumed.model)));
    CHECK(bit_equal(adam_tensors(*straight.optimizer), adam_tensors(*resumed.optimizer)));
  }

  TEST_CASE("a signal at any event of a batch stops after that batch, with its checkpoint, in every saver") {
    auto data = blobs(20);  // 5 batches per epoch: batch 5 ends epoch 0
    const std::vector<Event> events = {
        Event::BEFORE_DATALOADER, Event::AFTER_DATALOADER, Event::BATCH_START,  Event::BEFORE_TRAIN_BATCH,
        Event::BEFORE_FORWARD,    Event::AFTER_FORWARD,    Event::BEFORE_LOSS,  Event::AFTER_LOSS,
        Event::BEFORE_BACKWARD,   Event::AFTER_BACKWARD,   Event::AFTER_TRAIN_BATCH, Event::BATCH_END,
        Event::BATCH_CHECKPOINT,  Event::EPOCH_END,        Event::EPOCH_CHECKPOINT};
    for (const auto event : events) {
      for (const int64_t batch : {3, 5}) {
        if ((event == Event::EPOCH_END || event == Event::EPOCH_CHECKPOINT) && batch != 5) continue;
        CAPTURE(to_string(event));
        CAPTURE(batch);
        TempDir dir;
        const std::string main_dir = dir / "main", extra_dir = dir / "extra";
        auto extra = std::make_shared<CheckpointSaver>(
            CheckpointSaverOptions().folder(dir / "extra").save_interval("1000ba").latest_filename(""));
        auto raise_at = std::make_shared<RaiseAt>(event, batch);
        auto run = make_run(data, "2ep", 42, 7, {raise_at, extra}, 4, [&](TrainerOptions& o) {
          o.save_folder(dir / "main").save_interval("2ba").autoresume(true);
        });
        run.trainer->fit();
        CHECK(run.trainer->stopped_by_signal() == SIGTERM);
        const auto stopped = run.trainer->state().timestamp;
        CHECK(stopped.batch() == batch);
        const std::string name = fmt::format("ep{}-ba{}-rank0.pt", stopped.epoch(), batch);
        CHECK(fs::exists(main_dir + "/" + name));
        CHECK(fs::exists(extra_dir + "/" + name));
        CHECK(run.trainer->checkpoint_saver()->checkpoint_of_batch(batch) == main_dir + "/" + name);
        CHECK(extra->checkpoint_of_batch(batch) == extra_dir + "/" + name);
        // Restart and finish: the same weights as a straight run.
        auto resumed = make_run(data, "2ep", 42, 7, {}, 4, [&](TrainerOptions& o) {
          o.save_folder(dir / "main").save_interval("2ba").autoresume(true);
        });
        CHECK(resumed.trainer->state().timestamp.batch() == batch);
        resumed.trainer->fit();
        auto straight = make_run(data, "2ep");
        straight.trainer->fit();
        CHECK(bit_equal(weights(*straight.model), weights(*resumed.model)));
      }
    }
  }

  TEST_CASE("a signal skips the evaluation due at its batch and the final one, and saves that batch once") {
    // Evaluation every batch; SIGTERM during batch 3's forward pass: batches 1 and 2 are evaluated,
    // batch 3 goes straight to its checkpoint (a preempted job has seconds), and no final one runs.
    class EvalCounter : public Callback {
     public:
      std::vector<int64_t> evaluated;

     protected:
      void on_eval_start(State& state, Logger&) override { evaluated.push_back(state.timestamp.batch()); }
    };
    TempDir dir;
    auto counter = std::make_shared<EvalCounter>();
    auto raise_at = std::make_shared<RaiseAt>(Event::AFTER_FORWARD, 3);
    auto run = make_run(blobs(20), "2ep", 42, 7, {raise_at, counter}, 4, [&](TrainerOptions& o) {
      o.save_folder(dir.path()).save_interval("1ba").eval_dataloader(loader(blobs(8), 4)).eval_interval("1ba");
    });
    run.trainer->fit();
    CHECK(run.trainer->stopped_by_signal() == SIGTERM);
    CHECK(counter->evaluated == std::vector<int64_t>{1, 2});
    CHECK(files_in(dir.path()) ==
          std::vector<std::string>{"ep0-ba1-rank0.pt", "ep0-ba2-rank0.pt", "ep0-ba3-rank0.pt", "latest-rank0.pt"});
    CHECK(run.trainer->checkpoint_saver()->saved_checkpoints().size() == 3);
  }

  TEST_CASE("a signal once max_duration is reached stops nothing: one final checkpoint, the run complete") {
    for (const Event event : {Event::BATCH_CHECKPOINT, Event::FIT_END}) {
      CAPTURE(to_string(event));
      TempDir dir;
      // Raised before the saver's own handler of that event: during the final save, as the saver sees it.
      auto raise_at = std::make_shared<RaiseAt>(event, event == Event::FIT_END ? 6 : 5);  // RaiseAt's counting
      CapturedStderr err;
      auto run = make_run(blobs(20), "5ba", 42, 7, {raise_at}, 4, [&](TrainerOptions& o) {
        o.save_folder(dir.path()).save_interval("2ba").eval_dataloader(loader(blobs(8), 4)).eval_interval("1ep");
      });
      run.trainer->fit();
      CHECK(raise_at->raised_at == 5);
      CHECK(run.trainer->stopped_by_signal() == 0);
      CHECK(files_in(dir.path()) ==
            std::vector<std::string>{"ep0-ba2-rank0.pt", "ep0-ba4-rank0.pt", "ep0-ba5-rank0.pt", "latest-rank0.pt"});
      CHECK(run.trainer->checkpoint_saver()->saved_checkpoints().size() == 3);
      CHECK(err.text().find("SIGTERM arrived after run 'test-run' reached max_duration 5ba: the run is complete") !=
            std::string::npos);
    }
  }

  TEST_CASE("SIGINT maps to its own number; without a save folder nothing is saved") {
    auto raise_at = std::make_shared<RaiseAt>(Event::AFTER_FORWARD, 2, SIGINT);
    auto run = make_run(blobs(20), "2ep", 42, 7, {raise_at});
    run.trainer->fit();
    CHECK(run.trainer->stopped_by_signal() == SIGINT);
    CHECK(run.trainer->state().timestamp.batch() == 2);
    CHECK(run.trainer->checkpoint_saver() == nullptr);
    CHECK(std::string(signal_name(SIGINT)) == "SIGINT");
    CHECK(std::string(signal_name(SIGTERM)) == "SIGTERM");
  }

  TEST_CASE("handle_signals(false) leaves the process's own handlers in place") {
    static volatile std::sig_atomic_t own_handler_ran = 0;
    struct sigaction mine {}, previous {};
    mine.sa_handler = [](int) { own_handler_ran = 1; };
    sigemptyset(&mine.sa_mask);
    sigaction(SIGTERM, &mine, &previous);
    auto raise_at = std::make_shared<RaiseAt>(Event::BATCH_END, 2);
    auto run = make_run(blobs(20), "1ep", 42, 7, {raise_at}, 4, [](TrainerOptions& o) { o.handle_signals(false); });
    run.trainer->fit();
    CHECK(own_handler_ran == 1);
    CHECK(run.trainer->stopped_by_signal() == 0);
    CHECK(run.trainer->state().timestamp.batch() == 5);
    // And with handling on, the process's handler comes back after fit().
    auto on = make_run(blobs(20), "1ep");
    on.trainer->fit();
    struct sigaction now {};
    sigaction(SIGTERM, nullptr, &now);
    CHECK(bool(now.sa_handler == mine.sa_handler));
    sigaction(SIGTERM, &previous, nullptr);
  }

  TEST_CASE("a signal during an evaluation ends it at its next batch, without EVAL_END, and the batch is saved") {
    class EvalWatcher : public Callback {
     public:
      int eval_batches = 0;
      int eval_ends = 0;

     protected:
      void on_eval_batch_start(State&, Logger&) override {
        if (++eval_batches == 2) std::raise(SIGTERM);
      }
      void on_eval_end(State&, Logger&) override { ++eval_ends; }
    };
    TempDir dir;
    auto watcher = std::make_shared<EvalWatcher>();
    auto run = make_run(blobs(20), "2ep", 42, 7, {watcher}, 4, [&](TrainerOptions& o) {
      o.save_folder(dir.path()).save_interval("1ep").eval_dataloader(loader(blobs(40), 4)).eval_interval("1ba");
    });
    run.trainer->fit();
    CHECK(run.trainer->stopped_by_signal() == SIGTERM);
    CHECK(watcher->eval_batches == 2);  // of 10: before the fix the whole evaluation ran first
    CHECK(watcher->eval_ends == 0);
    CHECK(run.trainer->state().timestamp.batch() == 1);
    CHECK(files_in(dir.path()) == std::vector<std::string>{"ep0-ba1-rank0.pt", "latest-rank0.pt"});
  }

  TEST_CASE("a save past the file-size limit (ulimit -f) fails like a full disk: an error, no temporary, no SIGXFSZ") {
    tempo::testing::TempDir dir;
    auto run = make_run(blobs(20), "2ba", [&](TrainerOptions& o) { o.save_folder(dir.path()).save_interval("1ba"); });
    struct sigaction before {};
    sigaction(SIGXFSZ, nullptr, &before);
    struct rlimit previous {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &previous) == 0);
    struct rlimit small = previous;
    small.rlim_cur = 512;  // smaller than any checkpoint
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::string error;
    try {
      run.trainer->fit();  // before the fix: the process died here by SIGXFSZ
    } catch (const CheckpointError& e) {
      error = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &previous);
    CHECK(error.find("File too large") != std::string::npos);
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
      CAPTURE(entry.path());
      CHECK_FALSE(tempo::is_temporary_name(entry.path().filename().string()));
    }
    struct sigaction now {};
    sigaction(SIGXFSZ, nullptr, &now);
    CHECK(bool(now.sa_handler == before.sa_handler));  // restored after fit()
  }

  TEST_CASE("a second SIGTERM kills the process by the signal") {
    TempDir dir;
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // GNU OpenMP (the torch wheel's intra-op pool) cannot start a parallel region in a forked
      // child of a process that used one: it waits forever. One thread runs ATen inline.
      at::set_num_threads(1);
      try {
        auto raise_twice = std::make_shared<RaiseAt>(Event::AFTER_FORWARD, 3, SIGTERM, 2);
        auto run = make_run(blobs(20), "2ep", 42, 7, {raise_twice}, 4,
                            [&](TrainerOptions& o) { o.save_folder(dir.path()).save_interval("1ba"); });
        run.trainer->fit();
      } catch (...) {
        _exit(3);
      }
      _exit(0);  // not reached if the second signal kills
    }
    int status = 0;
    waitpid(child, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGTERM);
    // It died inside batch 3: batches 1 and 2 were saved, nothing of batch 3 or any temporary.
    CHECK(files_in(dir.path()) == std::vector<std::string>{"ep0-ba1-rank0.pt", "ep0-ba2-rank0.pt", "latest-rank0.pt"});
  }
}
