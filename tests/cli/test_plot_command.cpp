#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include "cli/cli_support.h"
#include "tempo/cli/plot.h"
#include "tempo/loggers/file_logger.h"
#include "plot/png_check.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("tempo plot draws a hand-written log: panels, series and the line where it should be") {
    TempDir dir;
    const auto log = dir / "logs-rank0.jsonl";
    std::string text = "{\"wall_time\": 1, \"hyperparameters\": {\"run_name\": \"x\"}}\n";
    for (int step = 0; step <= 10; ++step) {
      text += "{\"step\": " + std::to_string(step) + ", \"epoch\": 0, \"batch\": " + std::to_string(step) +
              ", \"metrics\": {\"loss/train/total\": " + std::to_string(step) + ", \"time/epoch\": 0, " +
              "\"lr-Adam/group0\": 0.001, \"metrics/train/Accuracy\": 0.5}}\n";
    }
    text += "{\"step\": 10, \"metrics\": {\"metrics/eval/Accuracy\": 0.75}}\n";
    text += "{\"step\": 11, \"metr";  // a last line cut short: not a record
    write_file(log, text);

    const auto r = run_command(cli::run_plot, {dir.path()});
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    const auto out_path = dir / "logs-rank0.png";
    CHECK(r.out == "wrote " + out_path + " (1120x640, 3 panels, 4 series, 12 records)\n");
    const auto panels = cli::panels_from_log(log);
    REQUIRE(panels.size() == 3);
    CHECK(panels[0].title == "loss");
    CHECK(panels[1].title == "Accuracy");
    CHECK(panels[1].series.size() == 2);
    CHECK(panels[1].series[0].name == "eval");
    CHECK(panels[1].series[1].name == "train");
    CHECK(panels[2].title == "learning rate");
    CHECK(panels[2].series[0].name == "Adam/group0");

    const auto png = decode_png(read_all(out_path));
    CHECK(png.width == 1120);
    CHECK(png.height == 640);
    // loss = step: the loss panel (top left) has its line through (5, 5).
    const auto frame = plot::panel_frame(panels[0], 0, 0, 560, 320);
    const auto color = plot::series_color(0);
    CHECK(png.pixel(frame.px(5), frame.py(5)) == std::array<uint8_t, 3>{color.r, color.g, color.b});
    CHECK(png.pixel(frame.px(3), frame.py(7)) == std::array<uint8_t, 3>{255, 255, 255});

    // -o elsewhere; errors are one line and status 2.
    const auto other = dir / "other.png";
    CHECK(run_command(cli::run_plot, {log, "-o", other}).status == 0);
    CHECK(decode_png(read_all(other)).width == 1120);
    write_file(dir / "bad.jsonl", "{\"step\": 1}\n{\"step\": 2,\n");
    auto bad = run_command(cli::run_plot, {dir / "bad.jsonl"});
    CHECK(bad.status == 2);
    CHECK(bad.err.find("bad.jsonl:2: invalid JSON") != std::string::npos);
    const auto missing = run_command(cli::run_plot, {dir / "missing.jsonl"});
    CHECK(missing.status == 2);
    CHECK(missing.err == "tempo plot: cannot read the log '" + dir / "missing.jsonl" + "': it does not exist\n");
    const auto unwritable = run_command(cli::run_plot, {log, "-o", dir / "no/such/folder.png"});
    CHECK(unwritable.status == 2);
    CHECK(unwritable.err ==
          "tempo plot: cannot write the chart '" + dir / "no/such/folder.png" + "': No such file or directory\n");
    CHECK(run_command(cli::run_plot, {}).status == 2);
    CHECK(run_command(cli::run_plot, {"--help"}).status == 0);
  }

  TEST_CASE("tempo plot draws what the file logger wrote during a run") {
    TempDir dir;
    auto file = std::make_shared<FileLogger>(FileLoggerOptions().filename(dir / "run/logs-rank{rank}.jsonl"));
    {
      auto run = make_run(blobs(32), "2ep", [&](TrainerOptions& o) {
        o.loggers({file}).eval_dataloader(loader(blobs(12, 8, 5), 4, false));
      });
      run.trainer->fit();
    }
    const auto r = run_command(cli::run_plot, {dir / "run", "-o", dir / "run.png"});
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    // loss, Accuracy (train and eval), CrossEntropy (eval).
    CHECK(r.out.find("(1120x640, 3 panels, 4 series,") != std::string::npos);
    CHECK(decode_png(read_all(dir / "run.png")).height == 640);
  }
}
