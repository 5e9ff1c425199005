// Description<Options>: one table per options struct from which the schema, the builder and the
// documented defaults come.
#include <doctest/doctest.h>

#include <torch/arg.h>

#include "tempo/configs/options_description.h"
#include "tempo/errors/error.h"

namespace {

enum class Colour { RED, GREEN };
std::string to_string(Colour c) { return c == Colour::RED ? "red" : "green"; }

struct WidgetOptions {
  TORCH_ARG(std::string, name) = "{run_name}/w";
  TORCH_ARG(int64_t, count) = 3;
  TORCH_ARG(double, scale) = 1.0;
  TORCH_ARG(std::vector<double>, weights) = std::vector<double>{0.5, 2.0};
  TORCH_ARG(std::optional<bool>, flag);
  TORCH_ARG(tempo::Interval, every) = tempo::Time(2, tempo::TimeUnit::BATCH);
  TORCH_ARG(Colour, colour) = Colour::RED;
};

struct OtherOptions {
  TORCH_ARG(int64_t, widget_count) = 3;
  TORCH_ARG(double, widget_scale) = 1.0;
};

const tempo::config::Description<WidgetOptions>& widget() {
  using O = WidgetOptions;
  using namespace tempo::config;
  static const Description<O> d({
      field("name", &O::name, "Name"),
      field("count", &O::count, "How many", Check<int64_t>([](const int64_t& v) {
              return v > 0 ? "" : "expected a count > 0, got " + std::to_string(v);
            })),
      field("scale", &O::scale, "Scale"),
      field("weights", &O::weights, "Weights"),
      field("flag", &O::flag, "Flag; null: decide later"),
      field("every", &O::every, "How often"),
      field_of("colour", &O::colour, choice_of<Colour>({Colour::RED, Colour::GREEN}), "red or green"),
  });
  return d;
}

tempo::config::ConfigNode yaml(const std::string& text) { return tempo::config::ConfigNode::parse(text, "w.yaml"); }

}  // namespace

TEST_SUITE("configs") {
TEST_CASE("a description's schema takes types and docs from the fields and defaults from the struct") {
  const auto schema = widget().schema();
  REQUIRE(schema.size() == 7);
  CHECK(schema[0].name == "name");
  CHECK(schema[0].type == "string");
  CHECK(schema[0].default_yaml == "\"{run_name}/w\"");
  CHECK(schema[1].type == "int");
  CHECK(schema[1].default_yaml == "3");
  CHECK(schema[2].type == "float");
  CHECK(schema[2].default_yaml == "1.0");
  CHECK(schema[3].type == "list[float]");
  CHECK(schema[3].default_yaml == "[0.5, 2.0]");
  CHECK(schema[4].type == "bool");
  CHECK(schema[4].default_yaml == "null");
  CHECK(schema[5].type == "interval");
  CHECK(schema[5].default_yaml == "2ba");
  CHECK(schema[6].type == "string");
  CHECK(schema[6].default_yaml == "red");
  // Another struct's values are other defaults.
  CHECK(widget().schema(WidgetOptions().count(7).colour(Colour::GREEN))[1].default_yaml == "7");
  CHECK(widget().schema(WidgetOptions().count(7).colour(Colour::GREEN))[6].default_yaml == "green");
}

TEST_CASE("read sets the keys given and keeps the others' values") {
  const auto options = widget().read(yaml("count: 5\nweights: [1, 2, 3]\nevery: 3ep\ncolour: green\nflag: ~\n"));
  CHECK(options.count() == 5);
  CHECK(options.weights() == std::vector<double>{1, 2, 3});
  CHECK(options.every().time() == tempo::Time(3, tempo::TimeUnit::EPOCH));
  CHECK(options.colour() == Colour::GREEN);
  CHECK(options.name() == "{run_name}/w");
  CHECK(options.scale() == 1.0);
  CHECK_FALSE(options.flag().has_value());
}

TEST_CASE("a field's checks fail at the value, naming the key's path") {
  CHECK_THROWS_WITH_AS(widget().read(yaml("count: 0\n")), "w.yaml:1:8: count: expected a count > 0, got 0",
                       tempo::config::LocatedConfigError);
  CHECK_THROWS_WITH_AS(widget().read(yaml("part:\n  colour: blue\n").child("part")),
                       "w.yaml:2:11: part.colour: expected one of red, green, got \"blue\"",
                       tempo::config::LocatedConfigError);
  CHECK_THROWS_WITH_AS(widget().read(yaml("count: many\n")), "w.yaml:1:8: count: expected an integer, got \"many\"",
                       tempo::config::LocatedConfigError);
  // The schema's check is the same parse.
  CHECK_THROWS_WITH_AS(widget().schema()[1].check(yaml("count: -1\n").child("count")),
                       "w.yaml:1:8: count: expected a count > 0, got -1", tempo::config::LocatedConfigError);
}

TEST_CASE("an alias is another struct's member with the same type, checks and doc") {
  using tempo::config::alias;
  const auto count = alias(widget(), "count", "widget_count", &OtherOptions::widget_count);
  CHECK(count.key == "widget_count");
  CHECK(count.doc == "How many");
  CHECK(count.type == "int");
  OtherOptions other;
  count.read(yaml("widget_count: 9\n").child("widget_count"), other);
  CHECK(other.widget_count() == 9);
  CHECK_THROWS_WITH_AS(count.read(yaml("widget_count: 0\n").child("widget_count"), other),
                       "w.yaml:1:15: widget_count: expected a count > 0, got 0", tempo::config::LocatedConfigError);
  // A member of another type is a mistake in the code, found at once.
  CHECK_THROWS_AS(alias(widget(), "count", "widget_scale", &OtherOptions::widget_scale), std::logic_error);
  CHECK_THROWS_AS(widget().at("absent"), std::logic_error);
}

TEST_CASE("defaults are written as YAML that reads back to the same value") {
  using tempo::config::yaml_float;
  CHECK(yaml_float(1.0) == "1.0");
  CHECK(yaml_float(64.0) == "64.0");
  CHECK(yaml_float(0.001) == "0.001");
  CHECK(yaml_float(1e-8) == "1.0e-08");
  CHECK(yaml_float(0.1) == "0.1");
  CHECK(yaml_float(-2.5) == "-2.5");
  using tempo::config::yaml_scalar;
  CHECK(yaml_scalar("") == "\"\"");
  CHECK(yaml_scalar("cpu") == "cpu");
  CHECK(yaml_scalar("{run_name}/checkpoints") == "\"{run_name}/checkpoints\"");
  CHECK(yaml_scalar("ep{epoch}-ba{batch}-rank{rank}.pt") == "ep{epoch}-ba{batch}-rank{rank}.pt");
  for (const std::string text : {"", "true", "null", "{a}", "x: y", "- z", "3"}) {
    CAPTURE(text);
    CHECK(yaml("v: " + yaml_scalar(text) + "\n").child("v").as<std::string>() == text);
  }
}
}
