// tempo inspect and tempo export on checkpoints whose pickle is built to crash or stall a reader:
// containers nested 200000 deep, and a memo bomb (shared references that expand to 10^30
// values). Each is one line on stderr and exit status 2, as for any other damaged file.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tempo/cli/export.h"
#include "tempo/cli/inspect.h"
#include "cli_support.h"
#include "serialization/hostile_pickles.h"
#include "support/temp_dir.h"

using tempo::testing::CommandResult;
using tempo::testing::run_command;

namespace {

bool one_line(const std::string& text) {
  return !text.empty() && text.back() == '\n' && std::count(text.begin(), text.end(), '\n') == 1;
}

// Each of `inspect_args` given to tempo inspect, then `path` to tempo export: each refuses in one
// line, `why`, with exit status 2 and nothing on stdout.
void check_refused(const std::string& path, const std::vector<std::vector<std::string>>& inspect_args,
                   const std::string& out, const std::string& why) {
  for (const auto& args : inspect_args) {
    const CommandResult r = run_command(tempo::cli::run_inspect, args);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(one_line(r.err));
    CHECK(r.err == "tempo inspect: " + why);
  }
  const CommandResult r = run_command(tempo::cli::run_export, {path, out});
  CHECK(r.status == 2);
  CHECK(r.err == "tempo export: " + why);
}

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("inspect and export refuse a pickle nested 200000 deep in one line") {
    tempo::testing::TempDir dir;
    const auto path = dir / "deep.pt";
    const std::string why = "checkpoint '" + path + "': pickle nests deeper than 256 levels\n";
    for (const auto& pickle : {tempo::testing::nested_tuples(200000), tempo::testing::nested_dicts(200000)}) {
      tempo::testing::write_pickle_checkpoint(path, pickle);
      check_refused(path, {{path}, {path, "--json"}}, dir / "out.safetensors", why);
    }
  }

  TEST_CASE("inspect and export refuse a memo bomb in one line, at once") {
    tempo::testing::TempDir dir;
    const auto path = dir / "bomb.pt";
    tempo::testing::write_pickle_checkpoint(path, tempo::testing::memo_bomb());
    const std::string why =
        "checkpoint '" + path + "': pickle expands to more than 16777216 values through shared references\n";
    check_refused(path, {{path}, {path, "--json"}, {path, "--all"}}, dir / "out.safetensors", why);
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
