// SPDX-License-Identifier: MIT
#pragma once

// Training IRN (Ahn, Cho & Kwak, CVPR 2019; the public code's train_irn.py) on the shared loop:
// batches of IrnAugmentOptions' crops and their pair labels, IRN's four losses, poly SGD with two
// groups (the edge branch at lr, the displacement branch at lr × dp_lr_mult), checkpoints,
// train_log.csv and exact resume.
//
// IRN's PolyOptimizer passes its weight decay into torch SGD's momentum slot while every group
// sets weight_decay itself, so the public runs train with weight decay 1e-4 and momentum 1e-4;
// `momentum` defaults to that (IRN's lr 0.1 and ×10 were tuned without momentum).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pseudomask/nn/irn/irn_data.h"
#include "pseudomask/nn/irn/irn_net.h"

namespace pm::nn {

/// Options of train_irn.
struct TrainIrnOptions {
  IrnNetOptions net;
  /// The backbone's weights: torchvision's ResNet-50 .pth, or a train-cls model.pth of the same
  /// backbone (its backbone.*) ("" = random).
  std::string pretrained;
  std::string out_dir;     ///< last.pth, model.pth, train_log.csv
  int64_t iterations = 0;  ///< budget in steps; > 0 overrides epochs
  int epochs = 3;          ///< IRN: 3
  int batch_size = 32;     ///< IRN: 32
  double lr = 0.1;         ///< edge branch lr (IRN: 0.1)
  double dp_lr_mult = 10;  ///< the displacement branch trains this much faster (IRN: 10)
  double momentum = 1e-4;  ///< what IRN's code runs (see above)
  double weight_decay = 1e-4;
  double poly_power = 0.9;  ///< IRN's PolyOptimizer: (1 - t/T)^0.9
  IrnAugmentOptions augment;
  int num_classes = 21;  ///< IR labels must be < num_classes or 255
  int workers = 2;       ///< threads preparing batches (results do not depend on it)
  int threads = 0;       ///< torch intra-op threads (0 = torch's default)
  uint64_t seed = 0;
  std::string device = "cpu";
  bool resume = false;     ///< continue from <out_dir>/last.pth
  int64_t stop_after = 0;  ///< stop after this many steps in all (0 = whole schedule)
  /// Throws pm::Error naming the offending field (e.g. "TrainIrnOptions::batch_size").
  void validate() const;
};

/// One step's figures (train_log.csv's columns after step and epoch).
struct IrnStepLog {
  int64_t step = 0;
  int epoch = 0;
  double pos_aff = 0, neg_aff = 0, dp_fg = 0, dp_bg = 0;  ///< IRN's loss1..loss4
  double loss = 0;                                        ///< the total IRN minimises
  double lr = 0;                                          ///< the edge group's lr
};

/// What a training run did.
struct TrainIrnResult {
  std::vector<IrnStepLog> steps;  ///< the steps of this call
  int64_t start_step = 0;
  int64_t total_steps = 0;
  int64_t steps_per_epoch = 0;
  FreezeState freeze;  ///< the backbone's frozen parts while it trained
  bool finished = false;
  double seconds = 0;
  std::string model_path;
  std::string log_path;
};

using IrnStepCallback = std::function<void(const IrnStepLog&, int64_t total_steps)>;

/// Checkpoint metadata of an IRN model.
namespace irn_meta {
constexpr const char* kFormat = "format";  ///< "pseudomask-irn"
constexpr const char* kFormatName = "pseudomask-irn";
constexpr const char* kArch = "arch";             ///< IrnNetOptions::backbone
constexpr const char* kEdgeWidth = "edge_width";  ///< IrnNetOptions' resolved widths
constexpr const char* kDpWidth = "dp_width";
constexpr const char* kRadius = "radius";
constexpr const char* kCrop = "crop";
constexpr const char* kSeed = "seed";
}  // namespace irn_meta

/// Trains IRN, writing <out>/last.pth (weights, momentum, step) at each epoch end and on stop,
/// <out>/model.pth at the end, and <out>/train_log.csv (step, epoch, the four losses, the total,
/// lr).
TrainIrnResult train_irn(const std::vector<IrnTrainSample>& samples,
                         const TrainIrnOptions& options,
                         const IrnStepCallback& on_step = {});

/// A trained IRN in eval mode on `device`: train_irn's model.pth or last.pth (the network from its
/// metadata), or a file without our metadata as IRN's ResNet-50 network (the public IRN code's
/// res50_irn.pth, load_irn_weights). Throws pm::Error naming the file when it is neither.
IrnNet load_irn_model(const std::string& path, const std::string& device = "cpu");

}  // namespace pm::nn
