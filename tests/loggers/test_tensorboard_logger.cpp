#include <doctest/doctest.h>
#include <sys/wait.h>

#include <fmt/format.h>

#include <fstream>
#include <regex>

#include "tempo/loggers/tensorboard_logger.h"
#include "tempo/loggers/tfrecord.h"
#include "support/fixtures.h"
#include "support/python.h"
#include "tensorboard_event.pb.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

// Keeps every metric logged, as (tag, step, value).
class Recorder : public LoggerDestination {
 public:
  std::vector<std::tuple<std::string, int64_t, float>> scalars;
  void log_metrics(const Metrics& m, int64_t step) override {
    for (const auto& [name, value] : m) scalars.emplace_back(name, step, static_cast<float>(value));
  }
  void log_hyperparameters(const Hyperparameters&) override {}
};

// Logs a learning rate every batch, as an LR monitor does.
class LrLogger : public Callback {
 protected:
  void on_batch_end(State& state, Logger& logger) override {
    logger.log_metrics({{"lr-Adam/group0", 0.01 / static_cast<double>(state.timestamp.batch())}});
  }
};

}  // namespace

TEST_SUITE("loggers") {
  TEST_CASE("tfrecord framing round trip, and damage is found") {
    const std::string bytes = tfrecord_frame("hello") + tfrecord_frame("") + tfrecord_frame(std::string(300, 'x'));
    CHECK(bytes.size() == 16 + 5 + 16 + 16 + 300);
    CHECK(parse_tfrecords(bytes, "mem") == std::vector<std::string>{"hello", "", std::string(300, 'x')});
    auto flipped = bytes;
    flipped[14] ^= 1;  // inside "hello"
    CHECK_THROWS_WITH_AS(parse_tfrecords(flipped, "mem"), doctest::Contains("CRC of its 5 data bytes"), DataError);
    flipped = bytes;
    flipped[2] ^= 1;  // the length
    CHECK_THROWS_WITH_AS(parse_tfrecords(flipped, "mem"), doctest::Contains("CRC of its length"), DataError);
    CHECK_THROWS_WITH_AS(parse_tfrecords(bytes.substr(0, bytes.size() - 1), "mem"), doctest::Contains("torn"),
                         DataError);
  }

  TEST_CASE("tensorboard event file: CRCs valid, records are Events, scalars and text as logged") {
    TempDir dir;
    auto tb = std::make_shared<TensorBoardLogger>(TensorBoardLoggerOptions().log_dir(dir / "tb").flush_interval(3));
    auto recorder = std::make_shared<Recorder>();
    std::string path;
    {
      auto run = make_run(blobs(32), "10ba", 42, 7, {std::make_shared<LrLogger>()}, 4, [&](TrainerOptions& o) {
        o.loggers({tb, recorder});
      });
      path = tb->filename();
      run.trainer->fit();
    }
    CAPTURE(path);
    const auto name = std::filesystem::path(path).filename().string();
    CHECK(std::regex_match(name, std::regex(R"(events\.out\.tfevents\.\d{10}\.[^/]+)")));
    CHECK(std::filesystem::path(path).parent_path() == std::filesystem::path(dir / "tb/test-run"));

    const auto records = read_tfrecords(path);  // checks both CRCs of every record
    REQUIRE(records.size() > 2);
    std::vector<tensorboard::Event> events(records.size());
    for (size_t i = 0; i < records.size(); ++i) REQUIRE(events[i].ParseFromString(records[i]));
    CHECK(events[0].file_version() == "brain.Event:2");
    CHECK(events[0].wall_time() > 1.6e9);

    std::vector<std::tuple<std::string, int64_t, float>> scalars;
    std::map<std::string, std::string> texts;
    for (size_t i = 1; i < events.size(); ++i) {
      const auto& event = events[i];
      REQUIRE(event.has_summary());
      for (const auto& value : event.summary().value()) {
        if (value.value_case() == tensorboard::Summary::Value::kSimpleValue) {
          scalars.emplace_back(value.tag(), event.step(), value.simple_value());
        } else {
          REQUIRE(value.value_case() == tensorboard::Summary::Value::kTensor);
          CHECK(value.metadata().plugin_data().plugin_name() == "text");
          CHECK(value.tensor().dtype() == tensorboard::DT_STRING);
          REQUIRE(value.tensor().tensor_shape().dim_size() == 1);
          CHECK(value.tensor().tensor_shape().dim(0).size() == 1);
          REQUIRE(value.tensor().string_val_size() == 1);
          texts[value.tag()] = value.tensor().string_val(0);
        }
      }
    }
    CHECK((scalars == recorder->scalars));
    CHECK(texts == std::map<std::string, std::string>{{"hyperparameters/rank_zero_seed", "42"},
                                                      {"hyperparameters/run_name", "test-run"}});
    size_t losses = 0, lrs = 0;
    for (const auto& [tag, step, value] : scalars) {
      losses += tag == "loss/train/total";
      if (tag == "lr-Adam/group0") {
        ++lrs;
        CHECK(value == static_cast<float>(0.01 / static_cast<double>(step)));
      }
    }
    CHECK(losses == 10);
    CHECK(lrs == 10);
  }

  TEST_CASE("TensorBoard's own EventAccumulator reads tempo's event files: every tag, step and value") {
    if (skip_without_python_module("tensorboard")) return;
    TempDir dir;
    auto tb = std::make_shared<TensorBoardLogger>(TensorBoardLoggerOptions().log_dir(dir / "tb"));
    auto recorder = std::make_shared<Recorder>();
    {
      auto run = make_run(blobs(32), "2ep", 42, 7, {std::make_shared<LrLogger>()}, 4, [&](TrainerOptions& o) {
        o.loggers({tb, recorder});
      });
      run.trainer->fit();
    }
    REQUIRE(recorder->scalars.size() > 30);
    std::ofstream expected(dir / "expected.tsv");
    for (const auto& [tag, step, value] : recorder->scalars) expected << fmt::format("{}\t{}\t{:.9g}\n", tag, step, value);
    expected << "text\thyperparameters/rank_zero_seed\t42\ntext\thyperparameters/run_name\ttest-run\n";
    expected.close();
    const auto [rc, output] =
        run_python_script("tensorboard_check.py", (dir / "tb/test-run") + " " + (dir / "expected.tsv"), dir / "py.log");
    INFO(output);
    if (rc != 0 && WEXITSTATUS(rc) == 77 && !python_required()) {
      MESSAGE("skipped: " << output);
      return;
    }
    CHECK(rc == 0);
    CHECK(output.find("ok: ") != std::string::npos);
  }
}
