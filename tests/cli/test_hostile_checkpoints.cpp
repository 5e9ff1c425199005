// tempo inspect and tempo export on checkpoints whose pickle is built to crash or stall a reader:
// containers nested 200000 deep, and a memo bomb (shared references that expand to 10^30
// values). Each is one line on stderr and exit status 2, as for any other damaged file.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "cli/export.h"
#include "cli/inspect.h"
#include "cli_support.h"
#include "serialization/hostile_pickles.h"
#include "support/temp_dir.h"

using tempo::testing::CommandResult;
using tempo::testing::run_command;

namespace {

bool one_line(const std::string& text) {
  return !text.empty() && text.back() == '\n' && std::count(text.begin(), text.end(), '\n') == 1;
}

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("inspect and export refuse a pickle nested 200000 deep in one line") {
    tempo::testing::TempDir dir;
    const auto path = dir / "deep.pt";
    const std::string why = "checkpoint '" + path + "': pickle nests deeper than 256 levels\n";
    for (const auto& pickle : {tempo::testing::nested_tuples(200000), tempo::testing::nested_dicts(200000)}) {
      tempo::testing::write_pickle_checkpoint(path, pickle);
      for (const auto& args : {std::vector<std::string>{path}, std::vector<std::string>{path, "--json"}}) {
        const CommandResult r = run_command(tempo::cli::run_inspect, args);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err == "tempo inspect: " + why);
      }
      const CommandResult r = run_command(tempo::cli::run_export, {path, dir / "out.safetensors"});
      CHECK(r.status == 2);
      CHECK(r.err == "tempo export: " + why);
    }
  }

  TEST_CASE("inspect and export refuse a memo bomb in one line, at once") {
    tempo::testing::TempDir dir;
    const auto path = dir / "bomb.pt";
    tempo::testing::write_pickle_checkpoint(path, tempo::testing::memo_bomb());
    const std::string why =
        "checkpoint '" + path + "': pickle expands to more than 16777216 values through shared references\n";
    for (const auto& args : {std::vector<std::string>{path}, std::vector<std::string>{path, "--json"},
                             std::vector<std::string>{path, "--all"}}) {
      const CommandResult r = run_command(tempo::cli::run_inspect, args);
      CHECK(r.status == 2);
      CHECK(r.out.empty());
      CHECK(one_line(r.err));
      CHECK(r.err == "tempo inspect: " + why);
    }
    const CommandResult r = run_command(tempo::cli::run_export, {path, dir / "out.safetensors"});
    CHECK(r.status == 2);
    CHECK(r.err == "tempo export: " + why);
  }

  TEST_CASE("inspect prints a checkpoint whose lists share one list within the bound") {
    tempo::testing::TempDir dir;
    const auto path = dir / "shared.pt";
    // Four levels of ten: 11111 lists once expanded.
    tempo::testing::write_pickle_checkpoint(path, tempo::testing::memo_bomb(4, 10));
    const CommandResult r = run_command(tempo::cli::run_inspect, {path, "--all"});
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') > 11111);
  }
}
