// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <random>

#include "../support/expect_error.h"
#include "../support/test_paths.h"
#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/datasets/dataset.h"
#include "pseudomask/core/eval/evaluate.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/labels/threshold.h"

namespace pm {
namespace {

// CAMs that follow the ground truth loosely: 0.55 on the class's pixels plus uniform noise in
// [0, 0.45), quantised to 1/64 so that exact ties with the thresholds occur.
CamFile noisy_cams_from_mask(const LabelMap& gt, uint32_t seed) {
  CamFile cams;
  cams.keys = image_labels_from_mask(gt, 21, "gt");
  const int64_t pixels = static_cast<int64_t>(gt.num_pixels());
  cams.high_res = Planes(static_cast<int>(cams.keys.size()), gt.height, gt.width);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(0, 28);
  float* data = cams.high_res.data();
  for (size_t k = 0; k < cams.keys.size(); ++k) {
    for (int64_t p = 0; p < pixels; ++p) {
      const bool on = gt.labels[static_cast<size_t>(p)] == cams.keys[k] + 1;
      data[static_cast<int64_t>(k) * pixels + p] = (on ? 0.5625f : 0.0f) + noise(rng) / 64.0f;
    }
  }
  return cams;
}

TEST(EvalCam, LabelsFromCamsBackgroundWinsTiesAndKeysMapToIds) {
  Planes cams(2, 1, 4);
  float* d = cams.data();
  // pixel:     0     1     2     3
  d[0] = 0.3f;
  d[1] = 0.2f;
  d[2] = 0.5f;
  d[3] = 0.25f;  // channel 0 → key 4 → label 5
  d[4] = 0.3f;
  d[5] = 0.1f;
  d[6] = 0.7f;
  d[7] = 0.25f;  // channel 1 → key 14 → label 15
  const LabelMap l = labels_from_cams(cams, {4, 14}, 0.25f, "t");
  EXPECT_EQ(l.labels,
            (std::vector<uint8_t>{5, 0, 15, 0}));  // tie between channels → first; tie with bg → bg
}

TEST(EvalCam, SweepEqualsNaivePerThresholdEvaluationOnVocSample) {
  test::TempDir dir("camsweep");
  const std::string gt_dir = test::data_file("voc_sample/SegmentationClass");
  const std::vector<std::string> ids = {"2007_000032", "2007_000063", "2007_000648", "2007_001311"};
  std::vector<LabelMap> gts;
  std::vector<CamFile> cams;
  for (size_t i = 0; i < ids.size(); ++i) {
    gts.push_back(read_label_png(gt_dir + "/" + ids[i] + ".png"));
    cams.push_back(noisy_cams_from_mask(gts.back(), static_cast<uint32_t>(i)));
    write_cam_file(dir / (ids[i] + ".npy"), cams.back());
  }
  const std::vector<float> thresholds = sweep_thresholds({0.1, 0.9, 0.0625});
  ASSERT_EQ(thresholds.size(), 13u);
  EvalOptions options;
  options.jobs = 2;
  const CamSweepReport report = evaluate_cam_dir(gt_dir, dir.str(), ids, thresholds, options);
  ASSERT_EQ(report.metrics.size(), thresholds.size());
  for (size_t j = 0; j < thresholds.size(); ++j) {
    ConfusionMatrix naive(21);
    for (size_t i = 0; i < ids.size(); ++i) {
      naive.add(
          gts[i], labels_from_cams(cams[i].high_res, cams[i].keys, thresholds[j], ids[i]), ids[i]);
    }
    const Metrics want = compute_metrics(naive);
    EXPECT_DOUBLE_EQ(report.metrics[j].mean_iou, want.mean_iou) << "t=" << thresholds[j];
    EXPECT_DOUBLE_EQ(report.metrics[j].mean_precision, want.mean_precision);
    EXPECT_EQ(report.metrics[j].pixels, want.pixels);
  }
  // Per image: its own metrics at the best threshold, in list order.
  ASSERT_EQ(report.images_metrics.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    ConfusionMatrix alone(21);
    alone.add(
        gts[i],
        labels_from_cams(cams[i].high_res, cams[i].keys, thresholds[report.best_index], ids[i]),
        ids[i]);
    const Metrics want = compute_metrics(alone);
    EXPECT_EQ(report.images_metrics[i].id, ids[i]);
    EXPECT_EQ(report.images_metrics[i].metrics.pixels, want.pixels);
    EXPECT_DOUBLE_EQ(report.images_metrics[i].metrics.mean_iou, want.mean_iou) << ids[i];
    EXPECT_DOUBLE_EQ(report.images_metrics[i].metrics.mean_recall, want.mean_recall) << ids[i];
  }
  // The signal sits at 0.5625 + noise, the background noise below 0.45: the best threshold is
  // where the noise ends.
  EXPECT_NEAR(report.thresholds[report.best_index], 0.4375f, 0.07f);
  EXPECT_GT(report.metrics[report.best_index].mean_iou, 0.9);
  ASSERT_GE(report.crossing_index, 0);
  const Metrics& cross = report.metrics[static_cast<size_t>(report.crossing_index)];
  EXPECT_GT(cross.mean_precision, cross.mean_recall);
  if (report.crossing_index > 0) {
    const Metrics& before = report.metrics[static_cast<size_t>(report.crossing_index - 1)];
    EXPECT_LE(before.mean_precision, before.mean_recall);
  }
}

TEST(EvalCam, SweepThresholds) {
  EXPECT_EQ(sweep_thresholds({0.1, 0.3, 0.1}), (std::vector<float>{0.1f, 0.2f, 0.3f}));
  EXPECT_EQ(sweep_thresholds({0.0, 1.0, 0.01}).size(), 101u);
  test::expect_error([] { sweep_thresholds({0.1, 0.3, 0.0}); }, {"ThresholdSweep 0.1:0.3:0"});
  test::expect_error([] { sweep_thresholds({0.3, 0.1, 0.1}); }, {"stop >= start"});
  test::expect_error([] { sweep_thresholds({0.0, 1.0, 1e-6}); }, {"too many thresholds"});
}

}  // namespace
}  // namespace pm
