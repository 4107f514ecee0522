// SPDX-License-Identifier: MIT
#include "pseudomask/nn/seg/scale_schedule.h"

#include <array>
#include <sstream>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/resize.h"

namespace pm::nn {
namespace {

int parse_positive_int(const std::string& text, const std::string& field, const std::string& what) {
  size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    PM_FAIL("{}: '{}' is not an integer {}", field, text, what);
  }
  PM_CHECK(used == text.size(), "{}: '{}' is not an integer {}", field, text, what);
  PM_CHECK(value >= 1, "{}: {} {} must be >= 1", field, what, value);
  return value;
}

}  // namespace

std::vector<ScaleStage> parse_scale_schedule(const std::string& spec, const std::string& field) {
  std::vector<ScaleStage> stages;
  if (spec.empty())
    return stages;
  std::stringstream in(spec);
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t colon = item.find(':');
    PM_CHECK(
        colon != std::string::npos, "{}: '{}' is not FACTOR:EPOCH (e.g. 8:2,4:4,2:6)", field, item);
    ScaleStage s;
    s.factor = parse_positive_int(item.substr(0, colon), field, "factor");
    s.until_epoch = parse_positive_int(item.substr(colon + 1), field, "epoch");
    PM_CHECK(stages.empty() || s.until_epoch > stages.back().until_epoch,
             "{}: epoch {} does not come after epoch {} (boundaries must increase)",
             field,
             s.until_epoch,
             stages.empty() ? 0 : stages.back().until_epoch);
    stages.push_back(s);
  }
  PM_CHECK(!stages.empty(), "{}: '{}' has no stage", field, spec);
  return stages;
}

int scale_factor_at(const std::vector<ScaleStage>& schedule, int epoch) {
  for (const ScaleStage& s : schedule) {
    if (epoch < s.until_epoch)
      return s.factor;
  }
  return 1;
}

LabelDownsample parse_label_downsample(const std::string& name, const std::string& field) {
  if (name == "nearest")
    return LabelDownsample::kNearest;
  if (name == "majority")
    return LabelDownsample::kMajority;
  PM_FAIL("{}: '{}' is not nearest or majority", field, name);
}

int downsampled_side(int side, int factor) {
  return std::max(1, (side + factor / 2) / factor);
}

namespace {

/// Majority vote over the source block [x0, x1) × [y0, y1) of every output pixel.
LabelMap downsample_majority(const LabelMap& labels, int out_w, int out_h) {
  LabelMap out(out_w, out_h, kIgnoreLabel);
  std::array<int, 256> counts{};
  for (int oy = 0; oy < out_h; ++oy) {
    const int y0 = static_cast<int>(static_cast<int64_t>(oy) * labels.height / out_h);
    const int y1 =
        std::max(y0 + 1, static_cast<int>(static_cast<int64_t>(oy + 1) * labels.height / out_h));
    for (int ox = 0; ox < out_w; ++ox) {
      const int x0 = static_cast<int>(static_cast<int64_t>(ox) * labels.width / out_w);
      const int x1 =
          std::max(x0 + 1, static_cast<int>(static_cast<int64_t>(ox + 1) * labels.width / out_w));
      counts.fill(0);
      for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x)
          ++counts[labels.at(x, y)];
      int best = kIgnoreLabel;
      for (int l = 0; l < kIgnoreLabel; ++l) {
        if (counts[l] > 0 && (best == kIgnoreLabel || counts[l] > counts[best]))
          best = l;
      }
      out.at(ox, oy) = static_cast<uint8_t>(best);
    }
  }
  return out;
}

}  // namespace

LabelMap downsample_labels(const LabelMap& labels, int factor, LabelDownsample mode) {
  PM_CHECK(factor >= 1, "downsample factor {} must be >= 1", factor);
  if (factor == 1)
    return labels;
  const int w = downsampled_side(labels.width, factor), h = downsampled_side(labels.height, factor);
  return mode == LabelDownsample::kNearest ? resize_nearest(labels, w, h)
                                           : downsample_majority(labels, w, h);
}

RgbImage downsample_image(const RgbImage& image, int factor) {
  PM_CHECK(factor >= 1, "downsample factor {} must be >= 1", factor);
  if (factor == 1)
    return image;
  return resize_bilinear(
      image, downsampled_side(image.width, factor), downsampled_side(image.height, factor));
}

}  // namespace pm::nn
