// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pm {

/// Reads a whole regular file; throws pm::Error naming the path when it cannot (missing, a
/// folder, a FIFO or device, which would block, a symbolic link loop, no permission).
std::vector<uint8_t> read_file_bytes(const std::string& path);

/// Writes bytes atomically: to a temporary file beside `path`, then renames it over `path`,
/// so a reader never sees a half-written file and an interrupted run leaves no partial
/// output. Creates missing parent folders. The temp file is created exclusively, never through
/// a link, and temp files orphaned by killed runs are removed (see temp_file.h).
void write_file_atomic(const std::string& path, const void* data, size_t size);
void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes);
void write_file_atomic(const std::string& path, const std::string& text);

/// File name without folder and without its last extension ("a/b/2007_000032.png" → "2007_000032").
std::string file_stem(const std::string& path);

/// Reads an image-id list: one id per line; blank lines and '#' comments skipped; only the
/// first whitespace-separated field is kept, and a path-like field ("/JPEGImages/x.jpg") is
/// reduced to its stem, so VOC ImageSets and IRN/SEAM train_aug lists both work. Throws naming
/// the file and line for a field with a ".." component or an invalid id (check_image_id).
std::vector<std::string> read_id_list(const std::string& path);

/// Files in `dir` (not recursive) whose extension (lower-case, with dot) is one of `exts`,
/// sorted by name. Throws if `dir` is not a folder.
std::vector<std::string> list_files(const std::string& dir, const std::vector<std::string>& exts);

/// The path of `<dir>/<stem><ext>` for the first ext in `exts` that exists, or "" if none.
std::string find_by_stem(const std::string& dir,
                         const std::string& stem,
                         const std::vector<std::string>& exts);

/// The image `<dir>/<stem>.jpg` (or .jpeg, .png, any case); throws naming the folder if none
/// exists.
std::string find_image(const std::string& dir, const std::string& stem);

/// Shard `index` of `count` shards of a list, for cluster array jobs; the default is the whole
/// list.
struct ShardSpec {
  size_t index = 0;
  size_t count = 1;
};

/// Deterministic shard of a list: the items i with i % count == index. Throws naming ShardSpec
/// unless 0 <= index < count.
std::vector<std::string> take_shard(const std::vector<std::string>& items, const ShardSpec& shard);

}  // namespace pm
