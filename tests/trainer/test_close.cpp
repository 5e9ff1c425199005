// Callback::close (Composer's Callback.close): run at the end of every fit(), also a failed one;
// a failing close() is a warning and never hides fit()'s own error.
#include <doctest/doctest.h>

#include <filesystem>
#include <stdexcept>

#include "tempo/callbacks/checkpoint_saver.h"
#include "support/capture_stderr.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

class CloseRecorder : public Callback {
 public:
  int closed = 0;
  int64_t closed_at = -1;

 protected:
  void on_close(State& state, Logger&) override {
    ++closed;
    closed_at = state.timestamp.batch();
  }
};

class FailingClose : public Callback {
 protected:
  void on_close(State&, Logger&) override { throw std::runtime_error("cannot flush"); }
};

class FailAtBatch : public Callback {
 public:
  explicit FailAtBatch(int64_t batch) : batch_(batch) {}

 protected:
  void on_batch_end(State& state, Logger&) override {
    if (state.timestamp.batch() == batch_) throw std::runtime_error("boom at batch " + std::to_string(batch_));
  }

 private:
  int64_t batch_;
};

}  // namespace

TEST_SUITE("trainer") {
  TEST_CASE("close() runs once at the end of every fit(), after FIT_END") {
    auto recorder = std::make_shared<CloseRecorder>();
    auto events = std::make_shared<EventRecorder>();
    auto run = make_run(blobs(12), "1ep", 42, 7, {events, recorder});
    run.trainer->fit();
    CHECK(recorder->closed == 1);
    CHECK(recorder->closed_at == 3);
    CHECK(events->events.back() == "fit_end");
    run.trainer->fit(Time::parse("2ba"));
    CHECK(recorder->closed == 2);
    CHECK(recorder->closed_at == 5);
  }

  TEST_CASE("a failed fit() still closes every callback, and its own error stands over a failing close()") {
    TempDir dir;
    auto recorder = std::make_shared<CloseRecorder>();
    auto failing = std::make_shared<FailingClose>();
    // The saver is built from the options and goes after the user's callbacks: it still closes, so
    // its background save is waited for.
    auto run = make_run(blobs(12), "2ep", 42, 7, {std::make_shared<FailAtBatch>(2), failing, recorder}, 4,
                        [&](TrainerOptions& o) { o.save_folder(dir.path()).save_interval("1ba").save_async(true); });
    std::string err;
    {
      CapturedStderr captured;
      CHECK_THROWS_WITH_AS(run.trainer->fit(), "boom at batch 2", std::runtime_error);
      err = captured.text();
    }
    CHECK(recorder->closed == 1);
    CHECK(err.find("tempo: warning: FailingClose.close(): cannot flush") != std::string::npos);
    CHECK_FALSE(run.trainer->checkpoint_saver()->save_in_flight());
    CHECK(std::filesystem::exists(dir / "ep0-ba1-rank0.pt"));
  }
}
