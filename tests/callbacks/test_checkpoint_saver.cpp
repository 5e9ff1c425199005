#include <doctest/doctest.h>

#include <filesystem>

#include "tempo/callbacks/checkpoint_saver.h"
#include "tempo/callbacks/name_format.h"
#include "tempo/serialization/checkpoint_file.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;
namespace fs = std::filesystem;

namespace {

using Names = std::vector<std::string>;

// Trains 3 epochs of 3 batches (12 samples, batch 4) with the given saver options.
Names saved_names(const TempDir& dir, std::function<void(TrainerOptions&)> configure,
                  const std::string& max_duration = "3ep") {
  auto run = make_run(blobs(12), max_duration, [&](TrainerOptions& o) {
    o.save_folder(dir.path());
    configure(o);
  });
  run.trainer->fit();
  Names names;
  for (const auto& path : run.trainer->saved_checkpoints()) names.push_back(fs::path(path).filename().string());
  return names;
}

}  // namespace

TEST_SUITE("callbacks") {
  TEST_CASE("every Composer format variable is filled in, with format specs") {
    State state;
    state.run_name = "my-run";
    state.rank = 0;
    state.world_size = 1;
    state.timestamp = Timestamp(TimestampFields{0, 2, 25, 100, 7, 2, 7, 3, 12, 5, 90.5, 90.5, 10.25, 0.5});
    const std::string pattern =
        "{run_name}/{rank}-{local_rank}-{world_size}-{local_world_size}-{node_rank}/"
        "ep{epoch:03d}-ba{batch}-bie{batch_in_epoch}-sp{sample}-spie{sample_in_epoch}-tok{token}-tokie{token_in_epoch}"
        "-{total_wct:.1f}-{epoch_wct}-{batch_wct}-{{literal}}.pt";
    CHECK(NameFormat(pattern, "save_filename").format(state) ==
          "my-run/0-0-1-1-0/ep002-ba25-bie3-sp100-spie12-tok7-tokie5-90.5-10.25-0.5-{literal}.pt");
    CHECK(NameFormat::variables().size() == 16);
  }

  TEST_CASE("bad names are refused when the saver is built, naming the culprit") {
    CHECK_THROWS_WITH_AS(NameFormat("ep{epoc}.pt", "save_filename"), doctest::Contains("unknown variable '{epoc}'"),
                         ConfigError);
    CHECK_THROWS_WITH_AS(NameFormat("ep{epoch.pt", "save_filename"), doctest::Contains("unmatched '{'"), ConfigError);
    CHECK_THROWS_WITH_AS(NameFormat("ep}.pt", "save_filename"), doctest::Contains("unmatched '}'"), ConfigError);
    CHECK_THROWS_WITH_AS(NameFormat("ep{epoch:q}.pt", "save_filename"), doctest::Contains("format spec 'q'"),
                         ConfigError);
    // Widths are bounded before anything is formatted: this one would build a 1 GB name.
    CHECK_THROWS_WITH_AS(NameFormat("{epoch:>999999999}.pt", "save_filename"),
                         doctest::Contains("format spec '>999999999' of variable 'epoch' asks for 999999999 characters; "
                                           "a file name holds at most 255"),
                         ConfigError);
    CHECK_THROWS_AS(NameFormat("{run_name:.9999}.pt", "save_filename"), ConfigError);
    CHECK_THROWS_WITH_AS(NameFormat("{run_name:d}", "save_folder"), doctest::Contains("run_name"), ConfigError);
    CHECK_THROWS_AS(CheckpointSaver(CheckpointSaverOptions().filename("/etc/passwd")), ConfigError);
    CHECK_THROWS_AS(CheckpointSaver(CheckpointSaverOptions().num_checkpoints_to_keep(-2)), ConfigError);
    CHECK_NOTHROW(CheckpointSaver(CheckpointSaverOptions().num_checkpoints_to_keep(0)));  // Composer's "remove after upload"

    TempDir dir;
    // Rendered once when the trainer is built: refused before training, not at the first save.
    CHECK_THROWS_WITH_AS(make_run(blobs(12), "1ep", [&](TrainerOptions& o) {
                           o.save_folder(dir.path()).save_filename("../escaped-{batch}.pt");
                         }),
                         doctest::Contains("would leave the save folder"), ConfigError);
    CHECK_FALSE(fs::exists(dir / "../escaped-3.pt"));
    CHECK_THROWS_WITH_AS(make_run(blobs(12), "1ep", [](TrainerOptions& o) { o.run_name("../up"); }),
                         doctest::Contains("run_name"), ConfigError);
  }

  TEST_CASE("save_interval in ep, ba, a bare integer and a predicate") {
    {
      TempDir dir;
      CHECK(saved_names(dir, [](TrainerOptions& o) { o.save_interval("1ep"); }) ==
            Names{"ep1-ba3-rank0.pt", "ep2-ba6-rank0.pt", "ep3-ba9-rank0.pt"});
    }
    {
      TempDir dir;
      CHECK(saved_names(dir, [](TrainerOptions& o) { o.save_interval(2); }) ==
            Names{"ep2-ba6-rank0.pt", "ep3-ba9-rank0.pt"});  // the end of training is always saved
    }
    {
      TempDir dir;
      CHECK(saved_names(dir, [](TrainerOptions& o) { o.save_interval("4ba"); }) ==
            Names{"ep1-ba4-rank0.pt", "ep2-ba8-rank0.pt", "ep3-ba9-rank0.pt"});
    }
    {
      TempDir dir;  // ends mid-epoch: saved at its last batch
      CHECK(saved_names(dir, [](TrainerOptions& o) { o.save_interval("1ep"); }, "5ba") ==
            Names{"ep1-ba3-rank0.pt", "ep1-ba5-rank0.pt"});
    }
    {
      TempDir dir;
      CHECK(saved_names(dir,
                        [](TrainerOptions& o) {
                          o.save_interval(IntervalPredicate([](const State& s, Event e) {
                            return e == Event::BATCH_CHECKPOINT && s.timestamp.batch() % 5 == 0;
                          }));
                        }) == Names{"ep1-ba5-rank0.pt"});  // a predicate alone decides: no end-of-training save
    }
  }

  TEST_CASE("rotation keeps the newest N on disk; latest always points at the newest complete file") {
    // 0 (Composer's "remove each checkpoint after upload", with nothing to upload to): each
    // checkpoint goes once a newer one is durable, so the newest stays, as with 1.
    for (int64_t keep : {0, 1, 2, -1}) {
      CAPTURE(keep);
      TempDir dir;
      auto names = saved_names(dir, [&](TrainerOptions& o) {
        o.save_interval("1ba").save_num_checkpoints_to_keep(keep).save_filename("ba{batch:02d}.pt");
      });
      Names all;
      for (int b = 1; b <= 9; ++b) all.push_back(fmt::format("ba{:02d}.pt", b));
      Names expected(keep < 0 ? all.begin() : all.end() - std::max<int64_t>(keep, 1), all.end());
      CHECK(names == expected);
      auto on_disk = files_in(dir.path());
      on_disk.erase(std::remove(on_disk.begin(), on_disk.end(), "latest-rank0.pt"), on_disk.end());
      CHECK(on_disk == expected);
      const auto link = dir / "latest-rank0.pt";
      REQUIRE(fs::is_symlink(link));
      CHECK(fs::read_symlink(link) == "ba09.pt");  // relative, so the folder can move
      CHECK(read_checkpoint(link).toGenericDict().contains("state"));
    }
  }

  TEST_CASE("several savers: full and weights-only side by side, each with its own folder and state key") {
    TempDir dir;
    auto weights = std::make_shared<CheckpointSaver>(CheckpointSaverOptions()
                                                         .folder(dir / "weights")
                                                         .filename("w-ba{batch}.pt")
                                                         .save_interval("2ba")
                                                         .weights_only(true));
    auto run = make_run(blobs(12), "4ba", 42, 7, {weights}, 4, [&](TrainerOptions& o) {
      o.save_folder(dir / "full").save_interval("4ba");
    });
    run.trainer->fit();
    CHECK(files_in(dir / "weights") == Names{"latest-rank0.pt", "w-ba2.pt", "w-ba4.pt"});
    CHECK(files_in(dir / "full") == Names{"ep1-ba4-rank0.pt", "latest-rank0.pt"});
    auto slim = read_checkpoint(dir / "weights/w-ba4.pt").toGenericDict();
    CHECK_FALSE(slim.contains("rng"));
    auto state = slim.at("state").toGenericDict();
    CHECK(state.contains("model"));
    CHECK_FALSE(state.contains("optimizers"));
    auto keys = run.trainer->state().callback_states();
    CHECK(keys[0].first == "CheckpointSaver");
    CHECK(keys[1].first == "CheckpointSaver_1");
  }

  TEST_CASE("without save_overwrite, a fresh run refuses a folder holding its checkpoints before training") {
    TempDir dir;
    saved_names(dir, [](TrainerOptions&) {}, "1ep");
    auto again = make_run(blobs(12), "1ep", [&](TrainerOptions& o) { o.save_folder(dir.path()); });
    CHECK_THROWS_WITH_AS(again.trainer->fit(), doctest::Contains("already holds checkpoints named as this run's would be"),
                         CheckpointError);
    CHECK(again.trainer->state().timestamp.batch() == 0);  // nothing trained, nothing lost

    auto overwrite = make_run(blobs(12), "1ep", [&](TrainerOptions& o) { o.save_folder(dir.path()).save_overwrite(true); });
    overwrite.trainer->fit();
    CHECK(overwrite.trainer->saved_checkpoints().size() == 1);
  }
}
