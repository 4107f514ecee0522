// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"

namespace pm {

/// What to do with a label outside [0, num_classes) that is not the ignore label.
enum class OutOfRange {
  kError,    ///< throw naming the file and the value (default)
  kExclude,  ///< skip the pixel (the ORANDNet code's 20-class behaviour, see EvalOptions)
};

/// An integer confusion matrix counts[gt * n + pred] over a whole image list (not per image,
/// so every pixel weighs the same, as VOC's official metric and the WSSS codes compute it).
class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int num_classes = 0);

  int num_classes() const { return n_; }
  int64_t at(int gt, int pred) const { return counts_[static_cast<size_t>(gt) * n_ + pred]; }
  const std::vector<int64_t>& counts() const { return counts_; }
  int64_t total() const;

  /// Adds one image. Pixels whose ground truth equals `ignore` are skipped; labels ≥ n (other
  /// than `ignore`) in gt or pred are handled by `policy`. Sizes must match. `name` is for errors.
  void add(const LabelMap& gt,
           const LabelMap& pred,
           const std::string& name,
           int ignore = 255,
           OutOfRange policy = OutOfRange::kError);
  /// Adds `count` pixels with ground truth `gt` predicted as `pred` (both < num_classes).
  void add_count(int gt, int pred, int64_t count);
  /// Adds another matrix of the same size (order-independent, so results do not depend on the
  /// number of threads).
  void merge(const ConfusionMatrix& other);

 private:
  int n_ = 0;
  std::vector<int64_t> counts_;
};

/// Metrics of one class from dataset-wide counts.
struct ClassMetrics {
  int64_t tp = 0, fp = 0, fn = 0;
  double iou = 0;  ///< TP / (TP + FP + FN); NaN if the class is absent from GT and predictions
  double precision = 0;  ///< TP / (TP + FP); NaN if never predicted
  double recall = 0;     ///< TP / (TP + FN); NaN if absent from GT
  double fp_share = 0;   ///< FP / (TP + FP + FN): the share of the union that is false positive
  double fn_share = 0;   ///< FN / (TP + FP + FN): the share of the union that is false negative
};

/// Whole-list metrics. Means are NaN-skipping means over classes (background included), so a
/// class absent from both GT and predictions does not count, as in the ORANDNet/IRN code.
struct Metrics {
  std::vector<ClassMetrics> classes;
  double mean_iou = 0;
  double mean_precision = 0;
  double mean_recall = 0;
  double pixel_accuracy = 0;  ///< trace / total
  int64_t pixels = 0;         ///< pixels counted (ignore excluded)
};

/// Computes per-class and mean metrics from a confusion matrix.
Metrics compute_metrics(const ConfusionMatrix& cm);

}  // namespace pm
