// SPDX-License-Identifier: MIT
#include "pseudomask/core/eval/evaluate.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/parallel.h"
#include "pseudomask/core/common/value_checks.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/labels/argmax.h"
#include "pseudomask/core/labels/threshold.h"

namespace pm {
namespace {

// The ORANDNet code evaluates VOC with num_classes = 20 (tvmonitor dropped).
constexpr int kOrandnetOfficialClasses = 20;

int effective_classes(const EvalOptions& o) {
  return o.official_orandnet ? kOrandnetOfficialClasses : o.num_classes;
}

OutOfRange effective_policy(const EvalOptions& o) {
  return o.official_orandnet ? OutOfRange::kExclude : OutOfRange::kError;
}

std::string png_in(const std::string& dir, const std::string& id, const char* what) {
  const std::string path = find_by_stem(dir, id, {".png"});
  PM_CHECK(!path.empty(), "{}/{}.png: missing {} for listed image '{}'", dir, id, what, id);
  return path;
}

/// Ground-truth labels are below the class count or the ignore label (unless `policy` excludes
/// the others); checked before pairing with a prediction so that the error names the
/// ground-truth file, not the prediction or CAM file.
void check_ground_truth(
    const LabelMap& gt, const std::string& path, int classes, int ignore, OutOfRange policy) {
  if (policy == OutOfRange::kExclude)
    return;
  for (const uint8_t g : gt.labels) {
    PM_CHECK(g < classes || g == ignore,
             "{}: ground-truth label {} is out of range for {} classes",
             path,
             g,
             classes);
  }
}

// Per-image results stored by list index (threads finish in any order), then the counted ones
// in list order.
std::vector<ImageMetrics> counted_in_order(std::vector<ImageMetrics> by_index) {
  std::vector<ImageMetrics> out;
  for (auto& m : by_index) {
    if (!m.id.empty())
      out.push_back(std::move(m));
  }
  return out;
}

std::string npy_in(const std::string& dir, const std::string& id, const char* what) {
  const std::string path = find_by_stem(dir, id, {".npy", ".npz"});
  PM_CHECK(!path.empty(), "{}/{}.npy: missing {} for listed image '{}'", dir, id, what, id);
  return path;
}

std::set<std::string> failed_ids(const std::vector<EvalFailure>& failures) {
  std::set<std::string> out;
  for (const auto& f : failures)
    out.insert(f.id);
  return out;
}

std::vector<EvalFailure> run_items(const std::vector<std::string>& ids,
                                   const EvalOptions& options,
                                   const std::function<void(size_t)>& work) {
  return for_each_item(ids, options.jobs, options.keep_going, options.progress, work);
}

}  // namespace

EvalReport evaluate_label_dirs(const std::string& gt_dir,
                               const std::string& pred_dir,
                               const std::vector<std::string>& ids,
                               const EvalOptions& options) {
  EvalReport report;
  report.confusion = ConfusionMatrix(effective_classes(options));
  std::mutex mutex;
  std::vector<ImageMetrics> per_image(ids.size());
  report.failures = run_items(ids, options, [&](size_t i) {
    const std::string gt_path = png_in(gt_dir, ids[i], "ground truth");
    const LabelMap gt = read_label_png(gt_path);
    check_ground_truth(
        gt, gt_path, report.confusion.num_classes(), options.ignore, effective_policy(options));
    const std::string pred_path = options.pred_probabilities
                                      ? npy_in(pred_dir, ids[i], "probability map")
                                      : png_in(pred_dir, ids[i], "prediction");
    const LabelMap pred = options.pred_probabilities
                              ? argmax_probability_file(pred_path, gt.width, gt.height)
                              : read_label_png(pred_path);
    ConfusionMatrix local(report.confusion.num_classes());
    local.add(gt, pred, pred_path, options.ignore, effective_policy(options));
    per_image[i] = {ids[i], compute_metrics(local)};
    std::lock_guard<std::mutex> lock(mutex);
    report.confusion.merge(local);
  });
  report.images = ids.size() - report.failures.size();
  report.images_metrics = counted_in_order(std::move(per_image));
  report.metrics = compute_metrics(report.confusion);
  return report;
}

CamThresholdSweep::CamThresholdSweep(std::vector<float> thresholds, int num_classes)
    : thresholds_(std::move(thresholds)), n_(num_classes) {
  PM_CHECK(!thresholds_.empty(), "no thresholds to evaluate");
  PM_CHECK(std::is_sorted(thresholds_.begin(), thresholds_.end()), "thresholds must be ascending");
  counts_.assign(static_cast<size_t>(n_) * (n_ + 1) * (thresholds_.size() + 1), 0);
}

size_t CamThresholdSweep::slot(int gt, int pred, size_t below) const {
  return (static_cast<size_t>(gt) * (n_ + 1) + static_cast<size_t>(pred)) *
             (thresholds_.size() + 1) +
         below;
}

void CamThresholdSweep::add(const LabelMap& gt,
                            const Planes& cams,
                            const std::vector<int>& keys,
                            const std::string& name,
                            int ignore,
                            OutOfRange policy) {
  std::vector<uint32_t> slots;
  collect(gt, cams, keys, name, ignore, policy, slots);
  add_slots(slots);
}

void CamThresholdSweep::add_slots(const std::vector<uint32_t>& slots) {
  for (uint32_t s : slots)
    ++counts_[s];
}

void CamThresholdSweep::collect(const LabelMap& gt,
                                const Planes& cams,
                                const std::vector<int>& keys,
                                const std::string& name,
                                int ignore,
                                OutOfRange policy,
                                std::vector<uint32_t>& slots) const {
  PM_CHECK(counts_.size() < (size_t{1} << 32), "threshold sweep too large");
  slots.clear();
  PM_CHECK(static_cast<size_t>(cams.channels()) == keys.size(),
           "{}: CAMs {} do not match {} keys",
           name,
           cams.describe(),
           keys.size());
  PM_CHECK(cams.height() == gt.height && cams.width() == gt.width,
           "{}: CAMs are {}x{} but the ground truth is {}x{}",
           name,
           cams.width(),
           cams.height(),
           gt.width,
           gt.height);
  // Label of each channel; n_ stands for "out of range" (excluded where predicted).
  std::vector<int> channel_label(keys.size());
  for (size_t k = 0; k < keys.size(); ++k) {
    const int label = keys[k] + 1;
    PM_CHECK(keys[k] >= 0, "{}: negative class key {}", name, keys[k]);
    PM_CHECK(label < n_ || policy == OutOfRange::kExclude,
             "{}: class key {} is out of range for {} classes",
             name,
             keys[k],
             n_);
    channel_label[k] = std::min(label, n_);
  }
  const CamPeak peak = cam_peaks(cams);
  for (size_t p = 0; p < gt.labels.size(); ++p) {
    const int g = gt.labels[p];
    if (g == ignore)
      continue;
    if (g >= n_) {
      PM_CHECK(policy == OutOfRange::kExclude,
               "{}: ground-truth label {} is out of range for {} classes",
               name,
               g,
               n_);
      continue;
    }
    const int c = peak.channel[p];
    const size_t below =
        c < 0 ? 0
              : static_cast<size_t>(
                    std::lower_bound(thresholds_.begin(), thresholds_.end(), peak.value[p]) -
                    thresholds_.begin());
    slots.push_back(
        static_cast<uint32_t>(slot(g, c < 0 ? 0 : channel_label[static_cast<size_t>(c)], below)));
  }
}

void CamThresholdSweep::add_slot_at(size_t j, size_t s, int64_t count, ConfusionMatrix& cm) const {
  const size_t levels = thresholds_.size() + 1;
  const size_t below = s % levels;
  const size_t pair = s / levels;
  const int g = static_cast<int>(pair / static_cast<size_t>(n_ + 1));
  const int p = static_cast<int>(pair % static_cast<size_t>(n_ + 1));
  const int pred = j < below ? p : 0;  // the class wins only where the threshold is below its peak
  if (pred == n_)
    return;  // out-of-range class, excluded (official mode)
  cm.add_count(g, pred, count);
}

ConfusionMatrix CamThresholdSweep::confusion_at(size_t j) const {
  PM_CHECK(j < thresholds_.size(), "threshold index {} out of range", j);
  ConfusionMatrix cm(n_);
  for (size_t s = 0; s < counts_.size(); ++s) {
    if (counts_[s] != 0)
      add_slot_at(j, s, counts_[s], cm);
  }
  return cm;
}

CamThresholdSweep::SlotCounts CamThresholdSweep::count_slots(
    const std::vector<uint32_t>& slots) const {
  thread_local std::vector<uint32_t> dense;  // zero between calls
  dense.resize(counts_.size(), 0);
  SlotCounts out;
  for (uint32_t s : slots) {
    if (dense[s]++ == 0)
      out.emplace_back(s, 0);
  }
  for (auto& [s, count] : out) {
    count = dense[s];
    dense[s] = 0;
  }
  return out;
}

ConfusionMatrix CamThresholdSweep::confusion_at(size_t j, const SlotCounts& image) const {
  PM_CHECK(j < thresholds_.size(), "threshold index {} out of range", j);
  ConfusionMatrix cm(n_);
  for (const auto& [s, count] : image)
    add_slot_at(j, s, count, cm);
  return cm;
}

CamSweepReport evaluate_cam_dir(const std::string& gt_dir,
                                const std::string& cam_dir,
                                const std::vector<std::string>& ids,
                                const std::vector<float>& thresholds,
                                const EvalOptions& options,
                                const CamReadOptions& cam_options) {
  CamSweepReport report;
  CamThresholdSweep sweep(thresholds, effective_classes(options));
  std::mutex mutex;
  std::vector<CamThresholdSweep::SlotCounts> per_image(ids.size());
  report.failures = run_items(ids, options, [&](size_t i) {
    const std::string gt_path = png_in(gt_dir, ids[i], "ground truth");
    const std::string cam_path = find_by_stem(cam_dir, ids[i], {".npy", ".npz"});
    PM_CHECK(!cam_path.empty(),
             "{}/{}.npy: missing CAM file for listed image '{}'",
             cam_dir,
             ids[i],
             ids[i]);
    const LabelMap gt = read_label_png(gt_path);
    check_ground_truth(
        gt, gt_path, effective_classes(options), options.ignore, effective_policy(options));
    const CamFile cams = read_cam_file(cam_path, cam_options);
    PM_CHECK(!cams.high_res.empty() || cams.keys.empty(),
             "{}: has no 'high_res' maps at image size (only stride-4 'cam')",
             cam_path);
    check_finite(cams.high_res, cam_path, "high_res");
    thread_local std::vector<uint32_t> slots;  // reused: no allocation per image
    sweep.collect(
        gt, cams.high_res, cams.keys, cam_path, options.ignore, effective_policy(options), slots);
    per_image[i] = sweep.count_slots(slots);
    std::lock_guard<std::mutex> lock(mutex);
    sweep.add_slots(slots);
  });
  report.images = ids.size() - report.failures.size();
  report.thresholds = thresholds;
  for (size_t j = 0; j < thresholds.size(); ++j) {
    report.metrics.push_back(compute_metrics(sweep.confusion_at(j)));
    const Metrics& m = report.metrics.back();
    if (m.mean_iou > report.metrics[report.best_index].mean_iou)
      report.best_index = j;
    if (report.crossing_index < 0 && m.mean_precision > m.mean_recall) {
      report.crossing_index = static_cast<int>(j);
    }
  }
  report.best_confusion = sweep.confusion_at(report.best_index);
  const std::set<std::string> failed = failed_ids(report.failures);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!failed.count(ids[i]))
      report.images_metrics.push_back(
          {ids[i], compute_metrics(sweep.confusion_at(report.best_index, per_image[i]))});
  }
  return report;
}

std::vector<float> sweep_thresholds(const ThresholdSweep& sweep) {
  const auto [start, stop, step] = sweep;
  PM_CHECK(step > 0 && stop >= start,
           "ThresholdSweep {}:{}:{}: need step > 0 and stop >= start",
           start,
           stop,
           step);
  const long count = std::lround(std::floor((stop - start) / step + 1e-6)) + 1;
  PM_CHECK(count <= 100000, "ThresholdSweep {}:{}:{}: too many thresholds", start, stop, step);
  std::vector<float> out;
  for (long i = 0; i < count; ++i)
    out.push_back(static_cast<float>(std::round((start + i * step) * 1e6) / 1e6));
  return out;
}

}  // namespace pm
