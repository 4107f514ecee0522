// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

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

/// `config` (a training command's own settings) plus what every training run reports: steps,
/// whether the schedule finished, the last loss, time, the files written, and what of the
/// backbone stayed frozen ("frozen": parameter tensors without gradient and BatchNorm layers
/// in eval mode, from --norm-eval / --frozen-stages or a pretrained run's defaults).
template <typename Result>
nlohmann::json training_summary(nlohmann::json config, const Result& r) {
  config.update({{"start_step", r.start_step},
                 {"steps_run", r.steps.size()},
                 {"total_steps", r.total_steps},
                 {"finished", r.finished},
                 {"final_loss", r.steps.empty() ? 0.0 : r.steps.back().loss},
                 {"seconds", r.seconds},
                 {"model", r.model_path},
                 {"log", r.log_path},
                 {"frozen",
                  {{"parameters", r.freeze.frozen_parameters},
                   {"trainable_parameters", r.freeze.trainable_parameters},
                   {"batchnorm_eval", r.freeze.norm_layers_eval},
                   {"batchnorm", r.freeze.norm_layers}}}});
  return config;
}

}  // namespace pm::cli
