// SPDX-License-Identifier: MIT
#pragma once

// Vision Transformer (Dosovitskiy et al. 2021) / DeiT (Touvron et al. 2021) in timm's layout:
// patch_embed.proj, cls_token, pos_embed, blocks.i.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1,
// mlp.fc2}, norm, head, so that timm/DeiT .pth files load by name.

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "pseudomask/nn/backbones/backbone.h"

namespace pm::nn {

/// Options of a ViT with a class token and learned absolute position embeddings.
struct ViTOptions {
  int image_size = 224;    ///< input side the position embeddings are made for (grid = size/patch)
  int patch_size = 16;     ///< side of a square patch
  int dim = 768;           ///< token width
  int depth = 12;          ///< number of blocks
  int heads = 12;          ///< attention heads (dim must be divisible by heads)
  int mlp_ratio = 4;       ///< MLP hidden width = mlp_ratio · dim
  double norm_eps = 1e-6;  ///< LayerNorm epsilon (timm)
  int num_classes = 0;     ///< outputs of the `head` Linear on the class token; 0 = no head

  static ViTOptions deit_base() { return {}; }
  static ViTOptions deit_small() {
    ViTOptions o;
    o.dim = 384;
    o.heads = 6;
    return o;
  }
  static ViTOptions deit_tiny() {
    ViTOptions o;
    o.dim = 192;
    o.heads = 3;
    return o;
  }
  /// dim 64, 4 blocks of 4 heads, patch 16: for tests and the synthetic dataset.
  static ViTOptions tiny() {
    ViTOptions o;
    o.dim = 64;
    o.depth = 4;
    o.heads = 4;
    return o;
  }
  /// Position-embedding grid side (image_size / patch_size).
  int grid() const { return image_size / patch_size; }
  /// Throws pm::Error naming the offending field.
  void validate() const;
};

/// timm's PatchEmbed: a patch_size-strided conv, flattened to tokens.
struct PatchEmbedImpl : torch::nn::Module {
  PatchEmbedImpl(int patch_size, int dim);
  /// x: (N, 3, H, W) → (N, (H/p)·(W/p), dim).
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

/// The intermediate tensors of one attention call, for relevance propagation (cam/vit_lrp.h).
struct AttentionParts {
  torch::Tensor q, k, v;  ///< (N, heads, T, head_dim) each
  torch::Tensor attn;     ///< softmax(q·kᵀ / √head_dim): (N, heads, T, T)
  torch::Tensor context;  ///< attn·v with the heads concatenated: (N, T, dim), proj's input
};

/// Multi-head self-attention with a fused qkv projection (timm's Attention).
struct AttentionImpl : torch::nn::Module {
  AttentionImpl(int dim, int heads);
  /// x: (N, T, dim) → (N, T, dim). When keep_attention is set, the softmax attention
  /// (N, heads, T, T) of this call is kept in `attention` (inside the autograd graph).
  torch::Tensor forward(const torch::Tensor& x);
  /// Everything before `proj`: forward(x) is proj(parts(x).context).
  AttentionParts parts(const torch::Tensor& x);

  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  int heads = 1;
  bool keep_attention = false;
  torch::Tensor attention;
};
TORCH_MODULE(Attention);

/// The transformer MLP: fc1 → GELU (exact, erf) → fc2.
struct MlpImpl : torch::nn::Module {
  MlpImpl(int dim, int hidden);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

/// A pre-norm transformer block: x + attn(norm1(x)), then + mlp(norm2(x)).
struct BlockImpl : torch::nn::Module {
  BlockImpl(int dim, int heads, int mlp_ratio, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  Attention attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(Block);

/// Position-embedding resampling: keeps the class token's embedding and resizes the square grid
/// of the others to (grid_h, grid_w) with bicubic interpolation, align_corners=False, no
/// antialiasing (timm's resample_abs_pos_embed for upsampling; ORANDNet's code uses bilinear).
/// pos: (1, 1 + g·g, D) → (1, 1 + grid_h·grid_w, D).
torch::Tensor resample_pos_embed(const torch::Tensor& pos,
                                 int grid_h,
                                 int grid_w,
                                 const std::string& mode = "bicubic");

/// ViT with timm's parameter names.
struct VisionTransformerImpl : BackboneImpl {
  explicit VisionTransformerImpl(const ViTOptions& options);

  /// x: (N, 3, H, W) with H, W multiples of the patch size (other sizes than image_size use
  /// resampled position embeddings) → logits (N, num_classes), or the class token's final
  /// feature (N, dim) without a head.
  torch::Tensor forward(const torch::Tensor& x);
  /// All tokens after the final norm: (N, 1 + (H/p)·(W/p), dim); token 0 is the class token.
  torch::Tensor forward_tokens(const torch::Tensor& x);
  /// The tokens the first block reads: patch embeddings after the class token, plus the position
  /// embeddings (resampled to the input's grid). Throws pm::Error for a bad input shape.
  torch::Tensor embed(const torch::Tensor& x);
  /// Backbone: forward_tokens(), dim channels, stride patch_size.
  torch::Tensor forward_features(const torch::Tensor& x) override { return forward_tokens(x); }
  int out_channels() const override { return options_.dim; }
  int output_stride() const override { return options_.patch_size; }
  /// The stem {patch_embed, cls_token, pos_embed}, then one stage per block (as mmdet's
  /// transformers count frozen_stages).
  std::vector<FreezeStage> freeze_stages() override;
  /// Keep (or stop keeping) every block's attention for attention_maps().
  void keep_attention(bool on);
  /// The attention of each block from the last forward with keep_attention on:
  /// depth × (N, heads, T, T).
  std::vector<torch::Tensor> attention_maps() const;

  const ViTOptions& options() const { return options_; }

  PatchEmbed patch_embed{nullptr};
  torch::Tensor cls_token, pos_embed;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear head{nullptr};

 private:
  ViTOptions options_;
};
TORCH_MODULE(VisionTransformer);

}  // namespace pm::nn
