// RemoteUploaderDownloader: the run's other files (JSON lines, TensorBoard events, config.yaml) go
// to a store under file_path_format_string's names; tested through file:// (tests/storage covers
// S3 itself).
#include <doctest/doctest.h>

#include <filesystem>

#include "cli/cli_support.h"
#include "support/fixtures.h"
#include "tempo/loggers/file_logger.h"
#include "tempo/loggers/remote_uploader_downloader.h"
#include "tempo/loggers/tensorboard_logger.h"

using namespace tempo;
using namespace tempo::testing;
namespace fs = std::filesystem;

TEST_SUITE("loggers") {
  TEST_CASE("remote_uploader_downloader uploads the file and TensorBoard loggers' files as they are at the end") {
    TempDir dir;
    WorkingFolder here(dir / "work");
    auto file = std::make_shared<FileLogger>(FileLoggerOptions().filename("logs/{run_name}.jsonl").flush_interval(2));
    auto board = std::make_shared<TensorBoardLogger>(TensorBoardLoggerOptions().log_dir("tb"));
    auto remote = std::make_shared<RemoteUploaderDownloader>(
        RemoteUploaderDownloaderOptions()
            .bucket_uri("file://" + (dir / "store") + "/team")
            .file_path_format_string("{run_name}/{remote_file_name}"));
    auto run = make_run(blobs(20), "2ep", [&](TrainerOptions& o) { o.loggers({file, board, remote}); });
    run.trainer->fit();
    const auto uploaded = dir / "store/team/test-run/logs/test-run.jsonl";
    REQUIRE(fs::exists(uploaded));
    CHECK(read_text(uploaded) == read_text(dir / "work/logs/test-run.jsonl"));
    CHECK(remote->key_of("logs/test-run.jsonl") == (dir / "store").substr(1) + "/team/test-run/logs/test-run.jsonl");
    const auto events = board->filename();
    REQUIRE(fs::exists(dir / "store/team/test-run/" + events));
    CHECK(read_text(dir / "store/team/test-run/" + events) == read_text(events));
  }

  TEST_CASE("remote_uploader_downloader refuses what it cannot use, before training") {
    CHECK_THROWS_WITH_AS(RemoteUploaderDownloader{RemoteUploaderDownloaderOptions()}, doctest::Contains("bucket_uri is empty"),
                         ConfigError);
    CHECK_THROWS_WITH_AS(RemoteUploaderDownloader{RemoteUploaderDownloaderOptions().bucket_uri("gs://b")},
                         doctest::Contains("\"gs://\""), ConfigError);
    CHECK_THROWS_WITH_AS(RemoteUploaderDownloader{RemoteUploaderDownloaderOptions().bucket_uri("s3://b").file_path_format_string("{epoch}/x")},
                         doctest::Contains("expected a name with {remote_file_name}"), ConfigError);
  }
}
