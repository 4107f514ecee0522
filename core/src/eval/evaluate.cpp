// SPDX-License-Identifier: MIT
#include "pseudomask/core/eval/evaluate.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/parallel.h"
#include "pseudomask/core/io/image/label_io.h"
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
  report.failures = run_items(ids, options, [&](size_t i) {
    const std::string gt_path = png_in(gt_dir, ids[i], "ground truth");
    const std::string pred_path = png_in(pred_dir, ids[i], "prediction");
    const LabelMap gt = read_label_png(gt_path);
    const LabelMap pred = read_label_png(pred_path);
    ConfusionMatrix local(report.confusion.num_classes());
    local.add(gt, pred, pred_path, options.ignore, effective_policy(options));
    std::lock_guard<std::mutex> lock(mutex);
    report.confusion.merge(local);
  });
  report.images = ids.size() - report.failures.size();
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

ConfusionMatrix CamThresholdSweep::confusion_at(size_t j) const {
  PM_CHECK(j < thresholds_.size(), "threshold index {} out of range", j);
  ConfusionMatrix cm(n_);
  for (int g = 0; g < n_; ++g) {
    for (int p = 0; p <= n_; ++p) {
      for (size_t b = 0; b <= thresholds_.size(); ++b) {
        const int64_t c = counts_[slot(g, p, b)];
        if (c == 0)
          continue;
        const int pred =
            j < b ? p : 0;  // the class wins only where the threshold is below its peak
        if (pred == n_)
          continue;  // out-of-range class, excluded (official mode)
        cm.add_count(g, pred, c);
      }
    }
  }
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
  report.failures = run_items(ids, options, [&](size_t i) {
    const std::string gt_path = png_in(gt_dir, ids[i], "ground truth");
    const std::string cam_path = find_by_stem(cam_dir, ids[i], {".npy", ".npz"});
    PM_CHECK(!cam_path.empty(),
             "{}/{}.npy: missing CAM file for listed image '{}'",
             cam_dir,
             ids[i],
             ids[i]);
    const LabelMap gt = read_label_png(gt_path);
    const CamFile cams = read_cam_file(cam_path, cam_options);
    PM_CHECK(!cams.high_res.empty() || cams.keys.empty(),
             "{}: has no 'high_res' maps at image size (only stride-4 'cam')",
             cam_path);
    thread_local std::vector<uint32_t> slots;  // reused: no allocation per image
    sweep.collect(
        gt, cams.high_res, cams.keys, cam_path, options.ignore, effective_policy(options), slots);
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
