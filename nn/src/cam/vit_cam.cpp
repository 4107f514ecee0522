// SPDX-License-Identifier: MIT
#include "pseudomask/nn/cam/vit_cam.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/resize.h"
#include "pseudomask/nn/cam/cnn_cam.h"
#include "pseudomask/nn/cam/vit_lrp.h"
#include "pseudomask/nn/tensor.h"

namespace pm::nn {

namespace {

/// Min-max normalisation of one map to [0, 1] (all zeros if it is constant).
torch::Tensor min_max(const torch::Tensor& m) {
  const torch::Tensor lo = m.min(), span = m.max() - lo;
  return span.item<double>() > 0 ? (m - lo) / span : torch::zeros_like(m);
}

// The rollout maps (one row of R per class) of the gradient-weighted attention.
std::vector<torch::Tensor> rollout_rows(Classifier& model,
                                        const torch::Tensor& x,
                                        const std::vector<int>& keys) {
  VisionTransformerImpl& vit = model->vit();
  vit.keep_attention(true);
  const torch::Tensor logits = model->forward(x);
  const std::vector<torch::Tensor> attention = vit.attention_maps();
  vit.keep_attention(false);
  std::vector<torch::Tensor> per_block;
  for (const auto& a : attention)
    per_block.push_back(a[0].detach());
  std::vector<torch::Tensor> rows;
  for (int key : keys) {
    const std::vector<torch::Tensor> grads =
        torch::autograd::grad({logits[0][key]}, attention, {}, /*retain_graph=*/true);
    std::vector<torch::Tensor> g;
    for (const auto& t : grads)
      g.push_back(t[0]);
    // The class token's relevance for each patch token.
    rows.push_back(gradient_weighted_rollout(per_block, g)[0].slice(0, 1).detach());
  }
  return rows;
}

std::vector<torch::Tensor> lrp_rows(Classifier& model,
                                    const torch::Tensor& x,
                                    const std::vector<int>& keys) {
  const VitLrpTrace trace = vit_lrp_trace(model, x);
  std::vector<torch::Tensor> rows;
  for (int key : keys)
    rows.push_back(lrp_class_relevance(model, trace, key));
  return rows;
}

}  // namespace

VitCamMethod parse_vit_cam_method(const std::string& name) {
  if (name == "lrp")
    return VitCamMethod::kLrp;
  if (name == "rollout")
    return VitCamMethod::kRollout;
  PM_FAIL("VitCamOptions::method '{}': expected lrp or rollout", name);
}

const char* vit_cam_method_name(VitCamMethod method) {
  return method == VitCamMethod::kLrp ? "lrp" : "rollout";
}

torch::Tensor gradient_weighted_rollout(const std::vector<torch::Tensor>& attention,
                                        const std::vector<torch::Tensor>& gradients) {
  PM_CHECK(!attention.empty() && attention.size() == gradients.size(),
           "rollout: {} attention maps and {} gradients",
           attention.size(),
           gradients.size());
  const int64_t t = attention[0].size(-1);
  torch::Tensor r = torch::eye(t, attention[0].options());
  for (size_t b = 0; b < attention.size(); ++b) {
    // Chefer et al. 2021 (ICCV) Eq. 5: Ā = E_h[(∇A ⊙ A)⁺].
    const torch::Tensor a_bar = (gradients[b] * attention[b]).clamp_min(0).mean(0);
    // Eq. 6: R ← R + Ā·R.
    r = r + torch::matmul(a_bar, r);
  }
  return r;
}

CamFile vit_cam(Classifier& model,
                const RgbImage& image,
                const std::vector<int>& keys,
                const VitCamOptions& o) {
  PM_CHECK(model->is_vit(), "vit_cam: {} is not a ViT", model->options().arch);
  check_cam_keys(keys, model->options().num_classes);
  VisionTransformerImpl& vit = model->vit();
  const int size = o.input_size > 0 ? o.input_size : vit.options().image_size;
  const int patch = vit.options().patch_size;
  PM_CHECK(size % patch == 0,
           "VitCamOptions::input_size {}: not a multiple of the patch size {}",
           size,
           patch);
  const int64_t grid = size / patch;
  const int64_t H = image.height, W = image.width;
  const auto k = static_cast<int64_t>(keys.size());
  const torch::Device device = model->parameters().front().device();

  torch::Tensor maps = torch::zeros({1, k, grid, grid}, device);
  if (k > 0) {
    torch::AutoGradMode grad_on(true);
    // ORANDNet squashes the normalised image to 512x512; resizing the RGB first is the same up
    // to rounding to 8 bits.
    const torch::Tensor x =
        image_tensor(resize_bilinear(image, size, size), device).set_requires_grad(true);
    const std::vector<torch::Tensor> rows =
        o.method == VitCamMethod::kLrp ? lrp_rows(model, x, keys) : rollout_rows(model, x, keys);
    for (int64_t i = 0; i < k; ++i)
      maps[0][i] = min_max(rows[static_cast<size_t>(i)].reshape({grid, grid}));
  }
  torch::NoGradGuard no_grad;
  CamFile f;
  f.keys = keys;
  f.cam = to_planes(resize_maps(maps, strided_size(H), strided_size(W))[0]);
  f.high_res = to_planes(resize_maps(maps, H, W)[0]);
  return f;
}

}  // namespace pm::nn
