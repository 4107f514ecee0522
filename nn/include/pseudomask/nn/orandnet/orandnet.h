// SPDX-License-Identifier: MIT
#pragma once

// ORANDNet training and inference (Park & Shim, "Precision matters"): the FCN-8s of fcn8s.h
// learns to map each class's OR CAM to the AND CAM of two classifiers (ORANDNet Eq. 1), one class
// at a time at full resolution; its ReLU'd, max-normalised output is the refined CAM.

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/nn/losses/orand_loss.h"
#include "pseudomask/nn/orandnet/fcn8s.h"

namespace pm::nn {

/// One training image: OR and AND of its classes at full resolution, (K, H, W).
struct OrandPair {
  std::vector<int> keys;
  Planes or_map;
  Planes and_map;
};

/// The OR and AND (ORANDNet Eq. 1) of two CAM files of one image via core's ensemble_cams:
/// `official` adds 0.15 to the second CAM and does not renormalise (the official code);
/// otherwise both results are divided by their per-class max. Errors name both files.
OrandPair make_orand_pair(const CamFile& a,
                          const CamFile& b,
                          bool official,
                          const std::string& name_a,
                          const std::string& name_b);

/// Runs each class plane of `planes` (K, H, W) through the network as (1, 1, H, W): logits
/// (1, K, H, W).
torch::Tensor forward_classes(Fcn8s& net, const torch::Tensor& planes);

/// The refined CAM of one image (module/encdec_pred.py): eval mode, no gradient; the logits of
/// each OR plane through ReLU (kOfficial) or sigmoid (kBce), each class divided by its max +
/// 1e-5. Returns (K, H, W).
Planes refine_cam(Fcn8s& net, const Planes& or_map, OrandLoss loss, const torch::Device& device);

/// Hyper-parameters of train_orandnet.
struct OrandTrainOptions {
  Fcn8sOptions net;
  OrandLoss loss = OrandLoss::kBce;
  double label_smoothing = kDefaultLabelSmoothing;  ///< ε of OrandLoss::kBalancedSmoothed
  bool official_pair = false;  ///< recorded in the model: the OR/AND were made the official way
  int64_t iterations = 5000;   ///< optimizer steps, one image each (official: 5000)
  double lr = 1e-3;            ///< official: 1e-3, poly power 0.9
  double momentum = 0.0;       ///< official: 0 (its weight decay lands in the momentum slot)
  double weight_decay = 0.0;   ///< official: 0
  uint64_t seed = 0;
  std::string device = "cpu";
  std::string init_checkpoint;  ///< torchvision vgg16 .pth, or "" for random initialisation
  /// model.pth (the model), last.pth (the model and SGD state, to resume) and train_log.csv go
  /// here.
  std::string out_dir;
  int64_t save_every = 0;  ///< also write last.pth every N steps (0: only at the end)
  bool resume = false;     ///< continue from <out_dir>/last.pth if it exists
  /// Stop after this many steps in all, writing last.pth (0 = at `iterations`); the schedule is
  /// kept, so a later resume continues exactly.
  int64_t stop_after = 0;
};

/// Per-step report.
struct OrandStep {
  int64_t step = 0;  ///< 1-based
  int64_t total = 0;
  double loss = 0;
  double lr = 0;
  std::string id;
};

/// What a training run did.
struct OrandTrainResult {
  int64_t start_step = 0;  ///< > 0 when resumed
  int64_t steps = 0;       ///< steps run now
  int64_t zero_gradient_steps = 0;
  double first_loss = 0, last_loss = 0, mean_loss = 0;
  std::string init_report;  ///< the ImageNet load summary, if any
  bool finished = false;    ///< ran to `iterations` (model.pth written)
  std::string model_path;   ///< <out_dir>/model.pth when finished
  std::string log_path;     ///< <out_dir>/train_log.csv
};

/// Trains on `ids` (each loaded by `load`, on the training loop's loader thread), one image per
/// step in a per-epoch shuffled order seeded by options.seed, dropout reseeded per step (so a
/// resumed run continues exactly). Writes <out_dir>/last.pth (weights, metadata and SGD state)
/// every save_every steps and when stopping, <out_dir>/model.pth at the end and
/// <out_dir>/train_log.csv. A resume may extend `iterations` (the poly schedule then follows
/// the new length).
OrandTrainResult train_orandnet(const OrandTrainOptions& options,
                                const std::vector<std::string>& ids,
                                const std::function<OrandPair(const std::string&)>& load,
                                const std::function<void(const OrandStep&)>& progress = {});

/// A trained model and how it was trained.
struct OrandModel {
  Fcn8s net{nullptr};
  OrandLoss loss = OrandLoss::kBce;
  double label_smoothing = kDefaultLabelSmoothing;  ///< ε of OrandLoss::kBalancedSmoothed
  bool official_pair = false;  ///< trained on official-code OR/AND (0.15 shift, no renorm)
  int64_t step = 0;
};

/// Writes the model with metadata (arch, width, crop, loss, step) as a torch.save file.
void save_orand_model(const std::string& path,
                      Fcn8s& net,
                      OrandLoss loss,
                      bool official_pair,
                      int64_t step,
                      const Checkpoint& extra = {});
/// Reads a model save_orand_model wrote, on `device`. Errors name the file.
OrandModel load_orand_model(const std::string& path, const torch::Device& device);

}  // namespace pm::nn
