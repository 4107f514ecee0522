// SPDX-License-Identifier: MIT
#include "pseudomask/nn/backbones/vit.h"

#include <torch/nn/functional/upsampling.h>
#include <torch/nn/init.h>

#include <cmath>

#include "pseudomask/core/common/error.h"

namespace pm::nn {

void ViTOptions::validate() const {
  PM_CHECK(patch_size >= 1, "ViT: patch size must be positive, got {}", patch_size);
  PM_CHECK(image_size >= patch_size && image_size % patch_size == 0,
           "ViT: image size {} is not a multiple of the patch size {}",
           image_size,
           patch_size);
  PM_CHECK(dim >= 1 && heads >= 1 && dim % heads == 0,
           "ViT: width {} is not divisible by {} heads",
           dim,
           heads);
  PM_CHECK(depth >= 1, "ViT: depth must be positive, got {}", depth);
  PM_CHECK(mlp_ratio >= 1, "ViT: mlp ratio must be positive, got {}", mlp_ratio);
  PM_CHECK(num_classes >= 0, "ViT: num_classes must be >= 0, got {}", num_classes);
}

PatchEmbedImpl::PatchEmbedImpl(int patch_size, int dim) {
  proj = register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, dim, patch_size).stride(patch_size)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& x) {
  return proj(x).flatten(2).transpose(1, 2);
}

AttentionImpl::AttentionImpl(int dim, int heads_) : heads(heads_) {
  qkv = register_module("qkv", torch::nn::Linear(dim, dim * 3));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
}

AttentionParts AttentionImpl::parts(const torch::Tensor& x) {
  const int64_t n = x.size(0), t = x.size(1), c = x.size(2);
  const int64_t head_dim = c / heads;
  // (3, N, heads, T, head_dim)
  const torch::Tensor qkv_t = qkv(x).reshape({n, t, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});
  AttentionParts p{qkv_t[0], qkv_t[1], qkv_t[2], {}, {}};
  // Scaled dot-product attention (Vaswani et al. 2017, Eq. 1).
  p.attn =
      torch::softmax(torch::matmul(p.q, p.k.transpose(-2, -1)) * (1.0 / std::sqrt(head_dim)), -1);
  p.context = torch::matmul(p.attn, p.v).transpose(1, 2).reshape({n, t, c});
  return p;
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x) {
  AttentionParts p = parts(x);
  if (keep_attention)
    attention = p.attn;
  return proj(p.context);
}

MlpImpl::MlpImpl(int dim, int hidden) {
  fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return fc2(torch::gelu(fc1(x)));
}

BlockImpl::BlockImpl(int dim, int heads, int mlp_ratio, double eps) {
  const auto ln = torch::nn::LayerNormOptions({dim}).eps(eps);
  norm1 = register_module("norm1", torch::nn::LayerNorm(ln));
  attn = register_module("attn", Attention(dim, heads));
  norm2 = register_module("norm2", torch::nn::LayerNorm(ln));
  mlp = register_module("mlp", Mlp(dim, dim * mlp_ratio));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x) {
  const torch::Tensor h = x + attn(norm1(x));
  return h + mlp(norm2(h));
}

torch::Tensor resample_pos_embed(const torch::Tensor& pos,
                                 int grid_h,
                                 int grid_w,
                                 const std::string& mode) {
  PM_CHECK(pos.dim() == 3 && pos.size(0) == 1,
           "pos_embed: expected (1, 1 + g*g, D), got {}",
           c10::str(pos.sizes()));
  const int64_t tokens = pos.size(1) - 1;
  const auto old = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(tokens))));
  PM_CHECK(old * old == tokens, "pos_embed: {} patch tokens do not form a square grid", tokens);
  if (old == grid_h && old == grid_w)
    return pos;
  PM_CHECK(mode == "bicubic" || mode == "bilinear",
           "pos_embed: interpolation must be bicubic or bilinear, got {}",
           mode);
  const int64_t dim = pos.size(2);
  const torch::Tensor cls = pos.slice(1, 0, 1);
  const torch::Tensor grid = pos.slice(1, 1).reshape({1, old, old, dim}).permute({0, 3, 1, 2});
  namespace F = torch::nn::functional;
  auto opts =
      F::InterpolateFuncOptions().size(std::vector<int64_t>{grid_h, grid_w}).align_corners(false);
  if (mode == "bicubic")
    opts.mode(torch::kBicubic);
  else
    opts.mode(torch::kBilinear);
  const torch::Tensor resized = F::interpolate(grid, opts);
  return torch::cat({cls, resized.permute({0, 2, 3, 1}).reshape({1, grid_h * grid_w, dim})}, 1);
}

VisionTransformerImpl::VisionTransformerImpl(const ViTOptions& options) : options_(options) {
  options_.validate();
  const int d = options_.dim;
  const int g = options_.grid();
  patch_embed = register_module("patch_embed", PatchEmbed(options_.patch_size, d));
  // timm initialises both with trunc_normal(std=0.02); a plain normal is close enough for
  // training from scratch and is overwritten by any checkpoint.
  cls_token = register_parameter("cls_token", torch::randn({1, 1, d}) * 0.02);
  pos_embed = register_parameter("pos_embed", torch::randn({1, 1 + g * g, d}) * 0.02);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int i = 0; i < options_.depth; ++i)
    blocks->push_back(Block(d, options_.heads, options_.mlp_ratio, options_.norm_eps));
  norm = register_module(
      "norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(options_.norm_eps)));
  if (options_.num_classes > 0)
    head = register_module("head", torch::nn::Linear(d, options_.num_classes));
}

torch::Tensor VisionTransformerImpl::embed(const torch::Tensor& x) {
  const int p = options_.patch_size;
  PM_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) % p == 0 && x.size(3) % p == 0,
           "ViT: input must be (N, 3, H, W) with H and W multiples of {}, got {}",
           p,
           c10::str(x.sizes()));
  const auto gh = static_cast<int>(x.size(2) / p), gw = static_cast<int>(x.size(3) / p);
  torch::Tensor h = patch_embed(x);
  h = torch::cat({cls_token.expand({h.size(0), -1, -1}), h}, 1);
  return h + resample_pos_embed(pos_embed, gh, gw);
}

torch::Tensor VisionTransformerImpl::forward_tokens(const torch::Tensor& x) {
  torch::Tensor h = embed(x);
  for (const auto& block : *blocks)
    h = block->as<Block>()->forward(h);
  return norm(h);
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& x) {
  const torch::Tensor cls = forward_tokens(x).select(1, 0);
  return head ? head(cls) : cls;
}

void VisionTransformerImpl::keep_attention(bool on) {
  for (const auto& block : *blocks) {
    auto* attn = block->as<Block>()->attn.get();
    attn->keep_attention = on;
    if (!on)
      attn->attention = torch::Tensor();
  }
}

std::vector<FreezeStage> VisionTransformerImpl::freeze_stages() {
  std::vector<FreezeStage> stages{{{patch_embed.ptr()}, {cls_token, pos_embed}}};
  for (const auto& block : *blocks)
    stages.push_back({{block}, {}});
  return stages;
}

std::vector<torch::Tensor> VisionTransformerImpl::attention_maps() const {
  std::vector<torch::Tensor> maps;
  for (const auto& block : *blocks)
    maps.push_back(block->as<Block>()->attn->attention);
  return maps;
}

}  // namespace pm::nn
