// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/files.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pseudomask/core/common/error.h"

namespace fs = std::filesystem;

namespace pm {

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
  if (target.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    PM_CHECK(
        !ec, "{}: cannot create folder {} ({})", path, target.parent_path().string(), ec.message());
  }
  static std::atomic<unsigned> counter{0};
  const std::string tmp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    PM_CHECK(f != nullptr, "{}: cannot open for writing ({})", tmp, std::strerror(errno));
    const size_t written = size ? std::fwrite(data, 1, size, f) : 0;
    const bool flushed = std::fflush(f) == 0;
    const bool closed = std::fclose(f) == 0;
    if (written != size || !flushed || !closed) {
      std::remove(tmp.c_str());
      PM_FAIL("{}: write failed ({})", path, std::strerror(errno));
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    std::remove(tmp.c_str());
    PM_FAIL("{}: cannot move the finished file into place ({})", path, ec.message());
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
