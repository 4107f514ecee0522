// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/parallel.h"
#include "pseudomask/core/eval/confusion.h"

namespace pm {

/// Options shared by the label and CAM evaluations.
struct EvalOptions {
  int num_classes = 21;  ///< label ids 0..num_classes-1, background 0
  int ignore = 255;      ///< ground-truth label that is skipped
  /// The ORANDNet code's metric: 20 classes (VOC's tvmonitor dropped), and every pixel whose GT
  /// or prediction is ≥ 20 excluded. Only for comparison with numbers from that code.
  bool official_orandnet = false;
  /// The predictions are probability maps (<id>.npy, (C,H,W) or (C,H·W)) scored by their plain
  /// argmax (argmax_probability_file), not label PNGs.
  bool pred_probabilities = false;
  bool keep_going = false;  ///< record bad images and go on instead of stopping
  int jobs = 0;             ///< threads; 0 = all cores
  ProgressFn progress;
};

/// An image that could not be evaluated (with keep_going).
using EvalFailure = ItemFailure;

/// The metrics of one image, from its own confusion matrix (so that a user can find the images
/// that pull a mean down). Means are NaN-skipping over the classes in the image's ground truth or
/// prediction.
struct ImageMetrics {
  std::string id;
  Metrics metrics;
};

/// The result of evaluating a list of label maps.
struct EvalReport {
  ConfusionMatrix confusion;
  Metrics metrics;
  size_t images = 0;                         ///< images counted
  std::vector<ImageMetrics> images_metrics;  ///< one per counted image, in list order
  std::vector<EvalFailure> failures;
};

/// Evaluates predicted label PNGs (or, with options.pred_probabilities, the argmax of probability
/// maps <pred_dir>/<id>.npy) against ground-truth PNGs, matched by id (<dir>/<id>.png),
/// with one confusion matrix over the whole list. Throws on the first bad image (missing file,
/// size mismatch, label out of range) unless options.keep_going.
EvalReport evaluate_label_dirs(const std::string& gt_dir,
                               const std::string& pred_dir,
                               const std::vector<std::string>& ids,
                               const EvalOptions& options);

/// A threshold sweep of CAM files (see evaluate_cam_dir).
struct CamSweepReport {
  std::vector<float> thresholds;
  std::vector<Metrics> metrics;    ///< one per threshold
  size_t best_index = 0;           ///< threshold with the highest mIoU (first on ties)
  ConfusionMatrix best_confusion;  ///< the confusion matrix at the best threshold
  /// First threshold whose mean precision exceeds its mean recall (ORANDNet's
  /// finding_best_thres), or -1 if none does.
  int crossing_index = -1;
  size_t images = 0;
  /// Per counted image (list order): its metrics at the best threshold.
  std::vector<ImageMetrics> images_metrics;
  std::vector<EvalFailure> failures;
};

/// Evaluates CAM files (<cam_dir>/<id>.npy, any layout read_cam_file reads; their high_res maps
/// at GT size) at every threshold: background plane at the threshold, argmax, background wins
/// ties, channel k → label keys[k] + 1. One pass over the files serves all thresholds.
CamSweepReport evaluate_cam_dir(const std::string& gt_dir,
                                const std::string& cam_dir,
                                const std::vector<std::string>& ids,
                                const std::vector<float>& thresholds,
                                const EvalOptions& options,
                                const CamReadOptions& cam_options = {});

/// Accumulates, for every threshold at once, the confusion matrices of thresholded CAMs. For a
/// pixel with peak value v and peak class c, thresholds t < v predict c and the others predict
/// background, so it is enough to count (gt, c, number of thresholds below v).
class CamThresholdSweep {
 public:
  CamThresholdSweep(std::vector<float> thresholds, int num_classes);

  /// Adds one image: gt labels and its CAMs (K, H, W) with class keys.
  void add(const LabelMap& gt,
           const Planes& cams,
           const std::vector<int>& keys,
           const std::string& name,
           int ignore,
           OutOfRange policy);
  /// The work of add() that needs no shared state, so threads can do it in parallel: each
  /// counted pixel's slot, written to `slots` (cleared first).
  void collect(const LabelMap& gt,
               const Planes& cams,
               const std::vector<int>& keys,
               const std::string& name,
               int ignore,
               OutOfRange policy,
               std::vector<uint32_t>& slots) const;
  /// Counts slots from collect().
  void add_slots(const std::vector<uint32_t>& slots);
  /// The confusion matrix at threshold index i.
  ConfusionMatrix confusion_at(size_t i) const;

  /// One image's counts in compact form: (slot, count) for each distinct slot of collect().
  using SlotCounts = std::vector<std::pair<uint32_t, uint32_t>>;
  /// Counts the slots of one image (distinct slots in order of first occurrence).
  SlotCounts count_slots(const std::vector<uint32_t>& slots) const;
  /// The confusion matrix of one image's counts at threshold index i.
  ConfusionMatrix confusion_at(size_t i, const SlotCounts& image) const;
  const std::vector<float>& thresholds() const { return thresholds_; }

 private:
  size_t slot(int gt, int pred, size_t below) const;
  /// Adds `count` pixels of slot `s` to `cm` as threshold index j labels them.
  void add_slot_at(size_t j, size_t s, int64_t count, ConfusionMatrix& cm) const;

  std::vector<float> thresholds_;  // ascending
  int n_;
  std::vector<int64_t> counts_;  // [gt][pred][number of thresholds below the peak]
};

/// A threshold sweep start, start + step, ..., stop (stop included within rounding).
struct ThresholdSweep {
  double start = 0.0;
  double stop = 1.0;
  double step = 0.01;
};

/// The thresholds of a sweep, each rounded to 6 decimals. Throws naming ThresholdSweep unless
/// step > 0, stop >= start and the sweep has at most 100000 thresholds.
std::vector<float> sweep_thresholds(const ThresholdSweep& sweep);

}  // namespace pm
