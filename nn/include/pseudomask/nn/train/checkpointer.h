// SPDX-License-Identifier: MIT
#pragma once

// The files of one training run, in its output folder: last.pth (weights, optimiser state and
// the step, to resume), best.pth (the best evaluation), model.pth (the finished model) and
// train_log.csv. Every trainer writes and resumes through this one class.

#include <torch/nn/module.h>

#include <cstdint>
#include <string>

#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/train/sgd.h"

namespace pm::nn {

/// Metadata keys the training loop keeps in every checkpoint it writes.
namespace train_meta {
constexpr const char* kStep = "step";               ///< steps done
constexpr const char* kTotalSteps = "total_steps";  ///< the schedule's length
}  // namespace train_meta

/// The integer metadata `key` of `ckpt`; throws naming `path` when it is absent or not a number.
int64_t metadata_int(const Checkpoint& ckpt, const char* key, const std::string& path);
/// Sets metadata `key` to `value`, replacing an earlier value in place or appending.
void set_metadata(Checkpoint& ckpt, const std::string& key, const std::string& value);

/// Reads and writes one run's files in `out_dir` (created on construction).
class Checkpointer {
 public:
  /// `optimizer_prefix` names the optimiser's buffers in last.pth ("<prefix><param name>").
  Checkpointer(const std::string& out_dir, std::string optimizer_prefix);

  const std::string& last_path() const { return last_; }
  const std::string& best_path() const { return best_; }
  const std::string& model_path() const { return model_; }
  const std::string& log_path() const { return log_; }
  const std::string& optimizer_prefix() const { return prefix_; }

  /// True when `resume` is asked and last.pth exists: the run continues from it.
  bool resumes(bool resume) const;
  /// Reads last.pth. Errors name the file.
  Checkpoint read_last() const;
  /// Loads the weights of `last` (read_last's) into `module` and its buffers into `sgd`.
  void restore(const Checkpoint& last, torch::nn::Module& module, PolySgd& sgd) const;
  /// Writes last.pth: `state` (weights and metadata) plus the optimiser's buffers; and the log.
  void write_last(Checkpoint state, const PolySgd& sgd, const std::string& log) const;
  void write_best(const Checkpoint& state) const;
  void write_model(const Checkpoint& state) const;
  void write_log(const std::string& log) const;
  /// The rows of an earlier train_log.csv for the steps before `step` (kept on resume).
  std::string earlier_log_rows(int64_t step) const;

 private:
  std::string last_, best_, model_, log_, prefix_;
};

}  // namespace pm::nn
