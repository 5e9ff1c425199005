// CheckpointFolder: the one owner of a run's checkpoint names (LevelDB's db/filename.h idea).
// What: from save_folder, save_filename and save_latest_filename (format strings over Composer's
// variables, callbacks/name_format.h) it makes the path of a checkpoint and of the `latest` link
// for a State, lists the checkpoints a run left on disk (newest first), parses their names, and
// removes temporaries that killed saves left behind. CheckpointSaver (writing, rotation, restart
// scan) and autoresume (trainer/checkpoint_loading.h) both ask it; nothing else builds these names.
//
// Progress variables may appear in the folder too (`ck/e{epoch}`): the folder then changes during
// the run, so listing starts at the folder's longest leading part without them (its "root",
// `ck`) and matches folder and file name together below it. That is why a restart finds the
// newest checkpoint whatever the epoch of the State it starts from.
//
// Invariants: every path it returns is inside the formatted folder (a name with a ".." part or an
// absolute name is refused); temporaries (serialization/atomic_file.h) and links are never listed.
// Throws: ConfigError from the constructor for a bad pattern (naming the option); CheckpointError
// for a formatted name that leaves the folder. Listing never throws for unreadable entries: it
// skips them. Listing, links and removals go through the state's Env (serialization/env.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tempo/callbacks/name_format.h"
#include "tempo/serialization/env.h"
#include "tempo/storage/object_store.h"

namespace tempo {

class State;

class CheckpointFolder {
 public:
  // A checkpoint found on disk.
  struct Entry {
    std::string path;                           // root/relative, lexically normal
    std::filesystem::file_time_type time;       // last write
    std::optional<int64_t> batch;               // parsed from the name, when the pattern has {batch}
    bool linked = false;                        // a latest link of this run points at it
  };

  // Requires: folder and filename non-empty, filename and latest_filename relative ("" for
  // latest_filename: no link), each rendering (once, here, for a run at its start) to a file
  // name without a ".." part, and latest_filename not the same constant name as filename.
  // Throws ConfigError naming save_folder/save_filename/... otherwise.
  CheckpointFolder(std::string folder, std::string filename, std::string latest_filename);

  // The folder checkpoints of `state`'s batch go to.
  std::string folder(const State& state) const;
  // folder(state)/filename: where the checkpoint of `state`'s batch is written.
  std::string checkpoint_path(const State& state) const;
  // folder(state)/latest_filename, or "" without a latest link.
  std::string latest_path(const State& state) const;
  // folder(state)/`name` (another name in the folder, e.g. best_filename's); CheckpointError, naming
  // `option`, when it is absolute or would leave the folder.
  std::string inside(const State& state, const std::string& name, const std::string& option) const;

  // The checkpoints of `state`'s run and rank on disk: regular files whose path below root()
  // matches folder/filename, newest first (modification time; among equals, the one a latest link
  // names, then the higher batch). Skips temporaries, links and `exclude` (a path as returned).
  std::vector<Entry> list(const State& state, const std::string& exclude = "") const;

  // The same for a store's objects (keys as local paths, the store's listing below root()):
  // `latest_target` is the key the remote latest names ("" for none), first among equally new.
  std::vector<Entry> match(const State& state, const std::vector<ObjectInfo>& objects,
                           const std::string& latest_target) const;

  // Makes `link` (a latest_path()) point at the durable checkpoint `path`, by a relative symlink
  // replaced atomically. Throws CheckpointError.
  static void point_latest(const std::string& path, const std::string& link, Env& env);

  // Removes the temporaries below root() whose writer is no longer alive (or is this process: call
  // it only when no save of this process is in flight); a live process's are never touched.
  // Returns what it removed or failed to remove, for the caller to report.
  struct Removal {
    std::string path;
    int64_t writer = 0;  // the pid in the temporary's name
    std::string error;   // empty: removed
  };
  std::vector<Removal> remove_stale_temporaries(const State& state) const;

  // The leading part of the folder that does not change during the run.
  std::string root(const State& state) const;

  // Whether a checkpoint's path changes during a run (a progress variable in folder or file
  // name); otherwise every save of the run writes one path.
  bool varies_during_run() const;
  // Throws ConfigError, naming `option`, unless `pattern` renders (for a run at its start) to a
  // relative file name that stays inside the folder: not absolute, no ".." part, not a folder's
  // name ("", ".", "ck/"), no part over 255 bytes. For every file name a saver writes.
  static void check_file_pattern(const NameFormat& pattern, const std::string& option);
  // Throws ConfigError, naming save_filename and save_folder, when every checkpoint of a run gets
  // one path (!varies_during_run()), unless `may_repeat` (the saver overwrites, or saves once).
  void check_names_differ(bool may_repeat) const;
  const NameFormat& filename() const { return filename_; }
  bool has_latest() const { return !latest_filename_.empty(); }

 private:
  NameFormat folder_;
  NameFormat filename_;
  NameFormat latest_filename_;
  // The folder pattern cut at '/' (outside braces): the leading parts without progress variables
  // make root(); `below_root_` is the rest joined with the file name, matched below root().
  std::vector<NameFormat> folder_parts_;
  size_t fixed_parts_ = 0;
  std::optional<NameFormat> below_root_;
  std::optional<NameFormat> latest_below_root_;
};

}  // namespace tempo
