#include "tempo/configs/transform_descriptions.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <memory>

#include "tempo/configs/schema.h"

namespace tempo::config {
namespace {

// A transform a config can name: its keys (for checking them) and how it is built from them.
struct TransformEntry {
  std::string name;
  std::function<Schema()> schema;
  std::function<std::shared_ptr<const Transform>(const ConfigNode& args)> build;
};

template <typename Options, typename T>
TransformEntry entry(std::string name, const Description<Options>& (*description)()) {
  TransformEntry e;
  e.name = std::move(name);
  e.schema = [description] { return description().schema(); };
  e.build = [description](const ConfigNode& args) -> std::shared_ptr<const Transform> {
    return std::make_shared<T>(description().read(args));
  };
  return e;
}

const std::vector<TransformEntry>& entries() {
  static const std::vector<TransformEntry> all = {
      entry<HorizontalFlipOptions, HorizontalFlip>("horizontal_flip", &horizontal_flip_description),
      entry<NormalizeOptions, Normalize>("normalize", &normalize_description),
      entry<RandomCropOptions, RandomCrop>("random_crop", &random_crop_description),
  };
  return all;
}

Check<int64_t> at_least(int64_t bound) {
  return [bound](const int64_t& v) {
    return v >= bound ? std::string() : fmt::format("expected a value >= {}, got {}", bound, v);
  };
}

std::shared_ptr<const Transform> read_transform(const ConfigNode& item) {
  const auto names = transform_names();
  const std::string example = "{horizontal_flip: {p: 0.5}}";
  if (!item.is_map() || item.size() != 1) {
    fail_at(item, fmt::format("expected a map naming one transform and its arguments, e.g. {}, got {} (known: {})",
                              example, item.describe(), fmt::join(names, ", ")));
  }
  const auto name = item.keys().front();
  const ConfigNode args = item.child(name);
  const auto& all = entries();
  const auto it = std::find_if(all.begin(), all.end(), [&](const auto& e) { return e.name == name; });
  if (it == all.end()) {
    const auto best = did_you_mean(name, names);
    throw LocatedConfigError(fmt::format("{}: {}: unknown transform '{}' ({}known: {})", args.where_key(), args.path(),
                                         name, best.empty() ? "" : "did you mean '" + best + "'? ",
                                         fmt::join(names, ", ")));
  }
  if (!args.is_null() && !args.is_map()) {
    fail_at(args, fmt::format("expected a map of the transform's arguments, e.g. {}, got {}", example, args.describe()));
  }
  const Schema schema = it->schema();
  std::vector<std::string> known;
  for (const auto& spec : schema) known.push_back(spec.name);
  for (const auto& key : args.keys()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      const auto best = did_you_mean(key, known);
      throw LocatedConfigError(fmt::format("{}: {}: unknown key '{}' of transform '{}'{} (known: {})",
                                           args.child(key).where_key(), args.child(key).path(), key, name,
                                           best.empty() ? "" : " (did you mean '" + best + "'?)",
                                           fmt::join(known, ", ")));
    }
  }
  for (const auto& spec : schema) {
    const ConfigNode value = args.child(spec.name);
    if (value.is_null()) {
      if (spec.required()) {
        fail_at(args.is_null() ? item : args,
                fmt::format("missing required key '{}' of transform '{}' ({}: {})", spec.name, name, spec.type, spec.doc));
      }
      continue;
    }
    if (spec.check) spec.check(value);
  }
  try {
    return it->build(args);
  } catch (const LocatedConfigError&) {
    throw;
  } catch (const Error& e) {  // the transform's own checks (std > 0, ...)
    fail_at(args, e.what());
  }
}

TransformList read_transforms(const ConfigNode& node) {
  if (node.is_null()) return {};
  if (!node.is_sequence()) {
    fail_at(node, fmt::format("expected a list of transforms, e.g. [{{random_crop: {{size: 28, padding: 4}}}}, "
                              "{{horizontal_flip: {{p: 0.5}}}}], got {}", node.describe()));
  }
  TransformList out;
  for (size_t i = 0; i < node.size(); ++i) out.push_back(read_transform(node.at(i)));
  return out;
}

std::string write_transforms(const TransformList& transforms) {
  std::string out;
  for (const auto& t : transforms) out += (out.empty() ? "" : ", ") + (t ? t->yaml() : std::string("null"));
  return "[" + out + "]";
}

}  // namespace

const Description<RandomCropOptions>& random_crop_description() {
  using O = RandomCropOptions;
  static const Description<O> d({
      required(field("size", &O::size, "Side of the square crop", at_least(1))),
      field("padding", &O::padding, "Zeros added on each side before cropping", at_least(0)),
  });
  return d;
}

const Description<HorizontalFlipOptions>& horizontal_flip_description() {
  using O = HorizontalFlipOptions;
  static const Description<O> d({
      field("p", &O::p, "Probability of mirroring a sample", Check<double>([](const double& p) {
              return p >= 0.0 && p <= 1.0 ? std::string() : fmt::format("expected a probability in [0, 1], got {}", p);
            })),
  });
  return d;
}

const Description<NormalizeOptions>& normalize_description() {
  using O = NormalizeOptions;
  static const Description<O> d({
      required(field("mean", &O::mean, "Subtracted: one value, or one per channel")),
      required(field("std", &O::std, "Divided by: as many values as mean, each > 0",
                     Check<std::vector<double>>([](const std::vector<double>& std) {
                       for (double s : std) {
                         if (!(s > 0.0)) return fmt::format("expected every std > 0, got {}", s);
                       }
                       return std::string();
                     }))),
  });
  return d;
}

std::vector<std::string> transform_names() {
  std::vector<std::string> names;
  for (const auto& e : entries()) names.push_back(e.name);
  return names;
}

Value<TransformList> transforms_value() {
  return {"list[transform]", &read_transforms, &write_transforms};
}

}  // namespace tempo::config
