// docs/config.md documents exactly the keys the schemas define, in the very tables the code
// generates (schema_table): a key, a type, a default or a meaning that differs fails. Headings
// carry the scope in backticks (## `trainer`, ### `model.mlp`), table rows the key in their first
// column (| `hidden` | ...). The defaults of described options structs are read from
// default-constructed structs, so these tests also hold the documented defaults to the structs'.
// TEMPO_UPDATE_DOCS=1 tempo_tests --test-case='*tables*' rewrites the tables of docs/config.md
// from the code (the prose around them is kept).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "configs/config_test_support.h"
#include "tempo/configs/option_descriptions.h"
#include "tempo/models/torchscript_model.h"

namespace {

const std::string kDocs = std::string(TEMPO_SOURCE_DIR) + "/docs/config.md";

std::vector<std::string> doc_lines() {
  std::ifstream in(kDocs);
  REQUIRE(in.good());
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

const std::regex kHeading(R"(^#+ .*`([a-z_.]+)`)");
const std::regex kRow(R"(^\| `([a-z_0-9]+)` \|)");

std::set<std::string> documented_keys() {
  std::set<std::string> keys;
  std::string scope;
  std::smatch m;
  for (const auto& line : doc_lines()) {
    if (std::regex_search(line, m, kHeading)) scope = m[1];
    else if (std::regex_search(line, m, kRow)) keys.insert(scope + "." + std::string(m[1]));
  }
  return keys;
}

// The table under each scope's heading: its consecutive lines starting with '|'.
std::map<std::string, std::string> documented_tables() {
  std::map<std::string, std::string> tables;
  std::string scope;
  std::smatch m;
  bool in_table = false;
  for (const auto& line : doc_lines()) {
    if (std::regex_search(line, m, kHeading)) {
      scope = m[1];
      in_table = false;
    } else if (!line.empty() && line.front() == '|' && !scope.empty()) {
      if (!in_table && tables.count(scope)) scope += "#second";  // a second table would be a doc bug
      tables[scope] += line + "\n";
      in_table = true;
    } else {
      in_table = false;
    }
  }
  return tables;
}

// The default column of every documented key, "required" or the YAML between backticks.
std::map<std::string, std::string> documented_defaults() {
  std::map<std::string, std::string> defaults;
  const std::regex row(R"(^\| `([a-z_0-9]+)` \| [^|]+ \| (required|`([^`]*)`) \|)");
  std::string scope;
  std::smatch m;
  for (const auto& line : doc_lines()) {
    if (std::regex_search(line, m, kHeading)) scope = m[1];
    else if (std::regex_search(line, m, row)) defaults[scope + "." + std::string(m[1])] = m[3].matched ? m[3] : m[2];
  }
  return defaults;
}

// Calls `visit` with each kind of registered part (models, datasets, ..., loggers), in docs order.
template <typename Registry, typename Visit>
void for_each_kind(const Registry& r, Visit&& visit) {
  visit(r.models);
  visit(r.datasets);
  visit(r.optimizers);
  visit(r.schedulers);
  visit(r.callbacks);
  visit(r.loggers);
}

template <typename Table>
void add_parts(std::set<std::string>& keys, const Table& table) {
  for (const auto& [name, part] : table.parts()) {
    if (!part.schema) continue;
    for (const auto& spec : *part.schema) keys.insert(table.kind() + "." + name + "." + spec.name);
  }
}

template <typename Table>
void add_tables(std::map<std::string, std::string>& tables, const Table& table) {
  for (const auto& [name, part] : table.parts()) {
    if (part.schema && !part.schema->empty()) tables[table.kind() + "." + name] = tempo::config::schema_table(*part.schema);
  }
}

// What the code says each scope's table is.
std::map<std::string, std::string> generated_tables() {
  auto r = tempo::testing::builtin_registry();
  std::map<std::string, std::string> tables;
  tables["trainer"] = tempo::config::schema_table(tempo::config::trainer_schema());
  for_each_kind(r, [&](const auto& table) { add_tables(tables, table); });
  return tables;
}

// docs/config.md with each scope's table replaced by the generated one.
void rewrite_docs(const std::map<std::string, std::string>& tables) {
  std::ostringstream out;
  std::string scope;
  std::smatch m;
  bool in_table = false;
  for (const auto& line : doc_lines()) {
    const bool row = !line.empty() && line.front() == '|';
    if (std::regex_search(line, m, kHeading)) scope = m[1];
    if (row && tables.count(scope)) {
      if (!in_table) out << tables.at(scope);
      in_table = true;
      continue;
    }
    in_table = false;
    out << line << "\n";
  }
  std::ofstream(kDocs) << out.str();
}

template <typename Options>
void check_defaults(const tempo::config::Description<Options>& description, const std::string& scope,
                    const std::map<std::string, std::string>& documented, const Options& defaults = Options()) {
  for (const auto& field : description.fields()) {
    const auto key = scope + "." + field.key;
    CAPTURE(key);
    REQUIRE(documented.count(key));
    const auto in_struct = field.write(defaults);
    CHECK(documented.at(key) == (in_struct.empty() ? "required" : in_struct));
  }
}

}  // namespace

TEST_SUITE("configs") {
TEST_CASE("docs/config.md lists exactly the keys of the schemas") {
  auto r = tempo::testing::builtin_registry();
  std::set<std::string> code;
  for (const auto& spec : tempo::config::trainer_schema()) code.insert("trainer." + spec.name);
  for_each_kind(r, [&](const auto& table) { add_parts(code, table); });
  const auto docs = documented_keys();
  for (const auto& key : code) {
    CAPTURE(key);
    CHECK_MESSAGE(docs.count(key), "in the code but not in docs/config.md");
  }
  for (const auto& key : docs) {
    CAPTURE(key);
    CHECK_MESSAGE(code.count(key), "in docs/config.md but not in the code");
  }
}

TEST_CASE("docs/config.md's tables are the ones the code generates") {
  const auto generated = generated_tables();
  if (std::getenv("TEMPO_UPDATE_DOCS")) rewrite_docs(generated);
  const auto documented = documented_tables();
  for (const auto& [scope, table] : generated) {
    CAPTURE(scope);
    REQUIRE_MESSAGE(documented.count(scope), "no table for this scope in docs/config.md");
    CHECK(documented.at(scope) == table);
  }
  for (const auto& [scope, table] : documented) {
    CAPTURE(scope);
    CHECK_MESSAGE(generated.count(scope), "a table in docs/config.md that the code does not generate");
  }
}

TEST_CASE("the documented defaults are the options structs' own defaults") {
  namespace config = tempo::config;
  const auto documented = documented_defaults();
  check_defaults(config::trainer_description(), "trainer", documented);
  check_defaults(config::checkpoint_saver_description(), "callback.checkpoint_saver", documented);
  check_defaults(config::mlp_description(), "model.mlp", documented);
  check_defaults(config::cnn_description(), "model.cnn", documented);
  check_defaults(config::gpt_description(), "model.gpt", documented);
  check_defaults(config::torchscript_description(), "model.torchscript", documented);
  for (const std::string dataset : {"dataset.synthetic", "dataset.fashion_mnist", "dataset.text_tokens",
                                    "dataset.csv", "dataset.npy", "dataset.safetensors"}) {
    check_defaults(config::data_loader_description(), dataset, documented,
                   tempo::DataLoaderOptions().batch_size(64));  // a config's loaders batch 64 by default
  }
  check_defaults(config::fashion_mnist_description(), "dataset.fashion_mnist", documented);
  check_defaults(config::synthetic_dataset_description(), "dataset.synthetic", documented);
  check_defaults(config::text_tokens_description(), "dataset.text_tokens", documented);
  check_defaults(config::csv_dataset_description(), "dataset.csv", documented);
  check_defaults(config::npy_dataset_description(), "dataset.npy", documented);
  check_defaults(config::safetensors_dataset_description(), "dataset.safetensors", documented);
  check_defaults(config::sgd_description(), "optimizer.sgd", documented);
  check_defaults(config::adam_description(), "optimizer.adam", documented);
  check_defaults(config::adamw_description(), "optimizer.adamw", documented);
  check_defaults(config::speed_monitor_description(), "callback.speed_monitor", documented);
  check_defaults(config::early_stopper_description(), "callback.early_stopper", documented,
                 tempo::EarlyStopperOptions("", ""));
  check_defaults(config::threshold_stopper_description(), "callback.threshold_stopper", documented,
                 tempo::ThresholdStopperOptions("", "", 0.0));
  check_defaults(config::progress_bar_logger_description(), "logger.progress_bar", documented);
  check_defaults(config::console_logger_description(), "logger.console", documented);
  check_defaults(config::file_logger_description(), "logger.file", documented);
  check_defaults(config::tensorboard_logger_description(), "logger.tensorboard", documented);
  check_defaults(config::remote_uploader_downloader_description(), "logger.remote_uploader_downloader", documented);
  // Spot checks that the defaults really come from the structs.
  CHECK(documented.at("trainer.save_interval") == "1ep");
  CHECK(documented.at("callback.checkpoint_saver.save_interval") == "1ep");
  CHECK(documented.at("callback.checkpoint_saver.folder") == "\"{run_name}/checkpoints\"");
  CHECK(documented.at("trainer.max_duration") == "required");
  CHECK(documented.at("trainer.seed") == "null");
  CHECK(documented.at("trainer.device_train_microbatch_size") == "null");
  CHECK(documented.at("optimizer.adamw.weight_decay") == "0.01");  // torch's AdamWOptions
  CHECK(documented.at("optimizer.adam.eps") == "1.0e-08");
  CHECK(documented.at("optimizer.sgd.lr") == "0.01");
  CHECK(documented.at("scheduler.multistep.milestones") == "required");
  CHECK(documented.at("scheduler.cosine_decay.t_max") == "1dur");
}

TEST_CASE("the trainer's save_* keys are the CheckpointSaver's keys, with its types, docs and defaults") {
  namespace config = tempo::config;
  const auto& saver = config::checkpoint_saver_description();
  const auto& trainer = config::trainer_description();
  std::set<std::string> aliased;
  for (const auto& field : saver.fields()) {
    const auto key = config::saver_alias_key(field.key);
    CAPTURE(key);
    const auto& fields = trainer.fields();
    const auto it = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.key == key; });
    if (it == fields.end()) continue;
    aliased.insert(field.key);
    if (field.key == "folder") continue;  // save_folder: empty means no saver, its own key
    CHECK(it->type == field.type);
    CHECK(it->doc == field.doc);
    CHECK(it->write(tempo::TrainerOptions()) == field.write(tempo::CheckpointSaverOptions()));
  }
  CHECK(aliased == std::set<std::string>{"folder", "filename", "latest_filename", "save_interval",
                                         "num_checkpoints_to_keep", "weights_only", "overwrite", "ignore_errors",
                                         "save_async", "remote_num_checkpoints_to_keep"});
  CHECK(config::saver_alias_key("num_checkpoints_to_keep") == "save_num_checkpoints_to_keep");
  CHECK(config::saver_alias_key("save_interval") == "save_interval");
}
}

TEST_SUITE("configs") {
TEST_CASE("the shipped configs resolve") {
  auto r = tempo::testing::builtin_registry();
  for (const std::string name : {"fashion_mnist_mlp", "fashion_mnist_cnn", "fashion_mnist_resume", "fashion_mnist_finetune"}) {
    CAPTURE(name);
    CHECK_NOTHROW(tempo::config::RunConfig::load(std::string(TEMPO_SOURCE_DIR) + "/configs/" + name + ".yaml", {}, r));
  }
}
}
