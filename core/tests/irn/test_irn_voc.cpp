// SPDX-License-Identifier: MIT
// IRN's random walk on real VOC images: CAM-like maps made from the ground truth with known errors
// (blurred and shifted, so they leak over object boundaries and miss parts), walked with a boundary
// map from the ground truth's own edges. A walk that propagates inside boundaries and stops at them
// must bring the labels closer to the ground truth; one that ignored the boundaries would not.
#include <gtest/gtest.h>

#include <cstdio>

#include "../support/test_paths.h"
#include "pseudomask/core/common/planes.h"
#include "pseudomask/core/datasets/dataset.h"
#include "pseudomask/core/eval/confusion.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/irn/random_walk.h"

namespace pm {
namespace {

constexpr int kBlur = 12;    // box-blur radius of the masks (pixels at image size)
constexpr int kShiftX = 12;  // the maps' displacement against the objects (pixels)
constexpr int kShiftY = 6;

struct Case {
  std::vector<int> keys;
  Planes cam;               // (K, ⌈H/4⌉, ⌈W/4⌉)
  std::vector<float> edge;  // ⌈H/4⌉ × ⌈W/4⌉
};

// Class k's blurred mask, moved by (kShiftY, kShiftX), sampled at stride 4.
Case make_case(const LabelMap& gt) {
  Case c;
  c.keys = image_labels_from_mask(gt, 21, "gt");
  const int sh = (gt.height - 1) / 4 + 1, sw = (gt.width - 1) / 4 + 1;
  c.cam = Planes(static_cast<int>(c.keys.size()), sh, sw);
  for (size_t k = 0; k < c.keys.size(); ++k) {
    Planes mask(1, gt.height, gt.width);
    for (size_t p = 0; p < gt.labels.size(); ++p)
      mask.data()[p] = gt.labels[p] == c.keys[k] + 1;
    const Planes blurred = box_blur(mask, kBlur);
    for (int y = 0; y < sh; ++y) {
      for (int x = 0; x < sw; ++x) {
        const int sy = std::min(std::max(4 * y - kShiftY, 0), gt.height - 1);
        const int sx = std::min(std::max(4 * x - kShiftX, 0), gt.width - 1);
        c.cam.at(static_cast<int>(k), y, x) = blurred.at(0, sy, sx);
      }
    }
  }
  // Boundary 1 between stride-4 pixels of different classes: where a pixel's label differs from
  // an 8-neighbour's, void (255, VOC's object outlines) taking the side of neither: a void pixel is
  // boundary when its labelled neighbours disagree.
  auto label_at = [&](int y, int x) {
    return gt.at(std::min(4 * x, gt.width - 1), std::min(4 * y, gt.height - 1));
  };
  c.edge.assign(static_cast<size_t>(sh) * sw, 0.0f);
  for (int y = 0; y < sh; ++y) {
    for (int x = 0; x < sw; ++x) {
      int seen = label_at(y, x);
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
          if (y + dy < 0 || y + dy >= sh || x + dx < 0 || x + dx >= sw)
            continue;
          const int other = label_at(y + dy, x + dx);
          if (other == 255)
            continue;
          if (seen == 255)
            seen = other;
          else if (other != seen)
            c.edge[static_cast<size_t>(y) * sw + x] = 1.0f;
        }
      }
    }
  }
  return c;
}

TEST(IrnRandomWalkVoc, GroundTruthBoundariesMoveTheLabelsTowardsTheGroundTruth) {
  const char* ids[] = {"2007_000032",
                       "2007_000061",
                       "2007_000063",
                       "2007_000129",
                       "2007_000175",
                       "2007_000363",
                       "2007_000648",
                       "2007_001311"};
  ConfusionMatrix before(21), after(21), unbounded(21);
  for (const char* id : ids) {
    const LabelMap gt =
        read_label_png(test::data_file(std::string("voc_sample/SegmentationClass/") + id + ".png"));
    const Case c = make_case(gt);
    const LabelMap plain = walk_labels(c.cam, c.keys, gt.height, gt.width, 0.25f);
    const LabelMap walked = walk_labels(
        random_walk(c.cam, c.edge, RandomWalkOptions{}), c.keys, gt.height, gt.width, 0.25f);
    before.add(gt, plain, id);
    after.add(gt, walked, id);
    // The control: the same walk with no boundaries at all.
    const std::vector<float> open(c.edge.size(), 0.0f);
    const LabelMap blind = walk_labels(
        random_walk(c.cam, open, RandomWalkOptions{}), c.keys, gt.height, gt.width, 0.25f);
    unbounded.add(gt, blind, id);
  }
  const double miou_before = compute_metrics(before).mean_iou;
  const double miou_after = compute_metrics(after).mean_iou;
  const double miou_unbounded = compute_metrics(unbounded).mean_iou;
  std::printf(
      "IRN walk on voc_sample (blurred, shifted CAMs): mIoU %.1f%% -> %.1f%% with the "
      "ground truth's boundaries, %.1f%% with none\n",
      100 * miou_before,
      100 * miou_after,
      100 * miou_unbounded);
  EXPECT_GT(miou_after, miou_before + 0.10);
  EXPECT_GT(miou_after, miou_unbounded + 0.05);
}

}  // namespace
}  // namespace pm
