// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "../support/test_paths.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/eval/evaluate.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/labels/morphology.h"

namespace pm {
namespace {

using test::data_file;
using test::fixture;

const std::string kGtDir = data_file("voc_sample/SegmentationClass");
const std::string kPredDir = fixture("eval/pred");

nlohmann::json expected_fixture() {
  std::ifstream in(fixture("eval/expected_confusion.json"));
  return nlohmann::json::parse(in);
}

std::vector<std::string> fixture_ids() {
  return expected_fixture()["ids"].get<std::vector<std::string>>();
}

TEST(EvalConfusion, MatchesNumpyCountsOnVocSampleExactly) {
  const auto expected = expected_fixture();
  EvalOptions options;
  options.jobs = 2;
  const EvalReport report = evaluate_label_dirs(kGtDir, kPredDir, fixture_ids(), options);
  ASSERT_EQ(report.images, 8u);
  for (int g = 0; g < 21; ++g) {
    for (int p = 0; p < 21; ++p) {
      EXPECT_EQ(report.confusion.at(g, p), expected["confusion"][g][p].get<int64_t>())
          << "gt " << g << " pred " << p;
    }
  }
  // Derived metrics from the numpy counts, computed here independently.
  double iou_sum = 0;
  int classes = 0;
  for (int c = 0; c < 21; ++c) {
    int64_t row = 0, col = 0;
    for (int j = 0; j < 21; ++j) {
      row += expected["confusion"][c][j].get<int64_t>();
      col += expected["confusion"][j][c].get<int64_t>();
    }
    const int64_t tp = expected["confusion"][c][c].get<int64_t>();
    if (row + col - tp == 0)
      continue;
    iou_sum += static_cast<double>(tp) / static_cast<double>(row + col - tp);
    ++classes;
  }
  EXPECT_NEAR(report.metrics.mean_iou, iou_sum / classes, 1e-12);
  EXPECT_LT(report.metrics.mean_iou, 0.9);  // the corruption must show
  EXPECT_GT(report.metrics.mean_iou, 0.3);
}

TEST(EvalConfusion, PerImageMetricsAreEachImagesOwnInListOrder) {
  EvalOptions options;
  options.jobs = 3;
  const auto ids = fixture_ids();
  const EvalReport report = evaluate_label_dirs(kGtDir, kPredDir, ids, options);
  ASSERT_EQ(report.images_metrics.size(), ids.size());
  int64_t pixels = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const ImageMetrics& got = report.images_metrics[i];
    EXPECT_EQ(got.id, ids[i]);
    ConfusionMatrix alone(21);
    alone.add(read_label_png(kGtDir + "/" + ids[i] + ".png"),
              read_label_png(kPredDir + "/" + ids[i] + ".png"),
              ids[i]);
    const Metrics want = compute_metrics(alone);
    EXPECT_EQ(got.metrics.pixels, want.pixels) << ids[i];
    EXPECT_DOUBLE_EQ(got.metrics.mean_iou, want.mean_iou) << ids[i];
    EXPECT_DOUBLE_EQ(got.metrics.pixel_accuracy, want.pixel_accuracy) << ids[i];
    EXPECT_LT(got.metrics.mean_iou, 1.0) << ids[i];  // every fixture image is corrupted
    pixels += got.metrics.pixels;
  }
  EXPECT_EQ(pixels, report.metrics.pixels);
}

TEST(EvalConfusion, ResultDoesNotDependOnThreadCount) {
  EvalOptions one, many;
  one.jobs = 1;
  many.jobs = 4;
  const auto a = evaluate_label_dirs(kGtDir, kPredDir, fixture_ids(), one);
  const auto b = evaluate_label_dirs(kGtDir, kPredDir, fixture_ids(), many);
  EXPECT_EQ(a.confusion.counts(), b.confusion.counts());
}

TEST(EvalConfusion, CppCorruptionEqualsTheNumpyFixture) {
  // The fixture predictions were made by numpy (make_eval_fixtures.py); the C++ morphology
  // must reproduce them pixel for pixel.
  const auto expected = expected_fixture();
  const int radius = expected["radius"].get<int>();
  const auto ids = fixture_ids();
  for (size_t k = 0; k < ids.size(); ++k) {
    const LabelMap gt = replace_label(read_label_png(kGtDir + "/" + ids[k] + ".png"), 255, 0);
    LabelMap pred;
    if (k % 3 == 0) {
      pred = dilate_foreground(gt, radius);
    } else if (k % 3 == 1) {
      pred = erode_foreground(gt, radius);
    } else {
      uint8_t first = 0;
      for (uint8_t v : gt.labels) {
        if (v != 0 && (first == 0 || v < first))
          first = v;
      }
      pred = replace_label(gt, first, static_cast<uint8_t>(first % 20 + 1));
    }
    const LabelMap want = read_label_png(kPredDir + "/" + ids[k] + ".png");
    EXPECT_EQ(pred.labels, want.labels) << ids[k];
  }
}

TEST(EvalMetrics, HandComputedValuesAndNaNForAbsentClasses) {
  ConfusionMatrix cm(4);
  cm.add_count(0, 0, 50);
  cm.add_count(0, 1, 10);  // FP for 1, FN for 0
  cm.add_count(1, 1, 30);
  cm.add_count(1, 0, 10);
  cm.add_count(2, 0, 5);  // class 2 never predicted: precision NaN, recall 0
  // class 3 absent everywhere: IoU NaN, excluded from the means
  const Metrics m = compute_metrics(cm);
  EXPECT_DOUBLE_EQ(m.classes[0].iou, 50.0 / (50 + 15 + 10));
  EXPECT_DOUBLE_EQ(m.classes[0].precision, 50.0 / 65);
  EXPECT_DOUBLE_EQ(m.classes[0].recall, 50.0 / 60);
  EXPECT_DOUBLE_EQ(m.classes[1].iou, 30.0 / 50);
  EXPECT_DOUBLE_EQ(m.classes[1].fp_share, 10.0 / 50);
  EXPECT_DOUBLE_EQ(m.classes[1].fn_share, 10.0 / 50);
  EXPECT_DOUBLE_EQ(m.classes[2].iou, 0.0);
  EXPECT_TRUE(std::isnan(m.classes[2].precision));
  EXPECT_DOUBLE_EQ(m.classes[2].recall, 0.0);
  EXPECT_TRUE(std::isnan(m.classes[3].iou));
  EXPECT_DOUBLE_EQ(m.mean_iou, (50.0 / 75 + 30.0 / 50 + 0.0) / 3);
  EXPECT_DOUBLE_EQ(m.mean_precision, (50.0 / 65 + 30.0 / 40) / 2);
  EXPECT_DOUBLE_EQ(m.pixel_accuracy, 80.0 / 105);
  EXPECT_EQ(m.pixels, 105);
}

TEST(EvalConfusion, IgnoreAndOutOfRangeLabels) {
  LabelMap gt(3, 1), pred(3, 1);
  gt.labels = {0, 255, 1};
  pred.labels = {0, 7, 1};  // 7 under an ignored GT pixel is fine
  ConfusionMatrix cm(2);
  cm.add(gt, pred, "x.png");
  EXPECT_EQ(cm.total(), 2);
  pred.labels = {0, 0, 7};
  ConfusionMatrix strict(2);
  try {
    strict.add(gt, pred, "x.png");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.png: predicted label 7 is out of range"),
              std::string::npos)
        << e.what();
  }
  // A refused image adds nothing, and the next one is counted exactly (the per-thread scratch
  // table was left clean).
  EXPECT_EQ(strict.total(), 0);
  LabelMap ok_pred(3, 1);
  ok_pred.labels = {1, 0, 1};
  strict.add(gt, ok_pred, "y.png");
  EXPECT_EQ(strict.total(), 2);
  EXPECT_EQ(strict.at(0, 1), 1);
  EXPECT_EQ(strict.at(1, 1), 1);
  ConfusionMatrix lenient(2);
  lenient.add(gt, pred, "x.png", 255, OutOfRange::kExclude);
  EXPECT_EQ(lenient.total(), 1);
  LabelMap small(2, 1);
  EXPECT_THROW(cm.add(gt, small, "y.png"), Error);
}

TEST(EvalConfusion, OfficialOrandnetDropsTvmonitor) {
  test::TempDir dir("official");
  LabelMap gt(4, 1), pred(4, 1);
  gt.labels = {0, 20, 3, 3};
  pred.labels = {20, 20, 3, 0};
  write_label_png(dir / "gt/a.png", gt);
  write_label_png(dir / "pred/a.png", pred);
  EvalOptions official;
  official.official_orandnet = true;
  const auto r = evaluate_label_dirs(dir / "gt", dir / "pred", {"a"}, official);
  EXPECT_EQ(r.confusion.num_classes(), 20);
  EXPECT_EQ(r.confusion.total(), 2);  // only the two class-3 pixels remain
  EXPECT_EQ(r.confusion.at(3, 3), 1);
  EXPECT_EQ(r.confusion.at(3, 0), 1);
  const auto normal = evaluate_label_dirs(dir / "gt", dir / "pred", {"a"}, EvalOptions{});
  EXPECT_EQ(normal.confusion.total(), 4);
  EXPECT_EQ(normal.confusion.at(0, 20), 1);
}

TEST(EvalConfusion, MissingPredictionNamesTheFileOrIsRecordedWithKeepGoing) {
  test::TempDir dir("missing");
  LabelMap m(2, 2, 1);
  write_label_png(dir / "gt/a.png", m);
  write_label_png(dir / "gt/b.png", m);
  write_label_png(dir / "pred/a.png", m);
  try {
    evaluate_label_dirs(dir / "gt", dir / "pred", {"a", "b"}, EvalOptions{});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("b.png: missing prediction"), std::string::npos)
        << e.what();
  }
  EvalOptions keep;
  keep.keep_going = true;
  const auto r = evaluate_label_dirs(dir / "gt", dir / "pred", {"a", "b"}, keep);
  EXPECT_EQ(r.images, 1u);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].id, "b");
  EXPECT_EQ(r.confusion.at(1, 1), 4);
}

}  // namespace
}  // namespace pm
