#include "tempo/cli/remote_input.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

#include "tempo/errors/error.h"
#include "tempo/storage/object_store.h"
#include "tempo/trainer/checkpoint_loading.h"

namespace tempo::cli {

RemoteInput::RemoteInput(const std::string& path_or_uri) : local_(path_or_uri) {
  if (!is_object_uri(path_or_uri)) return;
  parse_object_uri(path_or_uri, "checkpoint");
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && tmp[0] == '/' ? tmp : "/tmp") + "/tempo-download-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw CheckpointError("cannot make a temporary folder to download '" + path_or_uri + "' into");
  }
  folder_ = pattern;
  try {
    local_ = fetch_load_path(path_or_uri, ObjectStoreOptions(), folder_);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
    throw;
  }
}

RemoteInput::~RemoteInput() {
  if (folder_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(folder_, ignored);
}

}  // namespace tempo::cli
