// SPDX-License-Identifier: MIT
#pragma once

// The temporary files of write_file_atomic. Each is created in the target's folder under a short
// hidden name, "<temp_file_prefix()><pid>-<n>", exclusively and without following links, so a
// file or symlink planted at that name is never opened, and target names up to the file
// system's limit (255 bytes) still work. Temp files left by a killed run are removed by the next
// write into the same folder.

#include <string>

namespace pm {

/// ".pm-tmp-<host>-": the name prefix of this machine's temp files (<host> is 8 hex digits
/// hashed from the host name, so that runs on other machines sharing the folder keep theirs).
std::string temp_file_prefix();

/// An open, new, empty temp file.
struct TempFile {
  std::string path;
  int fd = -1;
};

/// Creates a temp file in `dir` with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, skipping names that
/// are taken (a planted file or link is never opened); throws naming `target` (the file it is
/// for) when it cannot.
TempFile create_temp_file(const std::string& dir, const std::string& target);

/// Removes the temp files in `dir` left by dead processes of this machine: only names of the
/// exact form "<temp_file_prefix()><pid>-<n>" whose pid is not running. Best effort (errors are
/// ignored); write_file_atomic calls it once per folder and process. Returns how many it removed.
size_t remove_orphaned_temp_files(const std::string& dir);

}  // namespace pm
