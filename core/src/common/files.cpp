// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/printable.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/image_id.h"
#include "pseudomask/core/common/temp_file.h"

namespace fs = std::filesystem;

namespace pm {
namespace {

// Writes all bytes to `fd` (retrying short writes and interrupts); false with errno set on error.
bool write_all(int fd, const void* data, size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Removes orphaned temp files from `dir` the first time this process writes into it.
void sweep_folder_once(const std::string& dir) {
  static std::mutex mutex;
  static std::set<std::string> swept;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!swept.insert(dir).second)
      return;
  }
  remove_orphaned_temp_files(dir);
}

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  PM_CHECK(status.type() != fs::file_type::not_found, "{}: no such file", path);
  PM_CHECK(!ec, "{}: cannot read ({})", path, ec.message());
  PM_CHECK(!fs::is_directory(status), "{}: is a folder, expected a file", path);
  // A FIFO or device would block or never end: only regular files are read.
  PM_CHECK(fs::is_regular_file(status), "{}: not a regular file (a pipe, socket or device)", path);
  std::ifstream in(path, std::ios::binary);
  PM_CHECK(in.good(), "{}: cannot open for reading ({})", path, std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  PM_CHECK(size >= 0, "{}: cannot determine the file size", path);
  in.seekg(0, std::ios::beg);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0)
    in.read(reinterpret_cast<char*>(bytes.data()), size);
  PM_CHECK(in.good() || in.eof(), "{}: read error", path);
  return bytes;
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  const fs::path target(path);
  const std::string dir = target.parent_path().string();
  if (!dir.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    PM_CHECK(!ec, "{}: cannot create folder {} ({})", path, dir, ec.message());
  }
  sweep_folder_once(dir);
  const TempFile tmp = create_temp_file(dir, path);
  const bool written = write_all(tmp.fd, data, size);
  const int write_errno = errno;
  const bool closed = ::close(tmp.fd) == 0;
  if (!written || !closed) {
    ::unlink(tmp.path.c_str());
    PM_FAIL("{}: write failed ({})", path, std::strerror(written ? errno : write_errno));
  }
  // rename replaces `path` itself, even when it is a symlink: nothing is written through links.
  if (std::rename(tmp.path.c_str(), path.c_str()) != 0) {
    const int rename_errno = errno;
    ::unlink(tmp.path.c_str());
    PM_FAIL("{}: cannot move the finished file into place ({})", path, std::strerror(rename_errno));
  }
}

void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}

void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
}

std::string file_stem(const std::string& path) {
  return fs::path(path).stem().string();
}

namespace {

/// Whether `path` is an input to read: a regular file, or an entry whose status cannot be read
/// (a symbolic link loop, no permission), which then fails when read, naming the file and the
/// reason, rather than being mistaken for a missing file or stopping a folder's listing.
bool is_input_file(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found)
    return false;
  return ec || fs::is_regular_file(status);
}

/// Whether `field` has a ".." path component ("../x", "a/../b", "..").
bool has_parent_reference(const std::string& field) {
  for (const auto& part : fs::path(field)) {
    if (part == "..")
      return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> read_id_list(const std::string& path) {
  std::ifstream in(path);
  PM_CHECK(in.good(), "{}: cannot open the list file", path);
  std::vector<std::string> ids;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    std::istringstream fields(line);
    std::string first;
    if (!(fields >> first) || first[0] == '#')
      continue;
    const std::string where = fmt::format("{}:{}", path, number);
    PM_CHECK(!has_parent_reference(first),
             "{}: '{}' refers to a parent folder ('..'); a list names images, not paths out of "
             "the input folders",
             where,
             printable(first));
    if (first.find('/') != std::string::npos || first.find('.') != std::string::npos) {
      first = file_stem(first);
    }
    check_image_id(first, where);
    ids.push_back(first);
  }
  return ids;
}

std::vector<std::string> list_files(const std::string& dir, const std::vector<std::string>& exts) {
  std::error_code ec;
  PM_CHECK(fs::is_directory(dir, ec), "{}: no such folder", dir);
  std::vector<std::string> out;
  fs::directory_iterator it(dir, ec);
  PM_CHECK(!ec, "{}: cannot list the folder ({})", dir, ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::string ext = it->path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) {
      return static_cast<char>(std::tolower(c));
    });
    if (std::find(exts.begin(), exts.end(), ext) != exts.end() && is_input_file(it->path()))
      out.push_back(it->path().string());
  }
  PM_CHECK(!ec, "{}: cannot list the folder ({})", dir, ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

std::string find_by_stem(const std::string& dir,
                         const std::string& stem,
                         const std::vector<std::string>& exts) {
  for (const auto& ext : exts) {
    const fs::path p = fs::path(dir) / (stem + ext);
    if (is_input_file(p))
      return p.string();
  }
  return "";
}

std::string find_image(const std::string& dir, const std::string& stem) {
  const std::string p = find_by_stem(dir, stem, {".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG"});
  PM_CHECK(!p.empty(), "{}: no image for id '{}' (.jpg/.png)", dir, stem);
  return p;
}

std::vector<std::string> take_shard(const std::vector<std::string>& items, const ShardSpec& shard) {
  PM_CHECK(shard.count > 0 && shard.index < shard.count,
           "ShardSpec {}/{}: need 0 <= index < count",
           shard.index,
           shard.count);
  std::vector<std::string> out;
  for (size_t i = shard.index; i < items.size(); i += shard.count)
    out.push_back(items[i]);
  return out;
}

}  // namespace pm
