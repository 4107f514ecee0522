// SPDX-License-Identifier: MIT
// IRN's training data (issue 20): augmentation, the stride-4 label reduction and the pair labels.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <numeric>
#include <set>

#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/nn/irn/irn_data.h"
#include "support/expect_error.h"
#include "support/test_paths.h"

namespace pm::nn {
namespace {

/// An image whose red channel is its column and green channel its row, so that a crop tells
/// where it came from and whether it was flipped.
RgbImage coordinate_image(int w, int h) {
  RgbImage img(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &img.pixels[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>(x);
      p[1] = static_cast<uint8_t>(y);
      p[2] = 40;
    }
  return img;
}

/// Background 0, two objects (classes 3 and 7) and an unsure band (255) between them.
LabelMap hand_made_labels(int w, int h) {
  LabelMap lab(w, h, 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t& l = lab.labels[static_cast<size_t>(y) * w + x];
      if (x >= 10 && x < 45 && y >= 12 && y < 60)
        l = 3;
      else if (x >= 50 && x < 88 && y >= 30 && y < 80)
        l = 7;
      if (x >= 45 && x < 50 && y >= 20)
        l = kIgnoreLabel;
    }
  return lab;
}

/// The 8-bit value of channel c at canvas pixel (x, y) of a normalised crop.
int channel_value(const torch::Tensor& images, int c, int y, int x) {
  const float v = images[0][c][y][x].item<float>();
  return static_cast<int>(std::lround((v * kImageNetStd[c] + kImageNetMean[c]) * 255.0f));
}

BatchPlan one_sample_plan(int64_t step) {
  BatchPlan plan;
  plan.step = step;
  plan.batch_size = 1;
  plan.order = std::make_shared<const std::vector<size_t>>(std::vector<size_t>{0});
  return plan;
}

std::vector<uint8_t> bytes_of(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return {c.data_ptr<uint8_t>(), c.data_ptr<uint8_t>() + c.numel()};
}

TEST(IrnData, ReductionEqualsPilNearestResize) {
  // pil_rescale(label, 0.25, order 0): round half to even (30 -> 8, 22 -> 6, 126 -> 32, 130 -> 32).
  for (const char* name : {"30x22", "13x9", "64x48", "126x130"}) {
    SCOPED_TRACE(name);
    const LabelMap in =
        read_label_png(test::fixture(std::string("nn/irn_reduce/") + name + "_in.png"));
    const LabelMap want =
        read_label_png(test::fixture(std::string("nn/irn_reduce/") + name + "_out.png"));
    const LabelMap got = reduce_irn_labels(in);
    ASSERT_EQ(got.width, want.width);
    ASSERT_EQ(got.height, want.height);
    EXPECT_EQ(got.labels, want.labels);
  }
}

TEST(IrnData, PairLabelsAreCoreAffinityLabelsOfTheReducedCrop) {
  test::TempDir dir("irn_data_pairs");
  const int w = 100, h = 90;
  const LabelMap labels = hand_made_labels(w, h);
  write_png_rgb(dir / "a.png", coordinate_image(w, h));
  write_label_png(dir / "a_ir.png", labels);
  const std::vector<IrnTrainSample> samples = {{"a", dir / "a.png", dir / "a_ir.png"}};
  IrnAugmentOptions o;
  o.scale_min = o.scale_max = 1.0;  // no rescale: the crop's pixels name their source
  o.crop = 64;
  o.radius = 5;
  const PathIndex index(o.radius, o.label_side(), o.label_side());
  int flips = 0, pairs_checked = 0;
  for (int64_t step = 0; step < 6; ++step) {
    SCOPED_TRACE(step);
    const IrnBatch b = make_irn_batch(samples, one_sample_plan(step), o, index, 3, 1, 21);
    ASSERT_EQ(b.images.sizes(), (std::vector<int64_t>{1, 3, 64, 64}));
    ASSERT_EQ(b.bg_pos.sizes(),
              (std::vector<int64_t>{1,
                                    static_cast<int64_t>(index.directions.size()),
                                    static_cast<int64_t>(index.num_sources())}));
    // Where the crop came from: canvas (0, 0) holds image (x0, y0); the next column x0 ± 1.
    const int x0 = channel_value(b.images, 0, 0, 0), y0 = channel_value(b.images, 1, 0, 0);
    const bool flipped = channel_value(b.images, 0, 0, 1) == x0 - 1;
    flips += flipped ? 1 : 0;
    ASSERT_EQ(channel_value(b.images, 1, 1, 0), y0 + 1);
    ASSERT_EQ(channel_value(b.images, 0, 0, 1), flipped ? x0 - 1 : x0 + 1);
    // The reduced crop by hand: PIL's nearest at 64 -> 16 takes pixel 4i + 2.
    std::vector<uint8_t> reduced(16 * 16);
    for (int y = 0; y < 16; ++y)
      for (int x = 0; x < 16; ++x) {
        const int cx = 4 * x + 2, cy = 4 * y + 2;
        const int sx = flipped ? x0 - cx : x0 + cx;
        reduced[static_cast<size_t>(y) * 16 + x] =
            labels.labels[static_cast<size_t>(y0 + cy) * w + sx];
      }
    const AffinityLabels want = affinity_labels(reduced, index);
    EXPECT_EQ(bytes_of(b.bg_pos), want.bg_pos);
    EXPECT_EQ(bytes_of(b.fg_pos), want.fg_pos);
    EXPECT_EQ(bytes_of(b.neg), want.neg);
    pairs_checked += std::accumulate(want.neg.begin(), want.neg.end(), 0) +
                     std::accumulate(want.fg_pos.begin(), want.fg_pos.end(), 0);
  }
  EXPECT_GT(flips, 0);
  EXPECT_LT(flips, 6);
  EXPECT_GT(pairs_checked, 0);  // the crops saw objects and boundaries, not only background
}

TEST(IrnData, SmallImagesSitAtARandomPlaceInThePaddedCanvas) {
  // IRN's get_random_crop_box: a side shorter than the crop gets a random canvas offset.
  const RgbImage img = coordinate_image(20, 12);
  const LabelMap lab(20, 12, 2);
  IrnAugmentOptions o;
  o.scale_min = o.scale_max = 1.0;
  o.crop = 32;
  o.flip = false;
  std::set<std::pair<int, int>> offsets;
  std::vector<float> planes(3 * 32 * 32);
  for (uint64_t seed = 0; seed < 12; ++seed) {
    Rng rng(seed);
    const LabelMap out = augment_irn_sample(img, lab, o, rng, planes.data());
    int first = -1, count = 0;
    for (size_t i = 0; i < out.labels.size(); ++i) {
      if (out.labels[i] == 2) {
        first = first < 0 ? static_cast<int>(i) : first;
        ++count;
      } else {
        ASSERT_EQ(out.labels[i], kIgnoreLabel);
        ASSERT_EQ(planes[i], 0.0f);  // the image is padded with 0 after normalisation
      }
    }
    ASSERT_EQ(count, 20 * 12);
    const int cx = first % 32, cy = first / 32;
    ASSERT_LE(cx, 12);
    ASSERT_LE(cy, 20);
    offsets.insert({cx, cy});
  }
  EXPECT_GT(offsets.size(), 3u);
}

TEST(IrnData, BatchesDependOnlyOnSeedAndStep) {
  test::TempDir dir("irn_data_seed");
  write_png_rgb(dir / "a.png", coordinate_image(70, 60));
  write_label_png(dir / "a_ir.png", hand_made_labels(70, 60));
  const std::vector<IrnTrainSample> samples = {{"a", dir / "a.png", dir / "a_ir.png"}};
  IrnAugmentOptions o;
  o.crop = 48;
  o.radius = 4;
  const PathIndex index(o.radius, 12, 12);
  const IrnBatch a = make_irn_batch(samples, one_sample_plan(2), o, index, 5, 1, 21);
  const IrnBatch b = make_irn_batch(samples, one_sample_plan(2), o, index, 5, 2, 21);
  const IrnBatch c = make_irn_batch(samples, one_sample_plan(3), o, index, 5, 1, 21);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_TRUE(torch::equal(a.neg, b.neg));
  EXPECT_FALSE(torch::equal(a.images, c.images));
}

TEST(IrnData, BadLabelFilesAreNamed) {
  test::TempDir dir("irn_data_bad");
  write_png_rgb(dir / "a.png", coordinate_image(40, 30));
  write_label_png(dir / "small.png", LabelMap(20, 30, 0));
  LabelMap bad(40, 30, 0);
  bad.labels[5] = 21;
  write_label_png(dir / "range.png", bad);
  test::expect_error(
      [&] {
        load_irn_sample({"a", dir / "a.png", dir / "small.png"}, 21);
      },
      {"small.png", "20x30", "40x30"});
  test::expect_error(
      [&] {
        load_irn_sample({"a", dir / "a.png", dir / "range.png"}, 21);
      },
      {"range.png", "label 21", "21 classes"});
  bad.labels[5] = kIgnoreLabel;
  write_label_png(dir / "ok.png", bad);
  EXPECT_EQ(load_irn_sample({"a", dir / "a.png", dir / "ok.png"}, 21).labels.labels[5],
            kIgnoreLabel);
  IrnAugmentOptions o;
  o.crop = 50;
  test::expect_error([&] { o.validate(); }, {"IrnAugmentOptions::crop 50", "multiple of 4"});
  o.crop = 64;  // 16 < 2 * 10 - 1
  test::expect_error([&] { o.validate(); }, {"IrnAugmentOptions::crop 64", "radius 10"});
}

}  // namespace
}  // namespace pm::nn
