// SPDX-License-Identifier: MIT
#include "pseudomask/nn/cam/cnn_cam.h"

#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/functional/upsampling.h>

#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/resize.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/train/augment.h"

namespace pm::nn {
namespace {

/// The CNN's output stride; high_res is computed at the next multiple of it and cropped.
constexpr int kFeatureStride = 16;

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

}  // namespace

torch::Tensor resize_maps(const torch::Tensor& maps, int64_t out_h, int64_t out_w) {
  namespace F = torch::nn::functional;
  return F::interpolate(maps,
                        F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{out_h, out_w})
                            .mode(torch::kBilinear)
                            .align_corners(false));
}

void check_cam_keys(const std::vector<int>& keys, int num_classes) {
  for (size_t i = 0; i < keys.size(); ++i) {
    PM_CHECK(keys[i] >= 0 && keys[i] < num_classes,
             "class {} is outside 0..{}",
             keys[i],
             num_classes - 1);
    PM_CHECK(i == 0 || keys[i] > keys[i - 1], "class keys must be ascending and distinct");
  }
}

torch::Tensor image_tensor(const RgbImage& image, const torch::Device& device) {
  torch::Tensor t = torch::empty({1, 3, image.height, image.width});
  normalize_image(image, t.data_ptr<float>());
  return t.to(device);
}

torch::Tensor relu_class_maps(Classifier& model, const torch::Tensor& x) {
  return torch::relu(model->class_maps(x));
}

torch::Tensor max_normalize(const torch::Tensor& maps, double eps) {
  if (maps.size(0) == 0)
    return maps;
  return maps / (maps.amax({1, 2}, /*keepdim=*/true) + eps);
}

CamFile cnn_cam(Classifier& model,
                const RgbImage& image,
                const std::vector<int>& keys,
                const CnnCamOptions& o) {
  PM_CHECK(!model->is_vit(), "cnn_cam: {} is a ViT", model->options().arch);
  PM_CHECK(!o.scales.empty(), "cnn_cam: no scales");
  check_cam_keys(keys, model->options().num_classes);
  torch::NoGradGuard no_grad;
  const torch::Device device = model->parameters().front().device();
  const int64_t H = image.height, W = image.width;
  const int64_t low_h = strided_size(H), low_w = strided_size(W);
  const int64_t up_h = ceil_div(H, kFeatureStride) * kFeatureStride;
  const int64_t up_w = ceil_div(W, kFeatureStride) * kFeatureStride;
  const auto k = static_cast<int64_t>(keys.size());
  torch::Tensor low = torch::zeros({1, k, low_h, low_w}, device);
  torch::Tensor high = torch::zeros({1, k, up_h, up_w}, device);
  if (k > 0) {
    const torch::Tensor index =
        torch::tensor(std::vector<int64_t>(keys.begin(), keys.end()), torch::kInt64).to(device);
    for (double s : o.scales) {
      PM_CHECK(s > 0, "cnn_cam: scale {} must be positive", s);
      // std::nearbyint rounds half to even, like Python's round() in IRN.
      const int w = std::max(1, static_cast<int>(std::nearbyint(static_cast<double>(W) * s)));
      const int h = std::max(1, static_cast<int>(std::nearbyint(static_cast<double>(H) * s)));
      torch::Tensor x =
          image_tensor((w == W && h == H) ? image : resize_bilinear(image, w, h), device);
      if (o.flip)
        x = torch::cat({x, x.flip({3})});
      const torch::Tensor maps = relu_class_maps(model, x);
      torch::Tensor m = maps[0];
      if (o.flip)
        m = m + maps[1].flip({2});
      m = m.index_select(0, index).unsqueeze(0);
      low += resize_maps(m, low_h, low_w);
      high += resize_maps(m, up_h, up_w);
    }
  }
  CamFile f;
  f.keys = keys;
  f.cam = to_planes(max_normalize(low[0], o.eps));
  f.high_res = to_planes(max_normalize(high[0].slice(1, 0, H).slice(2, 0, W), o.eps));
  return f;
}

}  // namespace pm::nn
