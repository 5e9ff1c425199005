#include <doctest/doctest.h>

#include <sstream>

#include "tempo/loggers/progress_bar_logger.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> lines_with(const std::string& text, const std::string& part) {
  std::vector<std::string> out;
  for (const auto& line : lines_of(text)) {
    if (line.find(part) != std::string::npos) out.push_back(line);
  }
  return out;
}

// Keeps what a logger's state_dict() is at one batch's checkpoint event.
class StateProbe : public Callback {
 public:
  StateProbe(std::shared_ptr<LoggerDestination> logger, int64_t batch) : logger_(std::move(logger)), batch_(batch) {}
  c10::IValue seen;

 protected:
  void on_batch_checkpoint(State& state, Logger&) override {
    if (state.timestamp.batch() == batch_) seen = logger_->state_dict();
  }

 private:
  std::shared_ptr<LoggerDestination> logger_;
  int64_t batch_;
};

}  // namespace

TEST_SUITE("loggers") {
  TEST_CASE("progress bar, not a terminal: plain periodic lines without control characters") {
    std::ostringstream out;
    auto bar = std::make_shared<ProgressBarLogger>(ProgressBarLoggerOptions()
                                                       .output(&out)
                                                       .force_terminal(false)
                                                       .plain_interval_percent(25)
                                                       .plain_interval_s(1e6));
    CHECK_FALSE(bar->is_terminal());
    auto run = make_run(blobs(32), "2ep", [&](TrainerOptions& o) {
      o.loggers({bar}).eval_dataloader(loader(blobs(12, 8, 5), 4, false));
    });
    run.trainer->fit();
    const auto text = out.str();
    CAPTURE(text);
    CHECK(text.find('\r') == std::string::npos);
    CHECK(text.find('\x1b') == std::string::npos);
    for (const char c : text) CHECK((c == '\n' || (c >= 32 && c < 127)));
    CHECK(text.find("Config:\n") != std::string::npos);
    CHECK(text.find("run_name: test-run\n") != std::string::npos);
    // 8 batches an epoch: a line at 25, 50, 75 and 100%; closing adds none (nothing new to say).
    for (const std::string epoch : {"Epoch   0: ", "Epoch   1: "}) {
      const auto lines = lines_with(text, "train          " + epoch);
      REQUIRE(lines.size() == 4);
      CHECK(lines[0].find(" 25% 2/8 [") != std::string::npos);
      CHECK(lines[1].find(" 50% 4/8 [") != std::string::npos);
      CHECK(lines[3].find("100% 8/8 [") != std::string::npos);
      CHECK(lines[3].find("ba/s, loss/train/total=") != std::string::npos);
      CHECK(lines[3].find("metrics/train/Accuracy=") != std::string::npos);
    }
    // One evaluation per epoch: a count of its 3 batches and its metrics, labelled by evaluator.
    const auto evals = lines_with(text, "eval           Epoch");
    REQUIRE(evals.size() == 2);
    CHECK(evals[0].find("eval           Epoch   0: 3ba [") != std::string::npos);
    CHECK(evals[1].find("eval           Epoch   1: 3ba [") != std::string::npos);
    CHECK(evals[1].find("metrics/eval/Accuracy=") != std::string::npos);
    CHECK(evals[1].find("metrics/eval/CrossEntropy=") != std::string::npos);
    CHECK(evals[1].find("loss/train") == std::string::npos);
  }

  TEST_CASE("progress bar, terminal: redrawn in place, one line kept per bar") {
    std::ostringstream out;
    auto bar = std::make_shared<ProgressBarLogger>(
        ProgressBarLoggerOptions().output(&out).force_terminal(true).refresh_interval_s(0).bar_width(8));
    CHECK(bar->is_terminal());
    auto run = make_run(blobs(32), "12ba", [&](TrainerOptions& o) { o.loggers({bar}); });
    run.trainer->fit();
    const auto text = out.str();
    CAPTURE(text);
    // max_duration in batches: one bar for the run; drawn at the start and after each batch,
    // then once more when it closes.
    const auto draws = static_cast<size_t>(std::count(text.begin(), text.end(), '\r'));
    CHECK(draws == 14);
    CHECK(text.find("\x1b[K") != std::string::npos);
    const auto last = text.rfind('\r');
    const auto final_line = text.substr(last + 1);
    CHECK(final_line.find("100%|████████| 12/12 [") != std::string::npos);
    CHECK(final_line.find("loss/train/total=") != std::string::npos);
    CHECK(final_line.substr(final_line.size() - 4) == "\x1b[K\n");
    // A half-done draw: the bar has partial blocks.
    CHECK(text.find(" 50%|████    | 6/12 [") != std::string::npos);
    // Everything before the final newline is one terminal line (the Config block aside).
    const auto after_config = text.find("*\n", text.find("Config:")) + 2;
    CHECK(std::count(text.begin() + static_cast<std::ptrdiff_t>(after_config), text.end(), '\n') == 1);
  }

  TEST_CASE("progress bar state: round trip, and a resumed run continues its bar") {
    TempDir dir;
    std::ostringstream first_out;
    auto first = std::make_shared<ProgressBarLogger>(ProgressBarLoggerOptions().output(&first_out).force_terminal(false));
    auto probe = std::make_shared<StateProbe>(first, 3);
    auto run = make_run(blobs(32), "8ba", 42, 7, {probe}, 4, [&](TrainerOptions& o) {
      o.loggers({first}).save_folder(dir.path()).save_interval("1ba");
    });
    run.trainer->fit();
    REQUIRE(probe->seen.isGenericDict());
    const auto saved = probe->seen.toGenericDict();
    CHECK(saved.at("eval_pbar").isNone());
    const auto train = saved.at("train_pbar").toGenericDict();
    CHECK(train.at("n").toInt() == 3);
    CHECK(train.at("total").toInt() == 8);
    CHECK(train.at("timestamp_key").toStringRef() == "batch");
    CHECK(train.at("unit").toStringRef() == "ba");
    CHECK(train.at("metrics").toGenericDict().contains("loss/train/total"));
    CHECK(first->state_dict().toGenericDict().at("train_pbar").isNone());  // closed at FIT_END

    ProgressBarLogger copy(ProgressBarLoggerOptions().output(&first_out).force_terminal(false));
    copy.load_state_dict(probe->seen);
    CHECK(copy.state_dict().toGenericDict().at("train_pbar").toGenericDict().at("n").toInt() == 3);
    CHECK_THROWS_AS(copy.load_state_dict(c10::IValue(3)), CheckpointError);

    // Resuming from batch 3's checkpoint: the bar is the checkpoint's (3 of 8 done) and
    // goes on to 8 of 8, without a line for the batches before the restart.
    std::ostringstream second_out;
    auto second = std::make_shared<ProgressBarLogger>(
        ProgressBarLoggerOptions().output(&second_out).force_terminal(false).plain_interval_percent(50));
    auto resumed = make_run(blobs(32), "8ba", [&](TrainerOptions& o) {
      o.loggers({second}).load_path(dir / "ep0-ba3-rank0.pt");
    });
    const auto restored = second->state_dict().toGenericDict().at("train_pbar").toGenericDict();
    CHECK(restored.at("n").toInt() == 3);
    resumed.trainer->fit();
    const auto text = second_out.str();
    CAPTURE(text);
    const auto lines = lines_with(text, "train   ");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find(" 50% 4/8 [") != std::string::npos);
    CHECK(lines[1].find("100% 8/8 [") != std::string::npos);
    // Checkpoints below checkpoint_min_mb (64 by default) get no bar of their own.
    CHECK(first_out.str().find("saving ") == std::string::npos);
    CHECK(text.find("loading ") == std::string::npos);
  }

  TEST_CASE("progress bar: a bar while a large checkpoint is saved and while one is loaded") {
    TempDir dir;
    std::ostringstream save_out;
    // Every checkpoint counts as large here; the bar counts whole MiB.
    auto saving = std::make_shared<ProgressBarLogger>(
        ProgressBarLoggerOptions().output(&save_out).force_terminal(false).checkpoint_min_mb(0));
    auto run = make_run(blobs(32), "2ep", [&](TrainerOptions& o) {
      o.loggers({saving}).save_folder(dir.path()).save_interval("1ep");
    });
    run.trainer->fit();
    const auto saved_text = save_out.str();
    CAPTURE(saved_text);
    for (const std::string name : {"ep1-ba8-rank0.pt", "ep2-ba16-rank0.pt"}) {
      const auto lines = lines_with(saved_text, "saving " + name);
      REQUIRE(!lines.empty());
      CHECK(lines.front().rfind("checkpoint", 0) == 0);
      CHECK(lines.back().find("100% 1/1 [") != std::string::npos);
    }
    // The training bar's lines are not broken by the checkpoint's: each line is one bar's.
    for (const auto& line : lines_of(saved_text)) {
      CHECK_FALSE((line.find("saving ") != std::string::npos && line.find("Epoch") != std::string::npos));
    }

    std::ostringstream load_out;
    auto loading = std::make_shared<ProgressBarLogger>(
        ProgressBarLoggerOptions().output(&load_out).force_terminal(false).checkpoint_min_mb(0));
    auto resumed = make_run(blobs(32), "3ep", [&](TrainerOptions& o) {
      o.loggers({loading}).load_path(dir / "ep1-ba8-rank0.pt");
    });
    const auto loaded_text = load_out.str();
    CAPTURE(loaded_text);
    const auto lines = lines_with(loaded_text, "loading ep1-ba8-rank0.pt");
    REQUIRE(!lines.empty());
    CHECK(lines.back().find("100% 1/1 [") != std::string::npos);
  }

  TEST_CASE("progress bar options are checked") {
    CHECK_THROWS_AS(ProgressBarLogger(ProgressBarLoggerOptions().stream("stdlog")), ConfigError);
    CHECK_THROWS_AS(ProgressBarLogger(ProgressBarLoggerOptions().plain_interval_percent(0)), ConfigError);
    CHECK_NOTHROW(ProgressBarLogger(ProgressBarLoggerOptions().stream("STDOUT")));
  }
}
