#include <doctest/doctest.h>

#include <sstream>

#include "tempo/loggers/console_logger.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

// The progress headers ("[epoch=1][batch=2/8]:") in the order printed.
std::vector<std::string> headers(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '[') out.push_back(line);
  }
  return out;
}

std::string run_console(const std::string& interval, const std::string& max_duration, bool eval = false) {
  std::ostringstream out;
  auto console = std::make_shared<ConsoleLogger>(ConsoleLoggerOptions().log_interval(Time::parse(interval)).output(&out));
  auto run = make_run(blobs(32), max_duration, [&](TrainerOptions& o) {
    o.loggers({console});
    if (eval) o.eval_dataloader(loader(blobs(12, 8, 5), 4, false));
  });
  run.trainer->fit();
  return out.str();
}

}  // namespace

TEST_SUITE("loggers") {
  TEST_CASE("console log_interval in batches: the first batch, every multiple, and what is left at the end") {
    const auto text = run_console("3ba", "1ep");
    CAPTURE(text);
    CHECK(headers(text) == std::vector<std::string>{"[epoch=1][batch=1/8]:", "[epoch=1][batch=3/8]:",
                                                    "[epoch=1][batch=6/8]:", "[epoch=1][batch=8/8]:"});
    CHECK(text.find("[epoch=1][batch=3/8]:\n\t Train loss/train/total: ") != std::string::npos);
    CHECK(text.find("\t Train metrics/train/Accuracy: ") != std::string::npos);
    CHECK(text.find("Config:\n") != std::string::npos);
  }

  TEST_CASE("console log_interval in epochs, and a line after every evaluation") {
    const auto text = run_console("1ep", "2ep", /*eval=*/true);
    CAPTURE(text);
    const auto h = headers(text);
    REQUIRE(h.size() >= 4);
    CHECK(h[0] == "[epoch=1][batch=8/8]:");
    CHECK(h[1] == "[Eval batch=3/3] Eval on eval data:");
    CHECK(h[2] == "[epoch=2][batch=8/8]:");
    CHECK(h[3] == "[Eval batch=3/3] Eval on eval data:");
    CHECK(text.find("\t Eval metrics/eval/Accuracy: ") != std::string::npos);
    // Values are printed as Composer prints floats: four decimals.
    const auto at = text.find("Train loss/train/total: ");
    REQUIRE(at != std::string::npos);
    const auto value = text.substr(at + 24, text.find('\n', at) - at - 24);
    CHECK(value.size() - value.find('.') - 1 == 4);
  }

  TEST_CASE("console log_interval with a max_duration in batches") {
    const auto text = run_console("4ba", "10ba");
    CHECK(headers(text) ==
          std::vector<std::string>{"[batch=1/10]:", "[batch=4/10]:", "[batch=8/10]:", "[batch=10/10]:"});
  }

  TEST_CASE("console log_interval must be in ep or ba") {
    CHECK_THROWS_AS(ConsoleLogger(ConsoleLoggerOptions().log_interval(Time::parse("10sp"))), ConfigError);
    CHECK_THROWS_AS(ConsoleLogger(ConsoleLoggerOptions().log_interval(Time::parse("0ba"))), ConfigError);
    CHECK_THROWS_AS(ConsoleLogger(ConsoleLoggerOptions().stream("stdlog")), ConfigError);
  }
}
