// Checkpoints in S3, end to end against a real server (tests/support/s3_server.h: s3rver, and moto
// where it matters), cross-checked with an independent client, Debian's boto3 (/usr/bin/python3):
// what tempo uploads boto3 lists with the right sizes and bytes, what boto3 uploads tempo loads;
// a run resumes on a "second machine" from the bucket alone, bit-exactly; `tempo train`,
// `tempo inspect` and `tempo export` take s3:// URIs.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/cli_support.h"
#include "support/capture_stderr.h"
#include "support/fixtures.h"
#include "support/s3_server.h"
#include "tempo/callbacks/checkpoint_uploader.h"
#include "tempo/cli/export.h"
#include "tempo/cli/inspect.h"
#include "tempo/cli/train.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/storage/s3_object_store.h"

using namespace tempo;
using namespace tempo::testing;
namespace fs = std::filesystem;

namespace {

// Runs `script` with Debian's boto3 against `server`; returns its stdout, or "" after a FAIL.
std::string boto3(const S3Server& server, const std::string& script, const std::string& folder) {
  const auto path = folder + "/boto3_check.py";
  std::ofstream(path) << "import boto3, sys, hashlib\n"
                      << "from boto3.s3.transfer import TransferConfig\n"
                      << "s3 = boto3.client('s3', endpoint_url='" << server.endpoint() << "', aws_access_key_id='"
                      << server.access_key_id() << "', aws_secret_access_key='" << server.secret_access_key()
                      << "', region_name='us-east-1')\n"
                      << "bucket = '" << server.bucket() << "'\n"
                      << script;
  const auto out = folder + "/boto3_check.out";
  const auto command = "timeout 60 /usr/bin/python3 " + path + " > " + out + " 2>&1";
  const int status = std::system(command.c_str());
  const auto text = read_text(out);
  if (status != 0) FAIL_CHECK("boto3 check failed (python3-boto3 is in scripts/install_deps.sh --tests): " << text);
  return status == 0 ? text : "";
}

std::string md5_of(const std::string& path, const std::string& folder) {
  const auto out = folder + "/md5.out";
  std::system(("md5sum '" + path + "' | cut -c1-32 > " + out).c_str());
  auto text = read_text(out);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// What most tests here start from: s3rver, its variables set, a scratch working folder "work".
struct S3Scene {
  explicit S3Scene(S3ServerKind kind = S3ServerKind::s3rver) : server(kind) {}
  S3Server server;
  S3Environment variables{server};
  TempDir dir;
  WorkingFolder here{dir / "work"};
};

}  // namespace

TEST_SUITE("storage") {
  TEST_CASE("s3 save folder: boto3 sees each checkpoint tempo uploaded, and the remote latest") {
    S3Scene scene;
    if (!scene.server.started()) return;
    auto& server = scene.server;
    auto& dir = scene.dir;
    auto data = blobs(20);
    auto run = make_run(data, "2ep", [&](TrainerOptions& o) {
      o.save_folder("s3://" + server.bucket() + "/runs/{run_name}").save_interval("1ep");
      o.object_store(server.options());
    });
    run.trainer->fit();  // returns once both are uploaded
    const auto listing = boto3(server, R"(
for o in s3.list_objects_v2(Bucket=bucket, Prefix='runs/')['Contents']:
    body = s3.get_object(Bucket=bucket, Key=o['Key'])['Body'].read()
    print(o['Key'], o['Size'], hashlib.md5(body).hexdigest() if not o['Key'].endswith('.symlink') else body.decode())
)", dir.path());
    const auto local = [&](const std::string& name) {
      const auto path = dir / "work/runs/test-run/" + name;
      return "runs/test-run/" + name + " " + std::to_string(fs::file_size(path)) + " " + md5_of(path, dir.path());
    };
    CHECK(listing == local("ep1-ba5-rank0.pt") + "\n" + local("ep2-ba10-rank0.pt") + "\n" +
                         "runs/test-run/latest-rank0.pt.symlink " + std::to_string(std::string("runs/test-run/ep2-ba10-rank0.pt").size()) +
                         " runs/test-run/ep2-ba10-rank0.pt\n");
  }

  TEST_CASE("autoresume on a second machine from the bucket alone is bit-exact (s3rver and moto)") {
    for (const auto kind : {S3ServerKind::s3rver, S3ServerKind::moto}) {
      S3Server server(kind);
      if (!server.started()) continue;
      CAPTURE(server.name());
      S3Environment variables(server);
      auto data = blobs(20);
      TempDir dir;
      auto options = [&](TrainerOptions& o) {
        o.save_folder("s3://" + server.bucket() + "/{run_name}/checkpoints").save_interval("3ba").autoresume(true);
        o.save_num_checkpoints_to_keep(0).object_store(server.options());
      };
      {
        WorkingFolder here(dir / "machine1");
        auto first = make_run(data, "7ba", options);
        first.trainer->fit();
        // save_num_checkpoints_to_keep 0: each local copy went once it was uploaded.
        CHECK_FALSE(fs::exists(dir / "machine1/test-run/checkpoints/ep1-ba6-rank0.pt"));
        CHECK_FALSE(fs::exists(dir / "machine1/test-run/checkpoints/ep1-ba7-rank0.pt"));
      }
      WorkingFolder here(dir / "machine2");
      auto resumed = make_run(data, "3ep", 5, 99, {}, 4, options);
      CHECK(resumed.trainer->state().timestamp.batch() == 7);
      resumed.trainer->fit();
      auto straight = make_run(data, "3ep");
      straight.trainer->fit();
      CHECK(bit_equal(weights(*straight.model), weights(*resumed.model)));
      CHECK(bit_equal(adam_tensors(*straight.optimizer), adam_tensors(*resumed.optimizer)));
    }
  }

  TEST_CASE("a checkpoint boto3 uploaded (multipart) loads in tempo; tempo inspect and export read s3://") {
    S3Scene scene;
    if (!scene.server.started()) return;
    auto& server = scene.server;
    auto& dir = scene.dir;
    auto data = blobs(20);
    auto saved = make_run(data, "1ep", [&](TrainerOptions& o) { o.save_folder(dir / "local").save_interval("1ep"); });
    saved.trainer->fit();
    // multipart_threshold 1 KiB: boto3 sends it in parts, as it would a large checkpoint.
    boto3(server, "s3.upload_file('" + (dir / "local/ep1-ba5-rank0.pt") +
                      "', bucket, 'from-boto3/ep1.pt', Config=TransferConfig(multipart_threshold=1024))\n",
          dir.path());
    const std::string uri = "s3://" + server.bucket() + "/from-boto3/ep1.pt";
    check_resume_is_exact(data, "2ep", uri, 0, 5, [&](TrainerOptions& o) {
      o.remote_cache_folder(dir / "cache").object_store(server.options());
    });

    const auto inspect = run_command(tempo::cli::run_inspect, {uri});
    CHECK_MESSAGE(inspect.status == 0, inspect.err);
    CHECK(inspect.out.find(uri) != std::string::npos);
    const auto exported = run_command(tempo::cli::run_export, {uri, dir / "model.safetensors"});
    CHECK_MESSAGE(exported.status == 0, exported.err);
    CHECK(fs::exists(dir / "model.safetensors"));
    const auto missing = run_command(tempo::cli::run_inspect, {"s3://" + server.bucket() + "/nothing/here.pt"});
    CHECK(missing.status == 2);
    CHECK(missing.err.find("s3://" + server.bucket() + "/nothing/here.pt") != std::string::npos);
  }

  TEST_CASE("tempo train with an s3:// save_folder from YAML, then autoresume from the store") {
    S3Scene scene;
    if (!scene.server.started()) return;
    auto& server = scene.server;
    auto& dir = scene.dir;
    write_text(dir / "work/run.yaml",
               "run_name: yaml-s3\nseed: 3\nmax_duration: 4ba\nsave_folder: s3://" + server.bucket() +
                   "/ck/{run_name}\nsave_interval: 2ba\nautoresume: true\nsave_num_checkpoints_to_keep: 0\n"
                   "object_store_num_attempts: 2\nobject_store_connect_timeout: 2.0\n"
                   "model:\n  mlp: {hidden: [16]}\n"
                   "train_loader:\n  synthetic: {num_samples: 64, batch_size: 8}\n"
                   "optimizers:\n  adam: {lr: 1.0e-2}\n");
    const auto first = run_command(tempo::cli::run_train, {dir / "work/run.yaml"});
    REQUIRE_MESSAGE(first.status == 0, first.err);
    fs::remove_all(dir / "work/ck");  // a second machine: nothing local
    const auto second = run_command(tempo::cli::run_train, {dir / "work/run.yaml", "max_duration=6ba"});
    REQUIRE_MESSAGE(second.status == 0, second.err);
    CHECK(second.out.find("resumed from ck/yaml-s3/ep0-ba4-rank0.pt") != std::string::npos);
  }

  TEST_CASE("a server that dies: the upload fails with a warning, the local copy stays, the next save uploads it") {
    S3Scene scene;
    if (!scene.server.started()) return;
    auto& server = scene.server;
    auto& dir = scene.dir;
    auto data = blobs(20);
    // Kills the server before the epoch-2 save, waits for that upload to fail, starts it again.
    struct Chaos : Callback {
      S3Server* server = nullptr;
      std::shared_ptr<CheckpointSaver> saver;
      std::vector<std::string> failures;
      void on_epoch_end(State& state, Logger&) override {
        if (state.timestamp.epoch() != 2) return;
        REQUIRE(saver->finish_uploads().empty());  // epoch 1's checkpoint is up: only epoch 2's fails
        server->kill();
      }
      void on_batch_end(State& state, Logger&) override {
        if (state.timestamp.batch() != 11) return;
        failures = saver->finish_uploads();
        server->restart();
      }
    };
    auto chaos = std::make_shared<Chaos>();
    chaos->server = &server;
    auto run = make_run(data, "3ep", 42, 7, {chaos}, 4, [&](TrainerOptions& o) {
      o.save_folder("s3://" + server.bucket() + "/{run_name}").save_interval("1ep").save_num_checkpoints_to_keep(0);
      o.object_store(server.options());
    });
    chaos->saver = run.trainer->checkpoint_saver();
    CapturedStderr err;
    run.trainer->fit();
    const auto text = err.text();
    REQUIRE(chaos->failures.size() == 1);
    CHECK(chaos->failures[0].find("checkpoint 'test-run/ep2-ba10-rank0.pt' was not uploaded to s3://" +
                                  server.bucket() + "/test-run/ep2-ba10-rank0.pt (the local copy is kept") !=
          std::string::npos);
    auto store = make_s3_object_store(server.bucket(), server.options());
    for (const auto* key : {"test-run/ep1-ba5-rank0.pt", "test-run/ep2-ba10-rank0.pt", "test-run/ep3-ba15-rank0.pt"}) {
      CAPTURE(key);
      CHECK(store->stat(key).has_value());
    }
    CHECK(store->get("test-run/latest-rank0.pt.symlink") == "test-run/ep3-ba15-rank0.pt");
    CHECK_FALSE(fs::exists(dir / "work/test-run/ep2-ba10-rank0.pt"));  // uploaded at last, then removed
  }

  TEST_CASE("missing or wrong credentials fail before training, naming what was looked for and the endpoint") {
    S3Scene scene(S3ServerKind::moto);
    if (!scene.server.started()) return;
    auto& server = scene.server;
    auto& dir = scene.dir;
    auto& variables = scene.variables;
    auto data = blobs(8);
    const auto folder = "s3://" + server.bucket() + "/ck";
    {
      variables.set("AWS_ACCESS_KEY_ID", std::nullopt);
      variables.set("AWS_SECRET_ACCESS_KEY", std::nullopt);
      variables.set("AWS_SHARED_CREDENTIALS_FILE", dir / "no-such-file");
      auto run = make_run(data, "1ep", [&](TrainerOptions& o) { o.save_folder(folder).object_store(server.options()); });
      CHECK_THROWS_WITH_AS(run.trainer->fit(), doctest::Contains("AWS_ACCESS_KEY_ID"), StorageError);
    }
    variables.set("AWS_ACCESS_KEY_ID", server.access_key_id());
    variables.set("AWS_SECRET_ACCESS_KEY", "not-the-secret");
    auto run = make_run(data, "1ep", [&](TrainerOptions& o) { o.save_folder(folder).object_store(server.options()); });
    try {
      run.trainer->fit();
      FAIL("a wrong secret was accepted");
    } catch (const Error& e) {
      const std::string message = e.what();
      CHECK(message.find("403") != std::string::npos);
      CHECK(message.find(server.endpoint()) != std::string::npos);
      CHECK(message.find("not-the-secret") == std::string::npos);
    }
  }
}
