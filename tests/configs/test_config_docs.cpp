// docs/config.md documents exactly the keys the schemas define: a key in one but not the other
// fails. Headings carry the scope in backticks (## `trainer`, ### `model.mlp`), table rows the
// key in their first column (| `hidden` | ...).
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>

#include "configs/config_test_support.h"

namespace {

std::set<std::string> documented_keys() {
  std::ifstream in(std::string(TEMPO_SOURCE_DIR) + "/docs/config.md");
  REQUIRE(in.good());
  std::set<std::string> keys;
  std::string scope, line;
  const std::regex heading(R"(^#+ .*`([a-z_.]+)`)");
  const std::regex row(R"(^\| `([a-z_0-9]+)` \|)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, heading)) scope = m[1];
    else if (std::regex_search(line, m, row)) keys.insert(scope + "." + std::string(m[1]));
  }
  return keys;
}

template <typename Table>
void add_parts(std::set<std::string>& keys, const Table& table) {
  for (const auto& [name, part] : table.parts()) {
    if (!part.schema) continue;
    for (const auto& spec : *part.schema) keys.insert(table.kind() + "." + name + "." + spec.name);
  }
}

}  // namespace

TEST_SUITE("configs") {
TEST_CASE("docs/config.md lists exactly the keys of the schemas") {
  auto r = tempo::testing::builtin_registry();
  std::set<std::string> code;
  for (const auto& spec : tempo::config::trainer_schema()) code.insert("trainer." + spec.name);
  add_parts(code, r.models);
  add_parts(code, r.datasets);
  add_parts(code, r.optimizers);
  add_parts(code, r.schedulers);
  add_parts(code, r.callbacks);
  add_parts(code, r.loggers);
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
