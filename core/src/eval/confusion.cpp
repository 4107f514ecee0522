// SPDX-License-Identifier: MIT
#include "pseudomask/core/eval/confusion.h"

#include <cmath>
#include <limits>

#include "pseudomask/core/common/error.h"

namespace pm {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(int64_t num, int64_t den) {
  return den == 0 ? kNaN : static_cast<double>(num) / static_cast<double>(den);
}

double nan_mean(const std::vector<ClassMetrics>& classes, double ClassMetrics::*field) {
  double sum = 0;
  int count = 0;
  for (const auto& c : classes) {
    if (std::isnan(c.*field))
      continue;
    sum += c.*field;
    ++count;
  }
  return count ? sum / count : kNaN;
}

}  // namespace

ConfusionMatrix::ConfusionMatrix(int num_classes)
    : n_(num_classes), counts_(static_cast<size_t>(num_classes) * num_classes, 0) {
  PM_CHECK(
      num_classes >= 0 && num_classes <= 256, "num_classes {} must be in [1, 256]", num_classes);
}

int64_t ConfusionMatrix::total() const {
  int64_t t = 0;
  for (int64_t c : counts_)
    t += c;
  return t;
}

void ConfusionMatrix::add(const LabelMap& gt,
                          const LabelMap& pred,
                          const std::string& name,
                          int ignore,
                          OutOfRange policy) {
  PM_CHECK(gt.width == pred.width && gt.height == pred.height,
           "{}: prediction is {}x{} but the ground truth is {}x{}",
           name,
           pred.width,
           pred.height,
           gt.width,
           gt.height);
  // Count into a 256x256 table first (branch-free inner loop), then fold into n x n.
  std::vector<int64_t> table(256 * 256, 0);
  const size_t count = gt.labels.size();
  for (size_t i = 0; i < count; ++i)
    ++table[(static_cast<size_t>(gt.labels[i]) << 8) | pred.labels[i]];
  // Check first, so that a refused image adds nothing; only out-of-range pairs can fail.
  for (int g = 0; g < 256 && policy == OutOfRange::kError; ++g) {
    if (g == ignore)
      continue;
    for (int p = g < n_ ? n_ : 0; p < 256; ++p) {
      const int64_t c = table[(static_cast<size_t>(g) << 8) | static_cast<size_t>(p)];
      if (c == 0)
        continue;
      PM_CHECK(g < n_,
               "{}: ground-truth label {} is out of range for {} classes ({} pixels)",
               name,
               g,
               n_,
               c);
      PM_FAIL("{}: predicted label {} is out of range for {} classes ({} pixels)", name, p, n_, c);
    }
  }
  for (int g = 0; g < n_; ++g) {
    if (g == ignore)
      continue;
    for (int p = 0; p < n_; ++p)
      counts_[static_cast<size_t>(g) * n_ + p] +=
          table[(static_cast<size_t>(g) << 8) | static_cast<size_t>(p)];
  }
}

void ConfusionMatrix::add_count(int gt, int pred, int64_t count) {
  PM_CHECK(
      gt >= 0 && gt < n_ && pred >= 0 && pred < n_, "label pair ({}, {}) out of range", gt, pred);
  counts_[static_cast<size_t>(gt) * n_ + pred] += count;
}

void ConfusionMatrix::merge(const ConfusionMatrix& other) {
  PM_CHECK(
      other.n_ == n_, "cannot merge a {}-class confusion matrix into a {}-class one", other.n_, n_);
  for (size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += other.counts_[i];
}

Metrics compute_metrics(const ConfusionMatrix& cm) {
  const int n = cm.num_classes();
  Metrics m;
  m.classes.resize(static_cast<size_t>(n));
  int64_t trace = 0;
  for (int c = 0; c < n; ++c) {
    ClassMetrics& k = m.classes[static_cast<size_t>(c)];
    int64_t row = 0, col = 0;
    for (int j = 0; j < n; ++j) {
      row += cm.at(c, j);
      col += cm.at(j, c);
    }
    k.tp = cm.at(c, c);
    k.fp = col - k.tp;
    k.fn = row - k.tp;
    const int64_t uni = k.tp + k.fp + k.fn;
    k.iou = ratio(k.tp, uni);
    k.precision = ratio(k.tp, k.tp + k.fp);
    k.recall = ratio(k.tp, k.tp + k.fn);
    k.fp_share = ratio(k.fp, uni);
    k.fn_share = ratio(k.fn, uni);
    trace += k.tp;
  }
  m.pixels = cm.total();
  m.pixel_accuracy = ratio(trace, m.pixels);
  m.mean_iou = nan_mean(m.classes, &ClassMetrics::iou);
  m.mean_precision = nan_mean(m.classes, &ClassMetrics::precision);
  m.mean_recall = nan_mean(m.classes, &ClassMetrics::recall);
  return m;
}

}  // namespace pm
