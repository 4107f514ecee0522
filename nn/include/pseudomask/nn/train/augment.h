// SPDX-License-Identifier: MIT
#pragma once

// The classifier's training augmentation as IRN does it (random resize of the long side,
// horizontal flip, colour jitter, ImageNet normalisation, random crop into a zero-padded
// canvas), and the plain normalisation used at inference. No libtorch: images in, float planes
// out, so batches can be prepared by worker threads.

#include <cstdint>
#include <vector>

#include "pseudomask/core/common/image.h"

namespace pm::nn {

/// ImageNet channel means and standard deviations (RGB, [0, 1] scale).
constexpr float kImageNetMean[3] = {0.485f, 0.456f, 0.406f};
constexpr float kImageNetStd[3] = {0.229f, 0.224f, 0.225f};

/// A small deterministic random generator (SplitMix64): the same seed gives the same draws on
/// every platform and standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  /// Seeds from several numbers (seed, epoch, sample index): distinct tuples give unrelated
  /// streams.
  static Rng from(uint64_t a, uint64_t b, uint64_t c = 0);
  uint64_t next();
  /// Uniform in [0, 1).
  double uniform();
  /// Uniform in [lo, hi].
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [lo, hi] (inclusive).
  int64_t integer(int64_t lo, int64_t hi);

 private:
  uint64_t state_;
};

/// The sample order of one epoch: a Fisher-Yates shuffle of 0..n-1 seeded by (seed, stream,
/// epoch). Each trainer passes its own stream id so its order is unrelated to its augmentation.
std::vector<size_t> epoch_order(size_t n, uint64_t seed, uint64_t stream, int epoch);

/// torchvision's ColorJitter strengths: factors are drawn from [1 - s, 1 + s] (brightness,
/// contrast, saturation) and the hue shift from [-hue, hue] (fraction of a turn).
struct ColorJitter {
  float brightness = 0.3f;
  float contrast = 0.3f;
  float saturation = 0.3f;
  float hue = 0.1f;
};

/// IRN's classifier augmentation (train_cam.py). Defaults are IRN's for VOC.
struct AugmentOptions {
  int resize_long_min = 320;  ///< the long side is resized to a uniform draw in [min, max]
  int resize_long_max = 640;
  bool flip = true;    ///< horizontal flip with probability 1/2
  ColorJitter jitter;  ///< colour jitter (all zero = off)
  int crop = 512;      ///< square output side; smaller images sit in a zero canvas
  /// Throws pm::Error naming the offending field.
  void validate() const;
};

/// Writes the ImageNet-normalised image as (3, H, W) float32 planes into `out` (3·H·W floats).
void normalize_image(const RgbImage& image, float* out);

/// One augmented training sample: (3, crop, crop) float32 planes written to `out`
/// (3·crop·crop floats), ImageNet-normalised, zero outside the image. All randomness comes from
/// `rng`, in a fixed order, so a sample depends only on the image and the generator's seed.
void augment_image(const RgbImage& image, const AugmentOptions& options, Rng& rng, float* out);

/// torchvision's colour jitter on RGB in [0, 1] (interleaved, 3 floats per pixel), in the fixed
/// order brightness, contrast, saturation, hue (torchvision draws the order at random), each
/// result clamped to [0, 1].
void color_jitter(std::vector<float>& rgb, const ColorJitter& jitter, Rng& rng);

}  // namespace pm::nn
