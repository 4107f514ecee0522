// SPDX-License-Identifier: MIT
#pragma once

// Stage one of WSSS: training a multi-label classifier on image-level labels (IRN's
// train_cam.py; ORANDNet trains its ResNet-50 and ViT this way).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/heads/classifier.h"
#include "pseudomask/nn/train/augment.h"
#include "pseudomask/nn/train/sgd.h"

namespace pm::nn {

/// One training image and its foreground classes (0-based).
struct TrainSample {
  std::string id;
  std::string image_path;
  std::vector<int> labels;
};

/// Options of train_classifier. Defaults follow IRN's ResNet-50 CAM training except the
/// optimiser (see `momentum`).
struct TrainClsOptions {
  ClassifierOptions model;  ///< architecture and class count
  /// ImageNet .pth for the backbone. With one, BatchNorm statistics (model.frozen_bn) and the
  /// stem (ClassifierImpl::freeze_stem) are frozen as in IRN; without ("" = random init),
  /// everything trains.
  std::string pretrained;
  std::string out_dir;       ///< last.pth, model.pth and train_log.csv go here
  int epochs = 5;            ///< IRN: 5 (ORANDNet's code: 10)
  int batch_size = 16;       ///< IRN: 16; the last partial batch of an epoch is dropped
  double lr = 0.01;          ///< backbone learning rate (IRN: 0.1 head, 0.01 backbone)
  double head_lr_mult = 10;  ///< the new head trains this much faster
  /// Paper intent (IRN): momentum 0.9 with weight decay. IRN's and ORANDNet's code pass the
  /// weight decay into SGD's momentum slot (momentum 1e-4/5e-4, no decay):
  /// `--momentum 5e-4 --weight-decay 0` reproduces that.
  double momentum = 0.9;
  double weight_decay = 1e-4;
  double poly_power = 0.9;  ///< lr · (1 - t/T)^power
  /// poly (IRN, ORANDNet's ResNet-50) or cosine (the ORANDNet paper's ViT).
  LrSchedule lr_schedule = LrSchedule::kPoly;
  double clip_grad = 0;        ///< clip the gradient's global L2 norm (0 = off; ORANDNet ViT: 1)
  AugmentOptions augment;      ///< IRN augmentation
  int workers = 2;             ///< threads preparing batches (results do not depend on it)
  int threads = 0;             ///< torch intra-op threads (0 = torch's default)
  uint64_t seed = 0;           ///< data order, augmentation and head initialisation
  std::string device = "cpu";  ///< cpu, cuda, cuda:N
  bool resume = false;         ///< continue from <out_dir>/last.pth
  /// Stop after this many steps in all (0 = run the whole schedule), saving last.pth; the
  /// schedule still spans `epochs`, so a later --resume continues exactly.
  int64_t stop_after = 0;
  /// Throws pm::Error naming the offending field (e.g. "TrainClsOptions::epochs").
  void validate() const;
};

/// One optimisation step's figures.
struct StepLog {
  int64_t step = 0;     ///< 0-based step index
  int epoch = 0;        ///< 0-based epoch
  double loss = 0;      ///< multilabel soft-margin loss of the batch
  double accuracy = 0;  ///< share of (image, class) decisions right at logit 0
  double lr = 0;        ///< backbone learning rate used
  /// The batch's logits and 0/1 targets, (B, K) row-major: with the other steps of an epoch
  /// they give the epoch's mAP (mean_average_precision).
  std::vector<float> scores;
  std::vector<uint8_t> targets;
};

/// One validation: the classifier's mAP on the validation images.
struct ClsValLog {
  int64_t step = 0;              ///< steps done when it ran
  double map = 0;                ///< mean over the classes present in the validation set
  std::vector<double> class_ap;  ///< per class (NaN where no validation image has it)
};

/// What a training run did.
struct TrainClsResult {
  std::vector<StepLog> steps;          ///< the steps run by this call (not those before a resume)
  std::vector<ClsValLog> validations;  ///< one per epoch end when validation images are given
  int64_t start_step = 0;              ///< first step of this call (> 0 after --resume)
  int64_t total_steps = 0;             ///< the schedule's length
  FreezeState freeze;                  ///< the backbone's frozen parts while it trained
  bool finished = false;               ///< the schedule ran to its end (model.pth written)
  double seconds = 0;
  std::string model_path;  ///< <out>/model.pth when finished
  std::string log_path;    ///< <out>/train_log.csv
};

/// Called after every step with the step's figures and the schedule's length.
using StepCallback = std::function<void(const StepLog&, int64_t total_steps)>;
/// Called after every validation.
using ClsValCallback = std::function<void(const ClsValLog&)>;

/// Trains a classifier with the multi-label soft-margin loss and poly SGD, writing
/// <out>/last.pth (weights, momentum and the step, at every epoch end and when stopping),
/// <out>/model.pth (weights and metadata, at the end) and <out>/train_log.csv. With `val`
/// images, validates (validate_classifier) at every epoch's end.
TrainClsResult train_classifier(const std::vector<TrainSample>& samples,
                                const TrainClsOptions& options,
                                const StepCallback& on_step = {},
                                const std::vector<TrainSample>& val = {},
                                const ClsValCallback& on_val = {});

/// The classifier's mAP on `val` (eval mode, no augmentation): each image resized so that its
/// long side is `crop`, in the top-left corner of a zero crop×crop canvas (the training input),
/// ImageNet-normalised. Restores the model's training mode.
ClsValLog validate_classifier(Classifier& model,
                              const std::vector<TrainSample>& val,
                              int crop,
                              const torch::Device& device);

/// Checkpoint metadata keys of a trained classifier (model.pth, last.pth).
namespace meta {
constexpr const char* kFormat = "format";  ///< "pseudomask-classifier"
constexpr const char* kArch = "arch";
constexpr const char* kNumClasses = "num_classes";
constexpr const char* kImageSize = "image_size";  ///< ViT grid input side
constexpr const char* kCrop = "crop";             ///< training crop side
constexpr const char* kStep = "step";             ///< steps done
constexpr const char* kTotalSteps = "total_steps";
constexpr const char* kSeed = "seed";
}  // namespace meta

/// Rebuilds a trained classifier from model.pth / last.pth (architecture from its metadata) on
/// `device`, in eval mode. Throws naming the file if it is not one of ours or does not load.
Classifier load_classifier(const std::string& path, const std::string& device = "cpu");

}  // namespace pm::nn
