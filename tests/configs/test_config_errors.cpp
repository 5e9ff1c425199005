// Every kind of config mistake ends in one ConfigError naming file:line:col (or the override),
// the key and what was expected, before anything is built.
#include <doctest/doctest.h>

#include "configs/config_test_support.h"
#include "support/temp_dir.h"

using tempo::testing::config_error;
using tempo::testing::tiny_config;

TEST_SUITE("configs") {
TEST_CASE("a valid config has no error") { CHECK(config_error(tiny_config()) == ""); }

TEST_CASE("an unknown top-level key names its line, column and the nearest key") {
  const auto message = config_error(tiny_config("save_intervl: 2ba\n"));
  CHECK(message == "run.yaml:10:1: unknown key 'save_intervl' in trainer (did you mean 'save_interval'?)");
}

TEST_CASE("a shortened key as Composer's guide writes it suggests the full name") {
  // The guide's prose says load_strict; the argument is load_strict_model_weights.
  CHECK(config_error(tiny_config("load_strict: false\n")) ==
        "run.yaml:10:1: unknown key 'load_strict' in trainer (did you mean 'load_strict_model_weights'?)");
  // A prefix of several keys suggests none of them.
  CHECK(config_error(tiny_config("load: x\n")) == "run.yaml:10:1: unknown key 'load' in trainer");
}

TEST_CASE("an object-store URI tempo cannot use as save_folder or load_path is refused at config time") {
  CHECK(config_error(tiny_config("save_folder: s3://bucket/checkpoints\n")) == "");
  CHECK(config_error(tiny_config("load_path: gs://bucket/ep1.pt\n")) ==
        "run.yaml:10:12: load_path: the object store \"gs://\" of \"gs://bucket/ep1.pt\" is not supported; expected "
        "s3:// (S3 or an S3-compatible server) or file://");
  CHECK(config_error(tiny_config("callbacks:\n  checkpoint_saver: {folder: 's3:///ck'}\n")) ==
        "run.yaml:11:30: callbacks.checkpoint_saver.folder: \"s3:///ck\" names no bucket; expected s3://<bucket>/<prefix>");
  CHECK(config_error(tiny_config("object_store_concurrency: 0\n")) ==
        "run.yaml:10:27: object_store_concurrency: expected 1 to 64, got 0");
}

TEST_CASE("an unknown argument of a part names the part") {
  const auto message = config_error("run_name: x\nmax_duration: 1ba\nmodel:\n  mlp: {hiden: [4]}\n"
                                    "train_loader: {synthetic: {}}\noptimizers: {sgd: {}}\n");
  CHECK(message == "run.yaml:4:9: unknown key 'hiden' in model 'mlp' (did you mean 'hidden'?)");
}

TEST_CASE("a bad time string quotes it and Time::parse's reason") {
  auto text = tiny_config();
  text.replace(text.find("4ba"), 3, "ten");
  const auto message = config_error(text);
  CHECK(message.rfind("run.yaml:3:15: max_duration: expected a time string like \"10ep\", \"500ba\" or \"0.5dur\", "
                      "got \"ten\" (invalid time string \"ten\"", 0) == 0);
}

TEST_CASE("a wrong type names the key and the expected type") {
  CHECK(config_error(tiny_config("save_overwrite: maybe\n")) ==
        "run.yaml:10:17: save_overwrite: expected true or false, got \"maybe\"");
  CHECK(config_error(tiny_config("load_ignore_keys: state/model\n")) ==
        "run.yaml:10:19: load_ignore_keys: expected a list of strings, got \"state/model\"");
  auto text = tiny_config();
  text.replace(text.find("hidden: [16]"), 12, "hidden: 16");
  CHECK(config_error(text) == "run.yaml:5:33: model.mlp.hidden: expected a list of integers, e.g. [256, 128], got \"16\"");
}

TEST_CASE("an unknown part lists the known ones") {
  auto text = tiny_config();
  text.replace(text.find("adam:"), 5, "adamm:");
  CHECK(config_error(text) == "run.yaml:9:3: unknown optimizer 'adamm' in optimizers (did you mean 'adam'? known: adam, adamw, sgd)");
  CHECK(config_error(tiny_config("schedulers: {cosine: {}}\n")) ==
        "run.yaml:10:14: unknown scheduler 'cosine' in schedulers (known: constant, constant_with_warmup, cosine_decay, "
        "cosine_decay_with_warmup, cosine_warmrestart, exponential, linear_decay, linear_decay_with_warmup, multistep, "
        "multistep_with_warmup, polynomial, polynomial_with_warmup, step)");
  text = tiny_config();
  text.replace(text.find("mlp:"), 4, "torchscrip:");
  CHECK(config_error(text).find(
            "unknown model 'torchscrip' in model (did you mean 'torchscript'? known: cnn, gpt, mlp, torchscript)") !=
        std::string::npos);
  text = tiny_config();
  text.replace(text.find("synthetic:"), 10, "cvs:");
  CHECK(config_error(text).find("unknown dataset 'cvs' in train_loader (did you mean 'csv'? known: csv, fashion_mnist, "
                                "npy, safetensors, synthetic, text_tokens)") != std::string::npos);
  CHECK(config_error(tiny_config("loggers: [{wandb: {}}]\n")).find("unknown logger 'wandb' in loggers (known: console, file, progress_bar, remote_uploader_downloader, tensorboard)") !=
        std::string::npos);
}

TEST_CASE("missing required keys are named") {
  for (const std::string key : {"max_duration", "model", "train_loader", "optimizers"}) {
    CAPTURE(key);
    auto text = tiny_config();
    const auto start = text.find(key + ":");
    auto end = text.find('\n', start) + 1;
    if (key != "max_duration") end = text.find('\n', end) + 1;  // the part's own line too
    text.erase(start, end - start);
    CHECK(config_error(text).find("run.yaml:1:1: missing required key '" + key + "' in trainer") == 0);
  }
}

TEST_CASE("malformed YAML and unreadable files") {
  CHECK(config_error("model: [1,\nseed: 2\n").rfind("run.yaml:3:1: malformed YAML: ", 0) == 0);
  tempo::testing::TempDir dir;
  auto r = tempo::testing::builtin_registry();
  CHECK_THROWS_WITH_AS(tempo::config::RunConfig::load(dir / "missing.yaml", {}, r),
                       doctest::Contains("missing.yaml: cannot read the config file"), tempo::ConfigError);
  CHECK(config_error("").find("run.yaml: expected a map of trainer keys") == 0);
}

TEST_CASE("YAML read strictly: duplicate keys, extra documents, tags and non-string keys are refused where they are") {
  // yaml-cpp kept the first of two keys silently (PyYAML keeps the last).
  CHECK(config_error(tiny_config("seed: 6\n")) ==
        "run.yaml:10:1: duplicate key 'seed' (first given at line 2); YAML readers disagree on which one counts, so "
        "give it once");
  CHECK(config_error(tiny_config("callbacks:\n  speed_monitor: {window_size: 2, window_size: 3}\n"))
            .rfind("run.yaml:11:35: duplicate key 'window_size' (first given at line 11)", 0) == 0);
  // A second document was ignored.
  CHECK(config_error(tiny_config("---\nmax_duration: 1ep\n")) ==
        "run.yaml:11:1: a second YAML document ('---'); a config file holds one");
  // Tags were accepted and ignored.
  CHECK(config_error(tiny_config("save_folder: !!python/object:os.system ck\n")) ==
        "run.yaml:10:14: YAML tags are not supported (got 'tag:yaml.org,2002:python/object:os.system'); write the "
        "value plainly, quoted if it must stay a string");
  CHECK(config_error(tiny_config("save_folder: !local ck\n")).rfind("run.yaml:10:14: YAML tags are not supported", 0) == 0);
  // A null or complex key said "1:1: unknown key '?'".
  CHECK(config_error(tiny_config("~: 3\n")) == "run.yaml:10:1: expected a key (a plain string), got null");
  CHECK(config_error(tiny_config("? [a, b]\n: 3\n")) == "run.yaml:10:3: expected a key (a plain string), got a list");
  // Overrides are read as strictly.
  CHECK(config_error(tiny_config(), {"model={mlp: {hidden: [4], hidden: [8]}}"})
            .rfind("override 'model={mlp: {hidden: [4], hidden: [8]}}': duplicate key 'hidden'", 0) == 0);
  CHECK(config_error(tiny_config(), {"seed=!!int 3"}).rfind("override 'seed=!!int 3': YAML tags are not supported", 0) ==
        0);
  // Quoted strings and plain scalars are not tags.
  CHECK(config_error(tiny_config("save_folder: 'ck'\nsave_filename: \"ep{epoch}.pt\"\n")) == "");
}

TEST_CASE("nesting beyond yaml-cpp's limit says so") {
  const std::string deep = "model: " + std::string(3000, '[') + std::string(3000, ']') + "\n";
  const auto message = config_error(deep);
  CHECK(message.rfind("run.yaml", 0) == 0);
  CHECK(message.find("malformed YAML: nested more deeply than yaml-cpp reads") != std::string::npos);
}

TEST_CASE("a seed takes every 64-bit unsigned value and says what it expects otherwise") {
  CHECK(config_error(tiny_config().replace(tiny_config().find("seed: 5"), 7, "seed: 18446744073709551615")) == "");
  CHECK(config_error(tiny_config().replace(tiny_config().find("seed: 5"), 7, "seed: 18446744073709551616")) ==
        "run.yaml:2:7: seed: expected a non-negative integer below 2^64, got \"18446744073709551616\"");
  CHECK(config_error(tiny_config().replace(tiny_config().find("seed: 5"), 7, "seed: -1")) ==
        "run.yaml:2:7: seed: expected a non-negative integer, got \"-1\"");
}

TEST_CASE("a part's complaint about an overridden argument names the override first") {
  CHECK(config_error(tiny_config(), {"model.mlp.dropout=2"})
            .rfind("override 'model.mlp.dropout=2' (run.yaml:5:8): model 'mlp': ", 0) == 0);
}

TEST_CASE("errors of overrides name the override") {
  CHECK(config_error(tiny_config(), {"optimizers.adam.lr=abc"}) ==
        "override 'optimizers.adam.lr=abc': optimizers.adam.lr: expected a number, got \"abc\"");
  CHECK(config_error(tiny_config(), {"save_intervl=3ba"}) ==
        "override 'save_intervl=3ba': unknown key 'save_intervl' in trainer (did you mean 'save_interval'?)");
  CHECK(config_error(tiny_config(), {"model.mlp.width=3"}).find("override 'model.mlp.width=3': unknown key 'width'") == 0);
  CHECK(config_error(tiny_config(), {"max_duration"}).find("override 'max_duration': expected key=value") == 0);
  CHECK(config_error(tiny_config(), {"seed.x=1"}).find("override 'seed.x=1': 'seed' holds a value") == 0);
}

TEST_CASE("a part's own complaint is prefixed with where the part is configured") {
  auto text = tiny_config();
  text.replace(text.find("num_classes: 2}\ntrain"), 14, "num_classes: 2, dropout: 1.5");
  const auto message = config_error(text);
  CHECK(message.rfind("run.yaml:5:8: model 'mlp': ", 0) == 0);
  CHECK(message.find("dropout") != std::string::npos);
}

TEST_CASE("the CLI reports one line on stderr and exits 2 before writing anything") {
  tempo::testing::TempDir dir;
  const auto path = dir / "run.yaml";
  tempo::testing::write_file(path, tiny_config("save_folder: " + dir.path() + "/ckpt\nsave_intervl: 1ba\n"));
  const auto result = tempo::testing::run_cli({path});
  CHECK(result.status == 2);
  CHECK(result.out == "");
  CHECK(result.err == "tempo train: " + path + ":11:1: unknown key 'save_intervl' in trainer (did you mean 'save_interval'?)\n");
  CHECK(tempo::testing::files_in(dir.path()) == std::vector<std::string>{"run.yaml"});
  CHECK(tempo::testing::run_cli({path, "bogus"}).status == 2);
  CHECK(tempo::testing::run_cli({"--nope"}).status == 2);
  CHECK(tempo::testing::run_cli({dir / "absent.yaml"}).err.find("cannot read the config file") != std::string::npos);
}
}

TEST_SUITE("configs") {
TEST_CASE("a CheckpointSaver's bad value names the key as written, under callbacks or as the trainer's save_*") {
  // Under callbacks: the saver's own key, at its line and column.
  CHECK(config_error(tiny_config("callbacks:\n  checkpoint_saver: {folder: a, num_checkpoints_to_keep: -3}\n")) ==
        "run.yaml:11:58: callbacks.checkpoint_saver.num_checkpoints_to_keep: expected -1 (keep all) or a number of "
        "checkpoints, got -3");
  // As the trainer's shortcut: the trainer's key.
  CHECK(config_error(tiny_config("save_folder: ckpt\nsave_num_checkpoints_to_keep: -3\n")) ==
        "run.yaml:11:31: save_num_checkpoints_to_keep: expected -1 (keep all) or a number of checkpoints, got -3");
  // In a list of savers: the element's index.
  CHECK(config_error(tiny_config("callbacks:\n  - checkpoint_saver: {folder: a}\n"
                                 "  - checkpoint_saver: {folder: b, num_checkpoints_to_keep: -3}\n")) ==
        "run.yaml:12:60: callbacks.1.checkpoint_saver.num_checkpoints_to_keep: expected -1 (keep all) or a number of "
        "checkpoints, got -3");
  // Set by an override: the override.
  CHECK(config_error(tiny_config("callbacks:\n  checkpoint_saver: {folder: a}\n"),
                     {"callbacks.checkpoint_saver.num_checkpoints_to_keep=-3"}) ==
        "override 'callbacks.checkpoint_saver.num_checkpoints_to_keep=-3': "
        "callbacks.checkpoint_saver.num_checkpoints_to_keep: expected -1 (keep all) or a number of checkpoints, got -3");
}

TEST_CASE("a CheckpointSaver's names and best metric are checked where they are written") {
  CHECK(config_error(tiny_config("callbacks:\n  checkpoint_saver: {folder: a, filename: /tmp/x.pt}\n")) ==
        "run.yaml:11:43: callbacks.checkpoint_saver.filename: expected a name inside the save folder, got the "
        "absolute \"/tmp/x.pt\"");
  CHECK(config_error(tiny_config("save_folder: ckpt\nsave_filename: /tmp/x.pt\n")) ==
        "run.yaml:11:16: save_filename: expected a name inside the save folder, got the absolute \"/tmp/x.pt\"");
  CHECK(config_error(tiny_config("callbacks:\n  checkpoint_saver: {folder: ''}\n")) ==
        "run.yaml:11:30: callbacks.checkpoint_saver.folder: expected a name (format string), got \"\"");
  CHECK(config_error(tiny_config("callbacks:\n  checkpoint_saver: {folder: 'a/{epok}'}\n"))
            .rfind("run.yaml:11:30: callbacks.checkpoint_saver.folder: format string 'a/{epok}': unknown variable "
                   "'{epok}'", 0) == 0);
  CHECK(config_error(tiny_config("callbacks:\n  checkpoint_saver: {folder: a, best_metric: Accuracy}\n")) ==
        "run.yaml:11:46: callbacks.checkpoint_saver.best_metric: expected <dataloader label>/<metric name> (e.g. "
        "eval/Accuracy) or \"\", got \"Accuracy\"");
  CHECK(config_error(tiny_config("callbacks:\n  checkpoint_saver: {folder: a, best_comparator: bigger}\n")) ==
        "run.yaml:11:50: callbacks.checkpoint_saver.best_comparator: expected greater, gt, less, lt or \"\", got "
        "\"bigger\"");
}
}
