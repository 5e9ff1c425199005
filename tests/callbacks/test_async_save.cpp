// Background checkpoint saving (save_async): it must be indistinguishable from a synchronous save
// in the files it leaves (bytes, rotation, latest link) and in how a run resumes from them, write
// the state as it was at the checkpoint event however training moves on meanwhile, keep one save
// in flight at a time, and report failures at the next event or at the end of fit(), which returns
// only once the last checkpoint is durable. The copy of the parameters and optimizer state runs
// beside the next batch: the optimizer step must wait for it, and a change made during it by
// anything else must fail that save rather than write a torn checkpoint.
#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tempo/callbacks/checkpoint_saver.h"
#include "configs/config_test_support.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/serialization/env.h"
#include "support/capture_stderr.h"
#include "support/faulty_io.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;
namespace fs = std::filesystem;

namespace {

using Names = std::vector<std::string>;
using Clock = std::chrono::steady_clock;

// Holds every checkpoint write at a gate until open() (or 60 s, so that a failing test cannot
// hang), sleeps `delay` per write once open, and counts the files being written at once: a file
// counts from its first write to its fsync. The saver's writer thread calls it, the test's thread
// opens it, hence the lock.
class GatedIo : public EnvWrapper {
 public:
  explicit GatedIo(bool open = false, std::chrono::milliseconds delay = {})
      : EnvWrapper(Env::posix()), open_(open), delay_(delay) {}

  ssize_t write(int fd, const void* data, size_t size) override {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      writing_.insert(fd);
      max_writing_ = std::max(max_writing_, writing_.size());
      ++blocked_;
      changed_.notify_all();
      changed_.wait_for(lock, std::chrono::seconds(60), [&] { return open_; });
      --blocked_;
    }
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    return EnvWrapper::write(fd, data, size);
  }
  int fsync(int fd) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      writing_.erase(fd);
    }
    return EnvWrapper::fsync(fd);
  }

  void open_gate() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  // Whether a write is waiting at the gate within 10 s.
  bool writer_waiting() {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return blocked_ > 0; });
  }
  size_t max_writing() {
    std::lock_guard<std::mutex> lock(mutex_);
    return max_writing_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_;
  std::chrono::milliseconds delay_;
  std::set<int> writing_;
  size_t max_writing_ = 0;
  int blocked_ = 0;
};

// Opens a gate when destroyed, so that a test that fails half-way still lets the writer finish.
struct OpenOnExit {
  GatedIo& io;
  ~OpenOnExit() { io.open_gate(); }
};

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::map<std::string, torch::Tensor> named_weights(const State& state) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : state.model->named_parameters()) out[p.key()] = p.value().detach().clone();
  return out;
}

// Runs `fn` at `event` of batch `at`.
class AtBatch : public Callback {
 public:
  AtBatch(Event event, int64_t at, std::function<void(State&)> fn) : event_(event), at_(at), fn_(std::move(fn)) {}

 protected:
  void on_event(Event event, State& state, Logger&) override {
    if (event == event_ && state.timestamp.batch() == at_) fn_(state);
  }

 private:
  Event event_;
  int64_t at_;
  std::function<void(State&)> fn_;
};

// A model with one large parameter used cheaply: copying it and its Adam state (48 MB) takes far
// longer than a batch's forward and backward here, so an optimizer step that did not wait for
// save_async's copy would change them mid-copy (plain Adam's in-place updates bump the version
// counters the copy checks, and the checkpoint would not hold its batch's weights).
class BigTableNet : public Model {
 public:
  BigTableNet() : fc(register_module("fc", torch::nn::Linear(8, 2))) {
    table = register_parameter("table", torch::randn({int64_t{4} << 20}).mul_(0.01));
  }
  torch::Tensor forward(const torch::Tensor& x) override { return fc(x) + table.narrow(0, 0, 2); }

  torch::nn::Linear fc;
  torch::Tensor table;
};

std::unique_ptr<Trainer> big_table_run(const std::string& duration, std::vector<std::shared_ptr<Callback>> callbacks) {
  torch::manual_seed(7);
  auto model = std::make_shared<BigTableNet>();
  auto adam = std::make_shared<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-2));
  return std::make_unique<Trainer>(TrainerOptions()
                                       .model(model)
                                       .train_dataloader(loader(blobs(24), 4))
                                       .optimizers({adam})
                                       .callbacks(std::move(callbacks))
                                       .max_duration(duration)
                                       .seed(42)
                                       .run_name("big-table"));
}

torch::Tensor saved_table(const std::string& path) {
  return read_checkpoint(path).toGenericDict().at("state").toGenericDict().at("model").toGenericDict().at("table").toTensor();
}

// Records when each BATCH_CHECKPOINT reached it, by batch.
class CheckpointClock : public Callback {
 public:
  std::map<int64_t, Clock::time_point> at;

 protected:
  void on_batch_checkpoint(State& state, Logger&) override { at[state.timestamp.batch()] = Clock::now(); }
};

// The names in the folder, without the hidden temporaries (which must not be there either).
Names listing(const std::string& folder) { return files_in(folder); }

std::string link_target(const std::string& link) { return fs::read_symlink(link).string(); }

Names saved_names(const Trainer& trainer) {
  Names names;
  for (const auto& path : trainer.saved_checkpoints()) names.push_back(fs::path(path).filename().string());
  return names;
}

}  // namespace

TEST_SUITE("callbacks") {
  TEST_CASE("save_async leaves the files, rotation and latest link of a synchronous run") {
    TempDir sync_dir, async_dir;
    auto configure = [](const TempDir& dir, bool async) {
      return [&dir, async](TrainerOptions& o) {
        o.save_folder(dir.path()).save_interval("1ba").save_num_checkpoints_to_keep(2).save_async(async);
      };
    };
    auto sync = make_run(blobs(12), "2ep", configure(sync_dir, false));
    sync.trainer->fit();
    auto async = make_run(blobs(12), "2ep", configure(async_dir, true));
    async.trainer->fit();
    CHECK(listing(async_dir.path()) == listing(sync_dir.path()));
    CHECK(listing(async_dir.path()).size() == 3);  // two checkpoints and the link
    CHECK(link_target(async_dir / "latest-rank0.pt") == link_target(sync_dir / "latest-rank0.pt"));
    CHECK(saved_names(*async.trainer) == saved_names(*sync.trainer));
    CHECK(bit_equal(weights(*async.model), weights(*sync.model)));
  }

  TEST_CASE("a background save writes the same bytes as a synchronous save of the same state") {
    auto run = make_run(blobs(12), "5ba", {});
    run.trainer->fit();
    TempDir a, b;
    CheckpointSaver sync(CheckpointSaverOptions().folder(a.path()).filename("x.pt").overwrite(true));
    CheckpointSaver async(CheckpointSaverOptions().folder(b.path()).filename("x.pt").save_async(true).overwrite(true));
    const State& state = run.trainer->state();
    sync.save(state);
    CHECK(async.start_save(state) == b / "x.pt");
    async.wait();
    CHECK_FALSE(async.save_in_flight());
    const auto expected = bytes_of(a / "x.pt");
    CHECK(expected.size() > 1000);
    CHECK(bytes_of(b / "x.pt") == expected);
    // Again, from the staging buffers of the first save.
    async.start_save(state);
    async.wait();
    CHECK(bytes_of(b / "x.pt") == expected);
  }

  TEST_CASE("resuming from a checkpoint written in the background is bit-exact") {
    auto data = blobs(50);  // 13 batches per epoch
    TempDir dir;
    {
      // Slow writes, so that batches 11.. train while batch 10's checkpoint is being written.
      GatedIo io(/*open=*/true, std::chrono::milliseconds(2));
      auto first = make_run(data, "20ba", [&](TrainerOptions& o) {
        o.save_folder(dir.path()).save_interval("10ba").save_async(true).env(&io);
      });
      first.trainer->fit();
    }
    REQUIRE(fs::exists(dir / "ep0-ba10-rank0.pt"));

    auto full_losses = std::make_shared<LossRecorder>();
    auto full = make_run(data, "3ep", 42, 7, {full_losses});
    full.trainer->fit();

    auto resumed_losses = std::make_shared<LossRecorder>();
    auto resumed = make_run(data, "3ep", 5, 99, {resumed_losses}, 4,
                            [&](TrainerOptions& o) { o.load_path(dir / "ep0-ba10-rank0.pt"); });
    CHECK(resumed.trainer->state().timestamp.batch() == 10);
    resumed.trainer->fit();
    CHECK(bit_equal(weights(*full.model), weights(*resumed.model)));
    CHECK(bit_equal(adam_tensors(*full.optimizer), adam_tensors(*resumed.optimizer)));
    REQUIRE(resumed_losses->losses.size() == 29);
    for (const auto& [batch, loss] : resumed_losses->losses) CHECK(full_losses->losses.at(batch) == loss);
  }

  TEST_CASE("training goes on while a save is written, and the file holds the state of its checkpoint event") {
    TempDir dir;
    GatedIo io;  // closed: the writer waits until batch 3 has trained
    OpenOnExit open_on_exit{io};
    auto saver = std::make_shared<CheckpointSaver>(CheckpointSaverOptions()
                                                       .folder(dir.path())
                                                       .filename("ba{batch}.pt")
                                                       .save_interval("2ba")
                                                       .save_async(true));
    std::map<std::string, torch::Tensor> at_2, at_3;
    bool in_flight_at_3 = false, file_at_3 = true;
    auto record_2 = std::make_shared<AtBatch>(Event::BATCH_END, 2, [&](State& state) { at_2 = named_weights(state); });
    auto check_3 = std::make_shared<AtBatch>(Event::BATCH_END, 3, [&](State& state) {
      in_flight_at_3 = saver->save_in_flight();
      file_at_3 = fs::exists(dir / "ba2.pt");
      at_3 = named_weights(state);
      io.open_gate();
    });
    auto run = make_run(blobs(12), "4ba", 42, 7, {record_2, saver, check_3}, 4, [&](TrainerOptions& o) { o.env(&io); });
    run.trainer->fit();

    CHECK(in_flight_at_3);
    CHECK_FALSE(file_at_3);
    CHECK(io.max_writing() == 1);
    // fit() returned: the last save is durable and taken in.
    CHECK_FALSE(saver->save_in_flight());
    CHECK(listing(dir.path()) == Names{"ba2.pt", "ba4.pt", "latest-rank0.pt"});
    CHECK(link_target(dir / "latest-rank0.pt") == "ba4.pt");
    CHECK(saved_names(*run.trainer).empty());  // the built-in saver is off; this one is a callback
    CHECK(saver->saved_checkpoints() == Names{dir / "ba2.pt", dir / "ba4.pt"});

    const auto model = read_checkpoint(dir / "ba2.pt").toGenericDict().at("state").toGenericDict().at("model");
    REQUIRE(at_2.size() == 4);
    for (const auto& [name, value] : at_2) {
      CAPTURE(name);
      const auto saved = model.toGenericDict().at(name).toTensor();
      CHECK(torch::equal(saved, value));
      CHECK_FALSE(torch::equal(saved, at_3.at(name)));  // batch 3 trained before the write
    }
  }

  TEST_CASE("one save in flight at a time: the next one waits for the previous to be durable") {
    TempDir dir;
    GatedIo io;
    OpenOnExit open_on_exit{io};
    auto before = std::make_shared<CheckpointClock>();
    auto after = std::make_shared<CheckpointClock>();
    auto saver = std::make_shared<CheckpointSaver>(
        CheckpointSaverOptions().folder(dir.path()).filename("ba{batch}.pt").save_interval("1ba").save_async(true));
    bool first_durable_after_second_started = false;
    auto probe = std::make_shared<AtBatch>(Event::BATCH_END, 3, [&](State&) { first_durable_after_second_started = fs::exists(dir / "ba1.pt"); });
    auto run = make_run(blobs(12), "3ba", 42, 7, {before, saver, after, probe}, 4, [&](TrainerOptions& o) { o.env(&io); });
    std::thread opener([&] {
      if (io.writer_waiting()) std::this_thread::sleep_for(std::chrono::milliseconds(300));
      io.open_gate();
    });
    run.trainer->fit();
    opener.join();
    // Batch 1's save held at the gate; batch 2's checkpoint event waited for it.
    const double waited = std::chrono::duration<double>(after->at.at(2) - before->at.at(2)).count();
    CHECK(waited > 0.15);
    CHECK(first_durable_after_second_started);
    CHECK(io.max_writing() == 1);
    CHECK(listing(dir.path()) == Names{"ba1.pt", "ba2.pt", "ba3.pt", "latest-rank0.pt"});
  }

  TEST_CASE("a failed background save stops the run at the next event, naming the file, leaving nothing") {
    TempDir dir;
    FaultyIo io(FaultyIo::Call::fsync, EIO);
    auto run = make_run(blobs(12), "3ba", [&](TrainerOptions& o) {
      o.save_folder(dir.path()).save_filename("ba{batch}.pt").save_interval("1ba").save_async(true).env(&io);
    });
    CHECK_THROWS_WITH_AS(run.trainer->fit(), doctest::Contains("ba1.pt"), CheckpointError);
    CHECK(run.trainer->state().timestamp.batch() <= 2);  // at batch 2's checkpoint event at the latest
    CHECK(listing(dir.path()).empty());                   // no partial file, no temporary, no link
    CHECK_FALSE(run.trainer->checkpoint_saver()->save_in_flight());
  }

  TEST_CASE("a failed last save is reported by fit(); latest stays on the previous checkpoint") {
    TempDir dir;
    // Each save fsyncs the file, the folder after the rename and the folder after the link: the
    // fourth fsync is the second save's.
    FaultyIo io(FaultyIo::Call::fsync, EIO, 3);
    auto run = make_run(blobs(12), "3ba", [&](TrainerOptions& o) {
      o.save_folder(dir.path()).save_filename("ba{batch}.pt").save_interval("2ba").save_async(true).env(&io);
    });
    CHECK_THROWS_WITH_AS(run.trainer->fit(), doctest::Contains("ba3.pt"), CheckpointError);
    CHECK(run.trainer->state().timestamp.batch() == 3);
    CHECK(listing(dir.path()) == Names{"ba2.pt", "latest-rank0.pt"});
    CHECK(link_target(dir / "latest-rank0.pt") == "ba2.pt");
    CHECK(saved_names(*run.trainer) == Names{"ba2.pt"});
  }

  TEST_CASE("with save_ignore_errors a failed background save is the synchronous save's warning") {
    TempDir dir;
    FaultyIo io(FaultyIo::Call::fsync, EIO, 0, /*once=*/true);
    auto run = make_run(blobs(12), "3ba", [&](TrainerOptions& o) {
      o.env(&io)
          .save_folder(dir.path())
          .save_filename("ba{batch}.pt")
          .save_interval("1ba")
          .save_async(true)
          .save_ignore_errors(true);
    });
    CapturedStderr err;
    run.trainer->fit();
    const auto text = err.text();
    CHECK(text.find("the checkpoint of batch 1 was not saved (save_ignore_errors is set: training continues)") !=
          std::string::npos);
    CHECK(text.find("ba1.pt") != std::string::npos);
    CHECK(listing(dir.path()) == Names{"ba2.pt", "ba3.pt", "latest-rank0.pt"});
    CHECK(link_target(dir / "latest-rank0.pt") == "ba3.pt");
  }

  TEST_CASE("the saver's destructor waits for the save in flight") {
    TempDir dir;
    auto run = make_run(blobs(12), "2ba", {});
    run.trainer->fit();
    GatedIo io;
    OpenOnExit open_on_exit{io};
    run.trainer->state().env = &io;
    std::thread opener;
    {
      CheckpointSaver saver(CheckpointSaverOptions().folder(dir.path()).filename("x.pt").save_async(true).overwrite(true));
      saver.start_save(run.trainer->state());
      CHECK(io.writer_waiting());
      CHECK_FALSE(fs::exists(dir / "x.pt"));
      opener = std::thread([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        io.open_gate();
      });
    }
    CHECK(fs::exists(dir / "x.pt"));
    CHECK_NOTHROW(read_checkpoint(dir / "x.pt"));
    opener.join();
  }

  TEST_CASE("save_async in YAML, for the trainer and the checkpoint_saver callback") {
    auto r = builtin_registry();
    const auto options = config::RunConfig::parse(tiny_config("save_folder: /tmp/x\nsave_async: true\n"), "run.yaml",
                                                  {}, r)
                             .build(r);
    CHECK(options.save_async());
    CHECK_FALSE(config::RunConfig::parse(tiny_config(), "run.yaml", {}, r).build(r).save_async());
    const auto with_callback = config::RunConfig::parse(
        tiny_config("callbacks:\n  checkpoint_saver: {folder: /tmp/x, save_async: true}\n"), "run.yaml", {}, r);
    const auto callbacks = with_callback.build(r).callbacks();
    REQUIRE(callbacks.size() == 1);
    auto saver = std::dynamic_pointer_cast<CheckpointSaver>(callbacks.front());
    REQUIRE(saver);
    CHECK(saver->options().save_async());
  }

  TEST_CASE("the optimizer step waits for save_async's copy: each checkpoint holds its batch's weights") {
    TempDir dir;
    auto saver = std::make_shared<CheckpointSaver>(
        CheckpointSaverOptions().folder(dir.path()).filename("ba{batch}.pt").save_interval("2ba").save_async(true));
    std::map<int64_t, torch::Tensor> tables;
    std::vector<std::shared_ptr<Callback>> callbacks{saver};
    for (int64_t batch : {2, 4, 6}) {
      callbacks.push_back(std::make_shared<AtBatch>(Event::BATCH_END, 
          batch, [&tables, batch](State& state) { tables[batch] = named_weights(state).at("table"); }));
    }
    auto trainer = big_table_run("6ba", callbacks);
    trainer->fit();  // a step during a copy would fail a save, and fit() with it
    REQUIRE(tables.size() == 3);
    for (const auto& [batch, table] : tables) {
      CAPTURE(batch);
      CHECK(torch::equal(saved_table(dir / ("ba" + std::to_string(batch) + ".pt")), table));
    }
    CHECK_FALSE(torch::equal(tables.at(2), tables.at(4)));  // the table does train
  }

  TEST_CASE("a callback changing a parameter while save_async copies it fails that save, naming the tensor") {
    for (const bool waits : {false, true}) {
      CAPTURE(waits);
      TempDir dir;
      auto saver = std::make_shared<CheckpointSaver>(
          CheckpointSaverOptions().folder(dir.path()).filename("ba{batch}.pt").save_interval("2ba").save_async(true));
      torch::Tensor at_2;
      auto record = std::make_shared<AtBatch>(Event::BATCH_END, 2, [&](State& state) { at_2 = named_weights(state).at("table"); });
      // Right after the saver's event, while the copy it started runs (microseconds against tens of
      // milliseconds); waiting for the copy first is the documented way.
      auto edit = std::make_shared<AtBatch>(Event::BATCH_CHECKPOINT, 2, [&](State& state) {
        if (waits) state.checkpoint_copy.wait();
        torch::NoGradGuard no_grad;
        state.model->named_parameters()["table"].add_(1.0);
      });
      auto trainer = big_table_run("4ba", {record, saver, edit});
      if (!waits) {
        CHECK_THROWS_WITH_AS(trainer->fit(),
                             doctest::Contains("'state/model/table' changed in place while the checkpoint of batch 2 "
                                               "was copied from it, so that checkpoint was not written"),
                             Error);
        CHECK_FALSE(fs::exists(dir / "ba2.pt"));
        CHECK(files_in(dir.path()).empty());  // no temporary left either
      } else {
        trainer->fit();
        CHECK(torch::equal(saved_table(dir / "ba2.pt"), at_2));
        CHECK(fs::exists(dir / "ba4.pt"));
      }
    }
  }
}
