// SPDX-License-Identifier: MIT
#pragma once

// Training a segmentation model on pseudo-masks (DeepLab / PSPNet as URN and ORANDNet do it):
// poly SGD with a minimum learning rate, rescale/crop/flip/photometric augmentation, cross-entropy
// ignoring 255, optional URN per-pixel loss weights and PMM's PUS, ORANDNet's scale scheduling,
// periodic validation (mIoU), checkpoints, --resume and keep-best.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pseudomask/nn/losses/seg_loss.h"
#include "pseudomask/nn/seg/seg_augment.h"
#include "pseudomask/nn/seg/seg_model.h"
#include "pseudomask/nn/train/sgd.h"

namespace pm::nn {

/// Where the per-pixel loss weights of a sample come from.
enum class WeightSource {
  kNone,     ///< all 1
  kUrnPng,   ///< the official 3-channel URN PNG (B = M_c, G = R = W8)
  kGrayPng,  ///< a single-channel PNG holding round(weight·255)
};

/// One training sample. With kUrnPng weights and an empty label_path, M_c of the URN file is the
/// label.
struct SegTrainSample {
  std::string id;
  std::string image_path;
  std::string label_path;
  std::string weight_path;
};

/// One validation image and its ground truth.
struct SegValSample {
  std::string id;
  std::string image_path;
  std::string gt_path;
};

/// Options of train_segmentation.
struct TrainSegOptions {
  SegModelOptions model;
  std::string pretrained;  ///< torchvision ImageNet ResNet .pth for the backbone ("" = random)
  std::string out_dir;     ///< last.pth, model.pth, best.pth, train_log.csv
  int64_t iterations = 0;  ///< budget in steps (URN: 20000 at batch 16)...
  int epochs = 0;          ///< ...or in epochs (exactly one of the two is > 0)
  int batch_size = 8;
  double lr = 0.01;          ///< backbone learning rate
  double head_lr_mult = 10;  ///< the new heads train this much faster (DeepLab: 10)
  double momentum = 0.9;
  double weight_decay = 5e-4;
  double poly_power = 0.9;
  double min_lr = 1e-4;  ///< mmseg's poly floor (the cosine schedule's floor too)
  LrSchedule lr_schedule = LrSchedule::kPoly;  ///< poly (mmseg, DeepLab) or cosine
  SegAugmentOptions augment;
  SegLossOptions loss;
  WeightSource weight_source = WeightSource::kNone;
  /// Official URN weights: Y = t where W8/255 ≤ t, else 1 (t = 0.05). < 0: Y = W8/255 as is.
  double weight_thresh = 0.05;
  std::string scale_schedule;                ///< e.g. "8:2,4:4,2:6" ("" = always full size)
  std::string label_downsample = "nearest";  ///< nearest or majority
  int64_t val_every = 0;   ///< validate every this many steps (0 = only at the end)
  bool keep_best = false;  ///< write best.pth at the best validation mIoU
  int workers = 2;         ///< threads preparing batches (results do not depend on it)
  int threads = 0;         ///< torch intra-op threads (0 = torch's default)
  uint64_t seed = 0;
  std::string device = "cpu";
  bool resume = false;     ///< continue from <out_dir>/last.pth
  int64_t stop_after = 0;  ///< stop after this many steps in all (0 = whole schedule)
  /// Throws pm::Error naming the offending field (e.g. "TrainSegOptions::batch_size").
  void validate() const;
};

/// One step's figures.
struct SegStepLog {
  int64_t step = 0;
  int epoch = 0;
  double loss = 0;  ///< total loss (decode + aux_weight · aux)
  double lr = 0;
  int scale = 1;  ///< scale-schedule downsample factor used
};

/// One validation's figures.
struct SegValLog {
  int64_t step = 0;  ///< steps done when it ran
  double miou = 0;
  double pixel_accuracy = 0;
};

/// What a training run did.
struct TrainSegResult {
  std::vector<SegStepLog> steps;  ///< the steps of this call
  std::vector<SegValLog> validations;
  int64_t start_step = 0;
  int64_t total_steps = 0;
  int64_t steps_per_epoch = 0;
  FreezeState freeze;  ///< the backbone's frozen parts while it trained
  bool finished = false;
  double best_miou = -1;  ///< -1 when never validated
  double seconds = 0;
  std::string model_path;
  std::string log_path;
};

using SegStepCallback = std::function<void(const SegStepLog&, int64_t total_steps)>;
using SegValCallback = std::function<void(const SegValLog&)>;

/// Reads a sample's loss weights per pixel (see WeightSource); `labels` receives M_c for URN
/// files when the sample has no label_path. Errors name the file.
std::vector<float> read_loss_weights(const SegTrainSample& sample,
                                     WeightSource source,
                                     double weight_thresh,
                                     LabelMap* labels);

/// The mIoU of `model` (eval mode, single scale) over `val`, with `num_classes` classes.
SegValLog validate_segmentation(SegModel& model,
                                const std::vector<SegValSample>& val,
                                int num_classes,
                                const std::string& device);

/// Trains a segmentation model, writing <out>/last.pth (weights, momentum, step) at each epoch
/// end, validation and stop, <out>/model.pth at the end, <out>/best.pth with keep_best, and
/// <out>/train_log.csv.
TrainSegResult train_segmentation(const std::vector<SegTrainSample>& train,
                                  const std::vector<SegValSample>& val,
                                  const TrainSegOptions& options,
                                  const SegStepCallback& on_step = {},
                                  const SegValCallback& on_val = {});

}  // namespace pm::nn
