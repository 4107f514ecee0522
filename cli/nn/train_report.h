// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace pm::cli {

/// A training command's closing line: "<label>: N steps (a..b of T) in S s -> <model>", pointing
/// at <out>/last.pth and --resume when the run stopped before the end of its schedule.
template <typename Result>
void print_training_line(const char* label, const Result& r, const std::string& out_dir) {
  const std::string target = r.finished ? r.model_path : out_dir + "/last.pth (use --resume)";
  std::printf("%s: %zu steps (%lld..%lld of %lld) in %.1f s -> %s\n",
              label,
              r.steps.size(),
              static_cast<long long>(r.start_step),
              static_cast<long long>(r.start_step + static_cast<int64_t>(r.steps.size())),
              static_cast<long long>(r.total_steps),
              r.seconds,
              target.c_str());
}

}  // namespace pm::cli
