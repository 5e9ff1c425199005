// The descriptions of tempo's options structs. A key's doc and value checks are written here, its
// default in the struct; checks that need more than one key (amp_fp16 needs CUDA, a clipping type
// needs a threshold) are in run_config.cpp.
#include "tempo/configs/option_descriptions.h"
#include "tempo/configs/transform_descriptions.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "tempo/callbacks/checkpoint_folder.h"
#include "tempo/callbacks/name_format.h"
#include "tempo/errors/error.h"
#include "tempo/storage/object_store.h"
#include "tempo/util/utf8.h"

namespace tempo::config {

namespace {

// The problem of a name pattern (callbacks/name_format.h), "" when there is none. `relative`: the
// name must stay inside the save folder.
std::string name_problem(const std::string& pattern, bool allow_empty, bool relative) {
  if (pattern.empty()) return allow_empty ? "" : "expected a name (format string), got \"\"";
  if (relative && pattern.front() == '/') {
    return fmt::format("expected a name inside the save folder, got the absolute \"{}\"", pattern);
  }
  try {
    NameFormat(pattern, "format string");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// The problem with a URI as a save folder or load path, "" when a store can take it.
std::string uri_problem(const std::string& v) {
  try {
    parse_object_uri(v, "URI");
  } catch (const ConfigError& e) {
    return std::string(e.what()).substr(5);  // without "URI: ": the field names the key
  }
  return "";
}

Check<std::string> folder_name(bool allow_empty) {
  return [allow_empty](const std::string& v) {
    return is_object_uri(v) ? uri_problem(v) : name_problem(v, allow_empty, false);
  };
}
Check<std::string> file_name(bool allow_empty) {
  return [allow_empty](const std::string& v) { return name_problem(v, allow_empty, true); };
}

template <typename T>
Check<T> greater_than(T bound) {
  return [bound](const T& v) { return v > bound ? "" : fmt::format("expected a number > {}, got {}", bound, v); };
}
template <typename T>
Check<T> at_least(T bound) {
  return [bound](const T& v) { return v >= bound ? "" : fmt::format("expected a number >= {}, got {}", bound, v); };
}

// An interval that fires: positive (zero would never fire, not even at the end); IntervalScheduler
// refuses the same, later and unlocated.
Check<Interval> firing_interval() {
  return [](const Interval& v) -> std::string {
    if (!v.is_time()) return "";
    const auto& t = v.time();
    if (t.value() <= 0) return fmt::format("expected a positive time, e.g. 1ep or 500ba, got {}", to_string(t));
    return "";
  };
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Check<std::string> one_of_or_empty(std::vector<std::string> allowed) {
  return [allowed](const std::string& v) -> std::string {
    if (v.empty() || std::find(allowed.begin(), allowed.end(), lower(v)) != allowed.end()) return "";
    return fmt::format("expected {} or \"\", got \"{}\"", fmt::join(allowed, ", "), v);
  };
}

// A trainer key that is the CheckpointSaver key `saver_key` under the trainer's name.
template <typename T>
Field<TrainerOptions> save_alias(const std::string& saver_key, T& (TrainerOptions::*member)() noexcept) {
  return alias(checkpoint_saver_description(), saver_key, saver_alias_key(saver_key), member);
}

// The object_store_* keys of a struct holding ObjectStoreOptions (the trainer, a CheckpointSaver).
template <typename O>
std::vector<Field<O>> with_object_store(std::vector<Field<O>> fields, ObjectStoreOptions& (O::*member)() noexcept) {
  using S = ObjectStoreOptions;
  const auto add = [&](Field<S> f) {
    auto out = within(std::move(f), member);
    out.key = "object_store_" + out.key;
    fields.push_back(std::move(out));
  };
  add(field("endpoint_url", &S::endpoint_url, "S3 endpoint; empty: S3_ENDPOINT_URL, AWS_ENDPOINT_URL, else AWS's"));
  add(field("region", &S::region, "S3 region; empty: AWS_REGION, AWS_DEFAULT_REGION, the profile's, else us-east-1"));
  add(field("profile", &S::profile, "Profile of ~/.aws/credentials and ~/.aws/config; empty: AWS_PROFILE, else default"));
  add(field("part_size", &S::part_size, "Bytes per part of a multipart upload (5 MiB to 5 GiB)",
            Check<int64_t>([](const int64_t& v) {
              return v >= (5 << 20) && v <= (int64_t{5} << 30) ? "" : fmt::format("expected 5242880 to 5368709120, got {}", v);
            })));
  add(field("multipart_threshold", &S::multipart_threshold, "Files at least this large are uploaded in parts",
            at_least(int64_t{0})));
  add(field("concurrency", &S::concurrency, "Parts or ranges transferred at once",
            Check<int64_t>([](const int64_t& v) {
              return v >= 1 && v <= 64 ? "" : fmt::format("expected 1 to 64, got {}", v);
            })));
  add(field("num_attempts", &S::num_attempts, "Tries of each request (5xx, timeouts, dropped connections)",
            at_least(int64_t{1})));
  add(field("connect_timeout", &S::connect_timeout, "Seconds to connect", greater_than(0.0)));
  add(field("stall_timeout", &S::stall_timeout, "Seconds a transfer may go without moving a byte", greater_than(0.0)));
  add(field("transfer_deadline", &S::transfer_deadline, "Seconds one upload or download may take, retries included; 0: no limit",
            at_least(0.0)));
  return fields;
}

constexpr const char* kComparatorDoc = "greater or less; empty: less for loss/error/perplexity, else greater";

}  // namespace

std::string saver_alias_key(const std::string& saver_key) {
  return saver_key.rfind("save_", 0) == 0 ? saver_key : "save_" + saver_key;
}

const Description<CheckpointSaverOptions>& checkpoint_saver_description() {
  using O = CheckpointSaverOptions;
  static const Description<O> d(with_object_store<O>({
      field("folder", &O::folder, "Folder for checkpoints (format string), or s3://bucket/prefix, file:///folder",
            folder_name(false)),
      field("filename", &O::filename, "Checkpoint file name (format string)", file_name(false)),
      field("latest_filename", &O::latest_filename, "Link to the newest checkpoint (format string); empty: none",
            file_name(true)),
      field("save_interval", &O::save_interval, "How often to save a checkpoint", firing_interval()),
      field("num_checkpoints_to_keep", &O::num_checkpoints_to_keep, "Newest checkpoints to keep; -1: all",
            Check<int64_t>([](const int64_t& v) {
              return v >= -1 ? "" : fmt::format("expected -1 (keep all) or a number of checkpoints, got {}", v);
            })),
      field("weights_only", &O::weights_only, "Save only the model's weights"),
      field("overwrite", &O::overwrite, "Allow replacing checkpoints of an earlier run of this name"),
      field("ignore_errors", &O::ignore_errors, "On a failed save (disk full, I/O error): warn and keep training"),
      field("best_metric", &O::best_metric,
            "Keep the best checkpoint by this metric, <label>/<name> (eval/Accuracy); empty: off",
            Check<std::string>([](const std::string& v) -> std::string {
              const auto slash = v.find('/');
              if (v.empty() || (slash != std::string::npos && slash != 0 && slash + 1 != v.size())) return "";
              return fmt::format("expected <dataloader label>/<metric name> (e.g. eval/Accuracy) or \"\", got \"{}\"", v);
            })),
      field("best_comparator", &O::best_comparator, kComparatorDoc, one_of_or_empty({"greater", "gt", "less", "lt"})),
      field("best_filename", &O::best_filename, "Name of the best checkpoint (format string)", file_name(true)),
      field("save_async", &O::save_async,
            "Write checkpoints on a background thread from a copy in host memory, taken while the next batch trains"),
      field("remote_num_checkpoints_to_keep", &O::remote_num_checkpoints_to_keep,
            "With a remote folder: newest checkpoints kept in the store; -1: all",
            Check<int64_t>([](const int64_t& v) {
              return v >= -1 ? "" : fmt::format("expected -1 (keep all) or a number of checkpoints, got {}", v);
            })),
  }, &O::object_store));
  return d;
}

const Description<SpeedMonitorOptions>& speed_monitor_description() {
  using O = SpeedMonitorOptions;
  static const Description<O> d({
      field("window_size", &O::window_size, "Batches over which throughput is averaged", at_least(int64_t{1})),
  });
  return d;
}

namespace {
constexpr const char* kMonitorDoc = "Metric to watch, e.g. Accuracy or CrossEntropy";
constexpr const char* kLabelDoc = "train, eval or an evaluator's label";
}  // namespace

const Description<EarlyStopperOptions>& early_stopper_description() {
  using O = EarlyStopperOptions;
  static const Description<O> d({
      required(field("monitor", &O::monitor, kMonitorDoc)),
      required(field("dataloader_label", &O::dataloader_label, kLabelDoc)),
      field("comparator", &O::comparator, kComparatorDoc, one_of_or_empty({"greater", "gt", "less", "lt"})),
      field("min_delta", &O::min_delta, "Smallest change that counts as an improvement"),
      field("patience", &O::patience, "Epochs (ep) or batches (ba) without improvement before stopping",
            Check<Time>([](const Time& t) -> std::string {
              if (t.unit() == TimeUnit::EPOCH || t.unit() == TimeUnit::BATCH) return "";
              return fmt::format("expected a time in epochs (ep) or batches (ba), got \"{}\"", to_string(t));
            })),
  });
  return d;
}

const Description<ThresholdStopperOptions>& threshold_stopper_description() {
  using O = ThresholdStopperOptions;
  static const Description<O> d({
      required(field("monitor", &O::monitor, kMonitorDoc)),
      required(field("dataloader_label", &O::dataloader_label, kLabelDoc)),
      required(field("threshold", &O::threshold, "Stop once the metric passes this value")),
      field("comparator", &O::comparator, kComparatorDoc, one_of_or_empty({"greater", "gt", "less", "lt"})),
      field("stop_on_batch", &O::stop_on_batch, "Also check the training metric after every batch"),
  });
  return d;
}

namespace {

// Adam's betas, a list of two floats in YAML.
Value<std::tuple<double, double>> betas_value() {
  return {"list[float]",
          [](const ConfigNode& node) {
            const auto b = node.as<std::vector<double>>();
            if (b.size() != 2) fail_at(node, fmt::format("expected two numbers [beta1, beta2], got {}", b.size()));
            return std::make_tuple(b[0], b[1]);
          },
          [](const std::tuple<double, double>& b) {
            return fmt::format("[{}, {}]", yaml_float(std::get<0>(b)), yaml_float(std::get<1>(b)));
          }};
}

constexpr const char* kFusedDoc =
    "One vectorised, multi-threaded pass over flat buffers, same results; `false`: torch::optim's step";

// The keys Adam and AdamW share (their options structs are distinct types with the same members).
template <typename T>
Description<OptimizerConfig<T>> adam_like() {
  using O = OptimizerConfig<T>;
  return Description<O>({
      within(field("lr", &T::lr, "Learning rate"), &O::torch),
      within(field_of("betas", &T::betas, betas_value(), "Coefficients of the running averages"), &O::torch),
      within(field("eps", &T::eps, "Added to the denominator"), &O::torch),
      within(field("weight_decay", &T::weight_decay, "Weight decay"), &O::torch),
      within(field("amsgrad", &T::amsgrad, "Use AMSGrad"), &O::torch),
      field("fused", &O::fused, kFusedDoc),
  });
}

}  // namespace

const Description<OptimizerConfig<torch::optim::SGDOptions>>& sgd_description() {
  using T = torch::optim::SGDOptions;
  using O = OptimizerConfig<T>;
  static const Description<O> d({
      within(field("lr", &T::lr, "Learning rate"), &O::torch),
      within(field("momentum", &T::momentum, "Momentum factor"), &O::torch),
      within(field("dampening", &T::dampening, "Dampening of the momentum"), &O::torch),
      within(field("weight_decay", &T::weight_decay, "Weight decay (L2)"), &O::torch),
      within(field("nesterov", &T::nesterov, "Nesterov momentum"), &O::torch),
      field("fused", &O::fused, kFusedDoc),
  });
  return d;
}

const Description<OptimizerConfig<torch::optim::AdamOptions>>& adam_description() {
  static const auto d = adam_like<torch::optim::AdamOptions>();
  return d;
}

const Description<OptimizerConfig<torch::optim::AdamWOptions>>& adamw_description() {
  static const auto d = adam_like<torch::optim::AdamWOptions>();
  return d;
}

const Description<TrainerOptions>& trainer_description() {
  using O = TrainerOptions;
  static const Description<O> d(with_object_store<O>({
      field("run_name", &O::run_name, "Name of the run, used in checkpoint names; empty: made from the start time",
            Check<std::string>([](const std::string& v) -> std::string {
              // Checkpoints hold it as a Python str: bytes that are not UTF-8 would fail the first save.
              return is_valid_utf8(v) ? "" : "expected UTF-8 text, got bytes that are not";
            })),
      field("seed", &O::seed, "Seed of every generator; unset: drawn at start and written into the resolved config"),
      field_by<O, Time>(
          "max_duration", value_of<Time>(), [](O& o, const Time& t) { o.max_duration(t); },
          [](const O& o) { return o.max_duration(); }, "How long to train, e.g. 2ep, 500ba"),
      field("scale_schedule_ratio", &O::scale_schedule_ratio,
            "Stretches max_duration and the schedulers' times (Composer's); other than 1 needs schedulers",
            greater_than(0.0)),
      field("eval_interval", &O::eval_interval, "How often to evaluate eval_loader", firing_interval()),
      field("eval_subset_num_batches", &O::eval_subset_num_batches, "Batches per evaluation; -1: the whole eval loader"),
      field("device", &O::device, "cpu, cuda, cuda:N or auto"),
      field_of("precision", &O::precision,
               choice_of<Precision>({Precision::FP32, Precision::AMP_BF16, Precision::AMP_FP16}),
               "fp32; amp_bf16 (bfloat16 autocast, CPU or CUDA); amp_fp16 (float16 autocast and a GradScaler, CUDA only)"),
      field_of("device_train_microbatch_size", &O::device_train_microbatch_size,
               null_when(value_of<int64_t>([](const int64_t& v) {
                           return v >= 0 ? "" : fmt::format("expected a number of samples >= 0 (0: the whole batch), got {}", v);
                         }),
                         int64_t{0}),
               "Samples per microbatch: each batch is split and its gradients accumulated; unset or 0: the whole batch"),
      field_of("gradient_accumulation_steps", &O::gradient_accumulation_steps,
               value_of<int64_t>([](const int64_t& v) {
                 return v >= 1 ? "" : fmt::format("expected a number of loader batches >= 1, got {}", v);
               }),
               "Loader batches per optimizer step (Accelerate's): their gradients are accumulated and the optimizer, "
               "the schedulers and the batch count step once"),
      field_of("clipping_type", &O::clipping_type,
               choice_of<ClippingType>({ClippingType::NONE, ClippingType::NORM, ClippingType::VALUE, ClippingType::ADAPTIVE}),
               "Gradient clipping, Composer's GradientClipping: none, norm, value or adaptive"),
      field_of("clipping_threshold", &O::clipping_threshold, null_when(value_of<double>(greater_than(0.0)), 0.0),
               "Largest gradient norm (norm), element (value) or grad/weight norm ratio (adaptive); required with clipping"),
      field("save_folder", &O::save_folder,
            "Folder for checkpoints (format string), or s3://bucket/prefix, file:///folder; empty: no checkpoints",
            folder_name(true)),
      save_alias("filename", &O::save_filename),
      save_alias("latest_filename", &O::save_latest_filename),
      save_alias("save_interval", &O::save_interval),
      save_alias("num_checkpoints_to_keep", &O::save_num_checkpoints_to_keep),
      save_alias("overwrite", &O::save_overwrite),
      save_alias("ignore_errors", &O::save_ignore_errors),
      save_alias("save_async", &O::save_async),
      save_alias("weights_only", &O::save_weights_only),
      save_alias("remote_num_checkpoints_to_keep", &O::save_remote_num_checkpoints_to_keep),
      field("save_metrics", &O::save_metrics,
            "Keep the train and eval metrics' state in checkpoints, so a resumed run's metrics continue exactly"),
      field("load_path", &O::load_path, "Checkpoint to start from; empty: a fresh run",
            Check<std::string>([](const std::string& v) { return is_object_uri(v) ? uri_problem(v) : std::string(); })),
      field("remote_cache_folder", &O::remote_cache_folder,
            "Where a remote load_path is downloaded; empty: $XDG_CACHE_HOME/tempo or ~/.cache/tempo"),
      field("load_weights_only", &O::load_weights_only, "Take only the model's weights from load_path"),
      field("load_strict_model_weights", &O::load_strict_model_weights,
            "Fail when load_path's weights do not match the model's"),
      field("load_ignore_keys", &O::load_ignore_keys, "Paths in the checkpoint to skip, e.g. state/model/head.weight"),
      field("autoresume", &O::autoresume, "Resume from the newest checkpoint in save_folder, if any"),
      field_of("dist_timeout", &O::dist_timeout, value_of<double>(greater_than(0.0)),
               "Seconds a collective between ranks may take before the run stops naming the rank that did not answer"),
  }, &O::object_store));
  return d;
}

const Schema& trainer_schema() {
  static const Schema schema = [] {
    Schema s = trainer_description().schema();
    s.emplace_back("model", "part", "", "The model: one of the registered models and its arguments");
    s.emplace_back("train_loader", "part", "", "The training data: one registered dataset and its arguments");
    s.emplace_back("eval_loader", "part", "null", "The evaluation data: one registered dataset; unset: no evaluation");
    s.emplace_back("optimizers", "parts", "", "The optimizer(s) of the model's parameters");
    s.emplace_back("schedulers", "parts", "{}", "Learning-rate schedulers");
    s.emplace_back("callbacks", "parts", "{}", "Callbacks; a list allows several of one kind");
    s.emplace_back("loggers", "parts", "{}", "Logger destinations");
    return s;
  }();
  return schema;
}

const Description<MlpOptions>& mlp_description() {
  using O = MlpOptions;
  static const Description<O> d({
      field("in_features", &O::in_features, "Inputs per sample (flattened)"),
      field("hidden", &O::hidden, "Widths of the hidden layers"),
      field("num_classes", &O::num_classes, "Output logits"),
      field("dropout", &O::dropout, "Dropout after each hidden layer"),
  });
  return d;
}

const Description<CnnOptions>& cnn_description() {
  using O = CnnOptions;
  static const Description<O> d({
      field("channels", &O::channels, "Input channels of the 28x28 images"),
      field("hidden", &O::hidden, "Width of the hidden linear layer"),
      field("num_classes", &O::num_classes, "Output logits"),
  });
  return d;
}

const Description<DataLoaderOptions>& data_loader_description() {
  using O = DataLoaderOptions;
  static const Description<O> d({
      field("batch_size", &O::batch_size, "Samples per batch", greater_than(int64_t{0})),
      field("shuffle", &O::shuffle, "Reshuffle every epoch (from the run's seed)"),
      field("drop_last", &O::drop_last, "Drop the short last batch"),
      field("prefetch", &O::prefetch,
            "Prepare the next batch on a background thread while one trains, when a CPU is free of ATen's "
            "intra-op threads"),
      field("num_workers", &O::num_workers,
            "Threads preparing the next batches in order (identical batches for any number); 0: see prefetch",
            at_least(int64_t{0})),
      field("prefetch_factor", &O::prefetch_factor,
            "Batches in flight per worker, only with num_workers > 0; null: 2",
            Check<std::optional<int64_t>>([](const std::optional<int64_t>& v) {
              return !v || *v >= 1 ? std::string() : fmt::format("expected a number >= 1, got {}", *v);
            })),
      field("pin_memory", &O::pin_memory, "Pin batches in page-locked memory when CUDA is available"),
      field_of("transforms", &O::transforms, transforms_value(),
               "Per-sample transforms of the input, in order, seeded per sample (see Transforms)"),
  });
  return d;
}

const Description<FashionMnistOptions>& fashion_mnist_description() {
  using O = FashionMnistOptions;
  static const Description<O> d({
      field_of("split", &O::split, choice_of<Split>({Split::TRAIN, Split::TEST}), "train or test"),
      field("dir", &O::dir, "Folder of the IDX files"),
  });
  return d;
}

const Description<SyntheticDatasetOptions>& synthetic_dataset_description() {
  using O = SyntheticDatasetOptions;
  static const Description<O> d({
      field("num_samples", &O::num_samples, "Samples in the data set", greater_than(int64_t{0})),
      field("shape", &O::shape, "Shape of one input sample", Check<std::vector<int64_t>>([](const auto& shape) {
              if (shape.empty()) return std::string("expected at least one dimension, got []");
              for (auto dim : shape) {
                if (dim < 1) return fmt::format("expected positive dimensions, got {}", dim);
              }
              return std::string();
            })),
      field("num_classes", &O::num_classes, "Classes (labels 0..num_classes-1)", greater_than(int64_t{0})),
      field("seed", &O::seed, "Seed of the data (not of the run)"),
  });
  return d;
}

namespace {
Check<std::string> stream_name() {
  return [](const std::string& v) -> std::string {
    return v == "stderr" || v == "stdout" ? "" : fmt::format("expected stderr or stdout, got \"{}\"", v);
  };
}
}  // namespace

const Description<ProgressBarLoggerOptions>& progress_bar_logger_description() {
  using O = ProgressBarLoggerOptions;
  static const Description<O> d({
      field("stream", &O::stream, "stderr or stdout", stream_name()),
      field("force_terminal", &O::force_terminal,
            "Redraw in place (true) or print plain lines (false); null: when the stream is a terminal"),
      field("refresh_interval_s", &O::refresh_interval_s, "Terminal: least seconds between redraws"),
      field("plain_interval_percent", &O::plain_interval_percent, "Not a terminal: a line per this much progress"),
      field("plain_interval_s", &O::plain_interval_s, "Not a terminal: a line at least this often (seconds)"),
      field("bar_width", &O::bar_width, "Characters of the bar (terminal)"),
      field("checkpoint_min_mb", &O::checkpoint_min_mb, "A bar while saving or loading checkpoints of this many MiB or more"),
  });
  return d;
}

const Description<ConsoleLoggerOptions>& console_logger_description() {
  using O = ConsoleLoggerOptions;
  static const Description<O> d({
      field("log_interval", &O::log_interval, "How often to print the metrics (ba or ep)"),
      field("stream", &O::stream, "stderr or stdout", stream_name()),
      field("rank_zero_only", &O::rank_zero_only, "With several ranks, print on rank 0 only"),
  });
  return d;
}

const Description<FileLoggerOptions>& file_logger_description() {
  using O = FileLoggerOptions;
  static const Description<O> d({
      field("filename", &O::filename, "JSON Lines file (format string)"),
      field("flush_interval", &O::flush_interval, "Batches between writes to the file"),
      field("overwrite", &O::overwrite, "Replace an existing file when a fresh run starts"),
  });
  return d;
}

const Description<RemoteUploaderDownloaderOptions>& remote_uploader_downloader_description() {
  using O = RemoteUploaderDownloaderOptions;
  static const Description<O> d(with_object_store<O>({
      field("bucket_uri", &O::bucket_uri, "Store the run's files go to: s3://bucket[/prefix] or file:///folder",
            Check<std::string>([](const std::string& v) {
              return v.empty() ? std::string("expected a URI such as s3://my-bucket, got \"\"") : uri_problem(v);
            })),
      field("file_path_format_string", &O::file_path_format_string,
            "Remote name of each file: {remote_file_name} (the file's own), {run_name}"),
  }, &O::object_store));
  return d;
}

const Description<TensorBoardLoggerOptions>& tensorboard_logger_description() {
  using O = TensorBoardLoggerOptions;
  static const Description<O> d({
      field("log_dir", &O::log_dir, "Folder of the runs; this run writes to LOG_DIR/RUN_NAME"),
      field("flush_interval", &O::flush_interval, "Batches between writes to the file"),
      field("rank_zero_only", &O::rank_zero_only, "Only rank 0 writes"),
  });
  return d;
}

}  // namespace tempo::config
