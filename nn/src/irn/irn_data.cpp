// SPDX-License-Identifier: MIT
#include "pseudomask/nn/irn/irn_data.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <utility>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/parallel.h"
#include "pseudomask/core/common/resize.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/nn/seg/seg_augment.h"

namespace pm::nn {
namespace {

/// Rng::from stream of IRN's augmentation (unrelated to the loop's sample order).
constexpr uint64_t kIrnAugmentStream = 0x12a002;

/// One side of IRN's crop box: (canvas offset, image offset) of a side `n` long.
std::pair<int, int> crop_offsets(int n, int crop, Rng& rng) {
  const int space = n - crop;
  if (space > 0)
    return {0, static_cast<int>(rng.integer(0, space))};
  return {static_cast<int>(rng.integer(0, -space)), 0};
}

/// numpy's round (half to even) of a non-negative value, at least 1.
int round_half_even_at_least_one(double v) {
  return std::max(1, static_cast<int>(std::nearbyint(v)));
}

/// Copies one sample's pair labels (D × S bytes) into row i of a uint8 (N, D, S) tensor.
void copy_bytes(const std::vector<uint8_t>& bytes, torch::Tensor& out, size_t i) {
  std::memcpy(out.data_ptr<uint8_t>() + i * bytes.size(), bytes.data(), bytes.size());
}

}  // namespace

void IrnAugmentOptions::validate() const {
  PM_CHECK(scale_min > 0 && scale_max >= scale_min,
           "IrnAugmentOptions::scale_min/max {},{}: needs 0 < min <= max",
           scale_min,
           scale_max);
  PM_CHECK(crop >= 8 && crop % 4 == 0,
           "IrnAugmentOptions::crop {}: must be a multiple of 4, at least 8",
           crop);
  PM_CHECK(radius >= 2, "IrnAugmentOptions::radius {}: must be at least 2", radius);
  // PathIndex needs the reduced crop to hold one source with all its destinations.
  PM_CHECK(label_side() >= 2 * radius - 1,
           "IrnAugmentOptions::crop {}: too small for radius {} (crop / 4 must be at least {})",
           crop,
           radius,
           2 * radius - 1);
}

IrnCropBox irn_crop_box(int w, int h, int crop, Rng& rng) {
  IrnCropBox b;
  std::tie(b.canvas_x, b.image_x) = crop_offsets(w, crop, rng);
  std::tie(b.canvas_y, b.image_y) = crop_offsets(h, crop, rng);
  b.width = std::min(crop, w);
  b.height = std::min(crop, h);
  return b;
}

LabelMap augment_irn_sample(const RgbImage& image,
                            const LabelMap& labels,
                            const IrnAugmentOptions& o,
                            Rng& rng,
                            float* image_out) {
  PM_CHECK(labels.width == image.width && labels.height == image.height,
           "labels {}x{} do not match the image {}x{}",
           labels.width,
           labels.height,
           image.width,
           image.height);
  const double ratio = rng.uniform(o.scale_min, o.scale_max);
  const auto [w, h] = rescaled_size(image.width, image.height, ratio, RescaleBase{});
  const RgbImage img = resize_bilinear(image, w, h);
  const LabelMap lab = resize_nearest(labels, w, h);
  const bool flip = rng.uniform() < 0.5 && o.flip;
  const IrnCropBox box = irn_crop_box(w, h, o.crop, rng);

  const int crop = o.crop;
  const size_t plane = static_cast<size_t>(crop) * crop;
  std::fill(image_out, image_out + 3 * plane, 0.0f);
  LabelMap out(crop, crop, kIgnoreLabel);
  for (int y = 0; y < box.height; ++y) {
    const int sy = box.image_y + y;
    for (int x = 0; x < box.width; ++x) {
      const int fx = box.image_x + x;         // column in the flipped image
      const int sx = flip ? w - 1 - fx : fx;  // column in the rescaled image
      const size_t src = static_cast<size_t>(sy) * w + sx;
      const size_t dst = static_cast<size_t>(box.canvas_y + y) * crop + box.canvas_x + x;
      for (int c = 0; c < 3; ++c)
        image_out[c * plane + dst] =
            (img.pixels[src * 3 + c] / 255.0f - kImageNetMean[c]) / kImageNetStd[c];
      out.labels[dst] = lab.labels[src];
    }
  }
  return out;
}

LabelMap reduce_irn_labels(const LabelMap& labels) {
  return resize_nearest(labels,
                        round_half_even_at_least_one(labels.width * 0.25),
                        round_half_even_at_least_one(labels.height * 0.25));
}

IrnSampleData load_irn_sample(const IrnTrainSample& s, int num_classes) {
  IrnSampleData d;
  d.image = read_image(s.image_path);
  d.labels = read_label_png(s.label_path);
  PM_CHECK(d.labels.width == d.image.width && d.labels.height == d.image.height,
           "{}: IR labels are {}x{}, the image {} is {}x{}",
           s.label_path,
           d.labels.width,
           d.labels.height,
           s.image_path,
           d.image.width,
           d.image.height);
  for (uint8_t l : d.labels.labels)
    PM_CHECK(l == kIgnoreLabel || l < num_classes,
             "{}: label {} is out of range for {} classes (255 = unsure)",
             s.label_path,
             static_cast<int>(l),
             num_classes);
  return d;
}

IrnBatch make_irn_batch(const std::vector<IrnTrainSample>& samples,
                        const BatchPlan& plan,
                        const IrnAugmentOptions& o,
                        const PathIndex& index,
                        uint64_t seed,
                        int workers,
                        int num_classes) {
  PM_CHECK(index.height == o.label_side() && index.width == o.label_side(),
           "path index {}x{} does not match the crop {} / 4",
           index.width,
           index.height,
           o.crop);
  const int64_t n = plan.batch_size, crop = o.crop;
  const int64_t d = static_cast<int64_t>(index.directions.size());
  const int64_t s = static_cast<int64_t>(index.num_sources());
  IrnBatch b;
  b.images = torch::empty({n, 3, crop, crop}, torch::kFloat32);
  b.bg_pos = torch::empty({n, d, s}, torch::kUInt8);
  b.fg_pos = torch::empty({n, d, s}, torch::kUInt8);
  b.neg = torch::empty({n, d, s}, torch::kUInt8);
  parallel_for(static_cast<size_t>(n), std::max(1, workers), [&](size_t i) {
    const IrnSampleData data =
        load_irn_sample(samples[plan.sample(static_cast<int64_t>(i))], num_classes);
    Rng rng = Rng::from(seed ^ kIrnAugmentStream, static_cast<uint64_t>(plan.step), i);
    const LabelMap cropped = augment_irn_sample(
        data.image, data.labels, o, rng, b.images.data_ptr<float>() + i * 3 * crop * crop);
    const AffinityLabels pairs = affinity_labels(reduce_irn_labels(cropped).labels, index);
    copy_bytes(pairs.bg_pos, b.bg_pos, i);
    copy_bytes(pairs.fg_pos, b.fg_pos, i);
    copy_bytes(pairs.neg, b.neg, i);
  });
  return b;
}

}  // namespace pm::nn
