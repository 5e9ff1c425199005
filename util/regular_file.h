// Opening a file that a user names (a checkpoint, a config, a training log) so that whatever the
// path really is cannot stall or flood the reader: a FIFO would block open() until a writer
// comes, a device such as /dev/zero never ends, a folder reads as an error deep inside a parser.
// Every reader of a user-given path opens it here, so they all refuse the same things with the
// same words.
//
// open_regular_file
//   ensures: returns a descriptor open for reading (O_CLOEXEC, blocking reads) of the regular file
//     `path` (symlinks followed) and sets *size to its length; or returns -1 and sets `why` to what
//     is wrong, in words that follow the path in a message: "does not exist", "is a folder, not a
//     file", "is a FIFO, not a regular file", "is a device, not a regular file", "is a socket, not
//     a regular file", or "cannot be opened: <strerror>". The open never blocks (O_NONBLOCK,
//     cleared once the file is known to be regular).
// read_regular_file
//   ensures: true with the whole file in `contents` when open_regular_file succeeds and the file
//     is at most `max_bytes` long; else false with `why` set as above or to "is N bytes, more
//     than the M bytes <what> may be".
// Neither throws (a caller wraps `why` in its own error type); free of LibTorch.
#pragma once

#include <cstdint>
#include <string>

namespace tempo {

int open_regular_file(const std::string& path, std::string& why, uint64_t* size = nullptr);

bool read_regular_file(const std::string& path, uint64_t max_bytes, const std::string& what, std::string& contents,
                       std::string& why);

}  // namespace tempo
