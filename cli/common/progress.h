// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace pm::cli {

/// A progress reporter for batch commands: a bar redrawn in place on a terminal, plain
/// periodic lines ("eval: 500/1449 (34%)") otherwise (CI, logs). Thread-safe.
class Progress {
 public:
  Progress(std::string label, size_t total, bool quiet = false);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Reports that `done` of the items are finished.
  void update(size_t done);
  /// Ends the bar (prints the final state once).
  void finish();

 private:
  void draw(size_t done);

  std::string label_;
  size_t total_;
  bool quiet_;
  bool tty_;
  bool finished_ = false;
  size_t last_done_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::mutex mutex_;
};

}  // namespace pm::cli
