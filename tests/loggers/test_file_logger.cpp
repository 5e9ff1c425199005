#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "tempo/loggers/file_logger.h"
#include "support/fixtures.h"
#include "tempo/util/json.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Every line of the file, parsed; a line that does not parse fails the test.
std::vector<JsonValue> records_of(const std::string& path) {
  std::vector<JsonValue> out;
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    CAPTURE(line);
    REQUIRE_NOTHROW(out.push_back(parse_json(line, path + ":" + std::to_string(n))));
  }
  return out;
}

// The steps of the metric records, in file order.
std::vector<int64_t> steps_of(const std::vector<JsonValue>& records) {
  std::vector<int64_t> steps;
  for (const auto& r : records) {
    if (const auto* s = r.find("step")) steps.push_back(static_cast<int64_t>(s->number));
  }
  return steps;
}

std::vector<int64_t> range(int64_t from, int64_t to) {
  std::vector<int64_t> out;
  for (int64_t i = from; i <= to; ++i) out.push_back(i);
  return out;
}

void check_metric_record(const JsonValue& r) {
  for (const char* field : {"step", "epoch", "batch", "batch_in_epoch", "sample", "token", "total_wct", "wall_time"}) {
    CAPTURE(field);
    const auto* value = r.find(field);
    REQUIRE(value);
    CHECK(value->kind == JsonValue::Kind::number);
  }
  const auto* metrics = r.find("metrics");
  REQUIRE(metrics);
  CHECK(metrics->kind == JsonValue::Kind::object);
  CHECK(r.find("step")->number == r.find("batch")->number);
}

}  // namespace

TEST_SUITE("loggers") {
  TEST_CASE("file logger: one JSON line per step with the timestamp and every metric of the step") {
    TempDir dir;
    auto file = std::make_shared<FileLogger>(FileLoggerOptions().filename(dir.path() + "/{run_name}/log-{rank}.jsonl").flush_interval(3));
    auto run = make_run(blobs(32), "2ep", [&](TrainerOptions& o) {
      o.loggers({file}).eval_dataloader(loader(blobs(12, 8, 5), 4, false));
    });
    CHECK(file->filename() == dir.path() + "/test-run/log-0.jsonl");
    run.trainer->fit();
    const auto records = records_of(file->filename());
    REQUIRE(records.size() >= 2);
    const auto* hyperparameters = records[0].find("hyperparameters");
    REQUIRE(hyperparameters);
    CHECK(hyperparameters->find("run_name")->string == "test-run");
    CHECK(hyperparameters->find("rank_zero_seed")->string == "42");
    // Steps 0..16, each once (16: the last evaluation and the final time/... values).
    CHECK(steps_of(records) == range(0, 16));
    for (size_t i = 1; i < records.size(); ++i) check_metric_record(records[i]);
    const auto& step8 = records[9];  // the first batch of epoch 1, and epoch 0's evaluation
    CHECK(step8.find("step")->number == 8);
    const auto* metrics = step8.find("metrics");
    CHECK(metrics->find("loss/train/total")->as_number().has_value());
    CHECK(metrics->find("metrics/eval/Accuracy")->as_number().has_value());
    CHECK(metrics->find("time/epoch")->number == 1);
    CHECK(step8.find("sample")->number == 32);
    CHECK(records[3].find("batch_in_epoch")->number == 2);
  }

  TEST_CASE("file logger: a resumed run continues the file from its checkpoint's step; a fresh one needs overwrite") {
    TempDir dir;
    const auto log = dir / "log.jsonl";
    auto first = std::make_shared<FileLogger>(FileLoggerOptions().filename(log).flush_interval(1));
    {
      auto run = make_run(blobs(32), "12ba", [&](TrainerOptions& o) {
        o.loggers({first}).save_folder(dir / "ckpt").save_interval("4ba");
      });
      run.trainer->fit();
    }
    std::map<int64_t, double> losses;
    for (const auto& r : records_of(log)) {
      if (const auto* m = r.find("metrics")) {
        if (const auto* loss = m->find("loss/train/total")) losses[static_cast<int64_t>(r.find("step")->number)] = loss->number;
      }
    }
    REQUIRE(losses.size() == 12);

    auto second = std::make_shared<FileLogger>(FileLoggerOptions().filename(log).flush_interval(1));
    {
      auto run = make_run(blobs(32), "12ba", [&](TrainerOptions& o) {
        o.loggers({second}).load_path(dir / "ckpt/ep0-ba4-rank0.pt");
      });
      run.trainer->fit();
    }
    const auto records = records_of(log);
    // Steps up to the checkpoint's (4) from the first run, then the resumed run's from 4 on.
    auto expected = range(0, 4);
    for (auto s : range(4, 12)) expected.push_back(s);
    CHECK(steps_of(records) == expected);
    for (const auto& r : records) {
      const auto* m = r.find("metrics");
      if (!m || !m->find("loss/train/total")) continue;
      CHECK(m->find("loss/train/total")->number == losses.at(static_cast<int64_t>(r.find("step")->number)));
    }

    // A fresh run does not write over a log unless told to.
    auto third = std::make_shared<FileLogger>(FileLoggerOptions().filename(log));
    CHECK_THROWS_AS(make_run(blobs(32), "2ba", [&](TrainerOptions& o) { o.loggers({third}); }), ConfigError);
    auto fourth = std::make_shared<FileLogger>(FileLoggerOptions().filename(log).overwrite(true));
    {
      auto run = make_run(blobs(32), "2ba", [&](TrainerOptions& o) { o.loggers({fourth}); });
      run.trainer->fit();
    }
    CHECK(steps_of(records_of(log)) == range(0, 2));
  }

  // Runs only when the SIGKILL test below re-executes this binary with TEMPO_FILE_LOGGER_CHILD
  // set: trains with the file logger (flush every batch) until killed.
  TEST_CASE("file logger child process") {
    const char* path = std::getenv("TEMPO_FILE_LOGGER_CHILD");
    if (!path) return;
    auto file = std::make_shared<FileLogger>(FileLoggerOptions().filename(path).flush_interval(1));
    auto run = make_run(blobs(64), "200000ba", [&](TrainerOptions& o) { o.loggers({file}); });
    run.trainer->fit();
  }

  TEST_CASE("file logger: after a SIGKILL every line is a whole, parseable record") {
    TempDir dir;
    const auto log = dir / "killed.jsonl";
    const std::string env = "TEMPO_FILE_LOGGER_CHILD=" + log;
    const std::string filter = "--test-case=file logger child process";
    for (const size_t wanted : {30, 113, 257}) {
      CAPTURE(wanted);
      std::filesystem::remove(log);
      // Everything exec needs is made before fork: the child only calls async-signal-safe functions.
      char* argv[] = {const_cast<char*>("tempo_tests"), const_cast<char*>(filter.c_str()), nullptr};
      char* envp[] = {const_cast<char*>(env.c_str()), nullptr};
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::execve("/proc/self/exe", argv, envp);
        ::_exit(127);
      }
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
      size_t lines = 0;
      while (std::chrono::steady_clock::now() < deadline) {
        const auto text = read_all(log);
        lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
        if (lines >= wanted) break;
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) FAIL("the child ended before it was killed");
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
      REQUIRE(lines >= wanted);
      CHECK(WIFSIGNALED(status));
      const auto text = read_all(log);
      REQUIRE(!text.empty());
      CHECK(text.back() == '\n');
      const auto records = records_of(log);
      REQUIRE(records.size() >= wanted);
      CHECK(records[0].find("hyperparameters"));
      for (size_t i = 1; i < records.size(); ++i) check_metric_record(records[i]);
      const auto steps = steps_of(records);
      CHECK(steps == range(0, static_cast<int64_t>(steps.size()) - 1));
    }
  }
}
