// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/files.h"

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
  PM_CHECK(fs::exists(path, ec), "{}: no such file", path);
  PM_CHECK(!fs::is_directory(path, ec), "{}: is a folder, expected a file", path);
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

std::vector<std::string> read_id_list(const std::string& path) {
  std::ifstream in(path);
  PM_CHECK(in.good(), "{}: cannot open the list file", path);
  std::vector<std::string> ids;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string first;
    if (!(fields >> first) || first[0] == '#')
      continue;
    if (first.find('/') != std::string::npos || first.find('.') != std::string::npos) {
      first = file_stem(first);
    }
    ids.push_back(first);
  }
  return ids;
}

std::vector<std::string> list_files(const std::string& dir, const std::vector<std::string>& exts) {
  std::error_code ec;
  PM_CHECK(fs::is_directory(dir, ec), "{}: no such folder", dir);
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file())
      continue;
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) {
      return static_cast<char>(std::tolower(c));
    });
    if (std::find(exts.begin(), exts.end(), ext) != exts.end()) {
      out.push_back(entry.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string find_by_stem(const std::string& dir,
                         const std::string& stem,
                         const std::vector<std::string>& exts) {
  for (const auto& ext : exts) {
    const fs::path p = fs::path(dir) / (stem + ext);
    std::error_code ec;
    if (fs::is_regular_file(p, ec))
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
