// SPDX-License-Identifier: MIT
#include "pseudomask/nn/seg/seg_predict.h"

#include <torch/nn/functional/upsampling.h>

#include <algorithm>
#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/resize.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/train/augment.h"

namespace pm::nn {
namespace {

namespace F = torch::nn::functional;

torch::Tensor resize_bilinear(const torch::Tensor& x, int64_t h, int64_t w) {
  return F::interpolate(x,
                        F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{h, w})
                            .mode(torch::kBilinear)
                            .align_corners(false));
}

/// Window origins along one side: 0, stride, ... with the last window flush with the end.
std::vector<int64_t> window_starts(int64_t side, int64_t window, int64_t stride) {
  std::vector<int64_t> out;
  for (int64_t s = 0;; s += stride) {
    if (s + window >= side) {
      out.push_back(std::max<int64_t>(0, side - window));
      break;
    }
    out.push_back(s);
  }
  return out;
}

/// Logits (1, C, H, W) at the input's size, whole or by sliding windows (mmseg slide_inference).
torch::Tensor logits_of(SegModel& model, const torch::Tensor& x, const PredictOptions& o) {
  const int64_t h = x.size(2), w = x.size(3);
  if (o.window <= 0 || (h <= o.window && w <= o.window))
    return model->predict_logits(x);
  const int64_t win = o.window, stride = o.stride > 0 ? o.stride : std::max(1, 2 * o.window / 3);
  torch::Tensor sum, count = torch::zeros({1, 1, h, w}, x.options());
  for (int64_t y0 : window_starts(h, win, stride)) {
    for (int64_t x0 : window_starts(w, win, stride)) {
      const int64_t wh = std::min(win, h - y0), ww = std::min(win, w - x0);
      const torch::Tensor crop = x.narrow(2, y0, wh).narrow(3, x0, ww);
      const torch::Tensor l = model->predict_logits(crop);
      if (!sum.defined())
        sum = torch::zeros({1, l.size(1), h, w}, l.options());
      sum.narrow(2, y0, wh).narrow(3, x0, ww).add_(l);
      count.narrow(2, y0, wh).narrow(3, x0, ww).add_(1);
    }
  }
  return sum / count;
}

}  // namespace

void PredictOptions::validate() const {
  PM_CHECK(!scales.empty(), "PredictOptions::scales: at least one ratio is needed");
  for (double s : scales)
    PM_CHECK(s > 0 && s <= 8, "PredictOptions::scales: ratio {} must be in (0, 8]", s);
  PM_CHECK(window >= 0, "PredictOptions::window {}: must be >= 0", window);
  PM_CHECK(stride >= 0, "PredictOptions::stride {}: must be >= 0", stride);
  PM_CHECK(
      window == 0 || window >= 8, "PredictOptions::window {}: must be 0 or at least 8", window);
  PM_CHECK(stride <= window,
           "PredictOptions::stride {}: must not exceed PredictOptions::window {}",
           stride,
           window);
}

torch::Tensor predict_probabilities(SegModel& model,
                                    const RgbImage& image,
                                    const PredictOptions& o,
                                    const torch::Device& device) {
  o.validate();
  torch::NoGradGuard no_grad;
  torch::Tensor acc;
  int terms = 0;
  for (double s : o.scales) {
    const auto [w, h] = rescaled_size(image.width, image.height, s, o.scale_base);
    const RgbImage scaled =
        (w == image.width && h == image.height) ? image : pm::resize_bilinear(image, w, h);
    torch::Tensor x = torch::empty({1, 3, h, w}, torch::kFloat32);
    normalize_image(scaled, x.data_ptr<float>());
    x = x.to(device);
    for (int f = 0; f < (o.flip ? 2 : 1); ++f) {
      const torch::Tensor in = f == 1 ? x.flip({3}) : x;
      torch::Tensor l = logits_of(model, in, o);
      if (f == 1)
        l = l.flip({3});
      const torch::Tensor p =
          torch::softmax(resize_bilinear(l, image.height, image.width), 1).squeeze(0);
      acc = acc.defined() ? acc + p : p;
      ++terms;
    }
  }
  return (acc / terms).to(torch::kCPU).contiguous();
}

LabelMap argmax_labels(const torch::Tensor& probs) {
  PM_CHECK(probs.dim() == 3, "argmax_labels: probabilities must be (C, H, W)");
  const torch::Tensor idx = probs.argmax(0).to(torch::kUInt8).contiguous();
  LabelMap out(static_cast<int>(probs.size(2)), static_cast<int>(probs.size(1)));
  std::copy(idx.data_ptr<uint8_t>(), idx.data_ptr<uint8_t>() + idx.numel(), out.labels.begin());
  return out;
}

SegModel load_seg_model(const std::string& path, const std::string& device) {
  const Checkpoint ckpt = read_checkpoint(path);
  auto meta = [&](const char* key) -> const std::string& {
    const std::string* v = ckpt.find_metadata(key);
    PM_CHECK(v != nullptr,
             "{}: no '{}' in the checkpoint's metadata (not a pseudomask segmentation model)",
             path,
             key);
    return *v;
  };
  PM_CHECK(meta(seg_meta::kFormat) == seg_meta::kFormatName,
           "{}: metadata format is '{}', expected '{}'",
           path,
           meta(seg_meta::kFormat),
           seg_meta::kFormatName);
  SegModelOptions o;
  o.arch = meta(seg_meta::kArch);
  try {
    o.num_classes = std::stoi(meta(seg_meta::kNumClasses));
  } catch (const std::exception&) {
    PM_FAIL("{}: metadata num_classes '{}' is not an integer", path, meta(seg_meta::kNumClasses));
  }
  SegModel model(o);
  LoadRules rules;
  rules.ignore_prefixes = {"momentum."};
  load_state_dict(*model, ckpt, rules, path);
  model->to(parse_device(device));
  model->eval();
  return model;
}

}  // namespace pm::nn
