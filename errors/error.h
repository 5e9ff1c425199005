// The exception hierarchy of tempo. Every failure a user can cause ends in one of these, and the
// message names the file, key or value at fault and what was expected, so that it can be acted on
// without reading tempo's source. Header-only and free of LibTorch so every layer can use it.
#pragma once

#include <stdexcept>
#include <string>

namespace tempo {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A time string or a unit that does not fit ("1.5ba", mixing "ep" with "ba").
class TimeError : public Error {
 public:
  using Error::Error;
};

// Bad or unreadable data (missing files, wrong magic numbers, sizes that do not match): training
// data, and a run's log read back by `tempo plot`.
class DataError : public Error {
 public:
  using Error::Error;
};

// A configuration value that cannot be used (YAML keys, option values, trainer arguments).
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A checkpoint or a state tree that cannot be written, read or applied.
class CheckpointError : public Error {
 public:
  using Error::Error;
};

// A chart that cannot be drawn, encoded or written (plot/, `tempo plot`): a canvas size out of
// range, zlib failing, an output file that cannot be written.
class PlotError : public Error {
 public:
  using Error::Error;
};

// Training that cannot go on: a NaN or infinite loss (NaNMonitor), naming the epoch and batch.
class TrainingError : public Error {
 public:
  using Error::Error;
};

// Several processes that cannot work together (distributed/): a launch environment that does
// not add up, a peer rank that died or stopped answering within dist_timeout, ranks whose
// configurations differ. The message names the rank(s) and the collective.
class DistributedError : public Error {
 public:
  using Error::Error;
};

// An object store (storage/: s3://, file://) that cannot be used: missing or refused credentials,
// a missing bucket, an endpoint that cannot be reached, a transfer that failed after its retries.
// The message names the URI (never a secret) and what went wrong.
class StorageError : public Error {
 public:
  using Error::Error;
};

// The object a download or read asked for does not exist (HTTP 404, a missing file).
class ObjectNotFoundError : public StorageError {
 public:
  using StorageError::StorageError;
};

}  // namespace tempo
