// SPDX-License-Identifier: MIT
#include "common/progress.h"

#include <unistd.h>

#include <cstdio>

namespace pm::cli {
namespace {

constexpr int kBarWidth = 30;              // characters of the terminal bar
constexpr double kTtyRedrawSeconds = 0.1;  // terminal redraw interval
constexpr double kLogLineSeconds = 10.0;   // interval of plain lines when not on a terminal

}  // namespace

Progress::Progress(std::string label, size_t total, bool quiet)
    : label_(std::move(label)),
      total_(total),
      quiet_(quiet),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  finish();
}

void Progress::update(size_t done) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (quiet_ || finished_ || done < last_done_)
    return;
  last_done_ = done;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < (tty_ ? kTtyRedrawSeconds : kLogLineSeconds) && done != total_)
    return;
  last_draw_ = now;
  draw(done);
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (quiet_ || finished_)
    return;
  finished_ = true;
  if (tty_) {
    draw(last_done_);
    std::fputc('\n', stderr);
  }
}

void Progress::draw(size_t done) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  if (tty_) {
    const int filled = static_cast<int>(frac * kBarWidth);
    std::fprintf(stderr,
                 "\r%s [%.*s%*s] %zu/%zu %.1fs",
                 label_.c_str(),
                 filled,
                 "##############################",
                 kBarWidth - filled,
                 "",
                 done,
                 total_,
                 elapsed);
  } else {
    std::fprintf(
        stderr, "%s: %zu/%zu (%.0f%%) %.1fs\n", label_.c_str(), done, total_, frac * 100, elapsed);
  }
  std::fflush(stderr);
}

}  // namespace pm::cli
