// SPDX-License-Identifier: MIT
#pragma once

// SGD with momentum and IRN's poly learning-rate schedule, with named momentum buffers so that
// a training checkpoint can hold them and a resumed run continues exactly.

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pseudomask/core/io/torch/checkpoint.h"

namespace pm::nn {

/// The learning-rate schedule over the steps t = 0..T-1 of a run.
enum class LrSchedule {
  /// IRN's/mmseg's poly: (lr - min_lr) · (1 - t/T)^power + min_lr.
  kPoly,
  /// Cosine annealing (torch's CosineAnnealingLR with T_max = T, stepped every step, as the
  /// ORANDNet paper's ViT: "a cosine annealing scheduler"): min_lr + (lr - min_lr) · (1 +
  /// cos(π t/T)) / 2.
  kCosine,
};

/// "poly" or "cosine" → the schedule; throws pm::Error naming `field` and the value.
LrSchedule parse_lr_schedule(const std::string& name, const std::string& field);
/// The schedule's name as parse_lr_schedule reads it.
const char* lr_schedule_name(LrSchedule schedule);

/// Hyper-parameters of PolySgd.
struct SgdOptions {
  double lr = 0.01;            ///< base learning rate (times each group's lr_mult)
  double momentum = 0.9;       ///< heavy-ball momentum (torch.optim.SGD, no dampening)
  double weight_decay = 1e-4;  ///< L2 penalty added to the gradient
  double poly_power = 0.9;     ///< lr_t = lr · (1 - t / total_steps)^power
  int64_t total_steps = 1;     ///< length of the schedule
  /// mmseg's poly floor: lr_t = (lr - min_lr) · (1 - t/T)^power + min_lr (0 = IRN's schedule).
  double min_lr = 0;
  LrSchedule schedule = LrSchedule::kPoly;  ///< poly (the default) or cosine
};

/// A group of named parameters sharing a learning-rate multiplier.
struct ParamGroup {
  std::vector<std::pair<std::string, torch::Tensor>> params;
  double lr_mult = 1.0;
};

/// torch.optim.SGD (momentum, weight decay, no dampening, no Nesterov) with IRN's
/// PolyOptimizer schedule, stepping parameter groups with their own lr multipliers.
class PolySgd {
 public:
  PolySgd(std::vector<ParamGroup> groups, const SgdOptions& options);

  /// The lr of `step` under the options' schedule: IRN's poly lr · (1 - step / total_steps)^power
  /// (min_lr at and after the end), or cosine annealing.
  double lr_at(int64_t step) const;
  /// One update with the gradients now in the parameters, at the lr of `step`; returns that lr.
  /// Parameters without a gradient are left alone.
  double step(int64_t step);
  /// Clears every parameter's gradient.
  void zero_grad();

  /// Momentum buffers as named tensors ("<prefix><param name>"), for a training checkpoint.
  void save_state(Checkpoint& ckpt, const std::string& prefix) const;
  /// Restores the buffers save_state wrote (absent ones stay empty); throws on a shape mismatch.
  void load_state(const Checkpoint& ckpt, const std::string& prefix, const std::string& name);

 private:
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<torch::Tensor>> buffers_;  // per group, per parameter
  SgdOptions options_;
};

/// The set-up every trainer starts with: checks that `samples` fill one batch, sets torch's
/// intra-op threads (0 = torch's default), seeds torch, and returns the parsed device.
torch::Device start_training(
    size_t samples, int batch_size, int threads, const std::string& device, uint64_t seed);

}  // namespace pm::nn
