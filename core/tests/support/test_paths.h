// SPDX-License-Identifier: MIT
#pragma once

#include <unistd.h>
#include <filesystem>

#include <string>

namespace pm::test {

/// The repository's reference data (tests/data: the CRF reference, the VOC sample).
inline std::string data_file(const std::string& rel) {
  return std::string(PM_TEST_DATA_DIR) + "/" + rel;
}

/// The old name of data_file (the data once lived in a folder beside the repository).
inline std::string shared_data(const std::string& rel) {
  return data_file(rel);
}

/// The repository's committed test fixtures (tests/fixtures).
inline std::string fixture(const std::string& rel) {
  return std::string(PM_FIXTURE_DIR) + "/" + rel;
}

/// A fresh, empty temporary folder for one test; removed when the object goes away.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    path_ =
        std::filesystem::temp_directory_path() /
        ("pm_test_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::filesystem::path path_;
};

}  // namespace pm::test
