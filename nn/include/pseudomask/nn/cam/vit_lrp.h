// SPDX-License-Identifier: MIT
#pragma once

// Relevance propagation through a ViT classifier, as ORANDNet computes its ViT CAMs: Chefer, Gur
// & Wolf, "Transformer Interpretability Beyond Attention Visualization" (CVPR 2021). A one-hot
// relevance at the class logit flows down through every layer by the paper's rules (Sec. 3.1–3.2):
//   Linear                 LRP-αβ with α = 1, β = 0 (Eq. 4): positive contributions only
//   GELU, LayerNorm, softmax, dropout   relevance passes through unchanged
//   products of two tensors (q·kᵀ, A·v) the gradient × input rule (Eq. 3) on both operands, each
//                          half of it kept (Eq. 6, the attention's two operands share it)
//   residual additions     gradient × input per branch, rescaled so that each branch keeps its
//                          share |Σ R_branch| / (|Σ R_u| + |Σ R_v|) of the incoming total (Eq. 7–8)
//   clone (a skip)         the relevances of the copies added
//   class-token pooling    all of it to token 0
// and the relevance R(A_b) of each block's attention map (the A·v product's first operand) is
// weighted by the gradient of the class score, Ā_b = E_h[(∇A_b ⊙ R(A_b))⁺] (Eq. 13), and rolled
// out over the blocks, C = Π_b (I + Ā_b), later blocks on the left (Eq. 14). The class token's
// row over the patches is the map (Sec. 3.3). Every tensor may be float32 or float64; the rules
// keep the dtype.

#include <torch/types.h>

#include <utility>
#include <vector>

#include "pseudomask/nn/heads/classifier.h"

namespace pm::nn {

/// Chefer et al.'s guarded division: a / (b + 1e-9), and 0 wherever b == 0 exactly.
torch::Tensor lrp_safe_divide(const torch::Tensor& a, const torch::Tensor& b);

/// Eq. 4 with α = 1, β = 0: the relevance `r` of a Linear's output (…, out) given its input `x`
/// (…, in) and weight `w` (out, in), bias ignored: R_j = Σ_i (x_j⁺ w_ij⁺ + x_j⁻ w_ij⁻) r_i / z_i,
/// z_i = Σ_j (x_j⁺ w_ij⁺ + x_j⁻ w_ij⁻).
torch::Tensor lrp_linear(const torch::Tensor& r, const torch::Tensor& x, const torch::Tensor& w);

/// Eq. 3 for a product z = a·b (matmul over the last two dims): R_a = a ⊙ ((r/z)·bᵀ),
/// R_b = b ⊙ (aᵀ·(r/z)), each then halved (Eq. 6: the two operands of the attention product).
std::pair<torch::Tensor, torch::Tensor> lrp_matmul(const torch::Tensor& r,
                                                   const torch::Tensor& a,
                                                   const torch::Tensor& b);

/// Eq. 7–8 for z = u + v: R_u = u ⊙ r/z and R_v = v ⊙ r/z, each rescaled to its share
/// |ΣR_u| / (|ΣR_u| + |ΣR_v|) of Σr, so that the sum is conserved.
std::pair<torch::Tensor, torch::Tensor> lrp_add(const torch::Tensor& r,
                                                const torch::Tensor& u,
                                                const torch::Tensor& v);

/// A tensor used twice (the residual's skip and its branch): x ⊙ (r1/x + r2/x).
torch::Tensor lrp_clone(const torch::Tensor& r1, const torch::Tensor& r2, const torch::Tensor& x);

/// What one forward pass of a ViT classifier keeps for the relevance pass.
struct VitLrpTrace {
  struct Block {
    torch::Tensor input;     ///< the block's input x (N, T, D)
    torch::Tensor norm1;     ///< norm1(x), qkv's input
    AttentionParts attn;     ///< q, k, v, the attention map and proj's input
    torch::Tensor attn_out;  ///< proj(context): the first residual branch
    torch::Tensor mid;       ///< x + attn_out
    torch::Tensor norm2;     ///< norm2(mid), fc1's input
    torch::Tensor hidden;    ///< GELU(fc1(norm2)), fc2's input
    torch::Tensor mlp_out;   ///< fc2(hidden): the second residual branch
  };
  std::vector<Block> blocks;
  torch::Tensor pooled;  ///< the class token after the final norm (N, D), the head's input
  torch::Tensor logits;  ///< (N, K), inside the autograd graph
};

/// One forward pass of a ViT classifier (Classifier with a ViT backbone) on x (1, 3, H, W),
/// keeping every tensor the rules read; the logits equal model->forward(x).
VitLrpTrace vit_lrp_trace(Classifier& model, const torch::Tensor& x);

/// The relevance R(A_b) of every block's attention map, (heads, T, T) each, for a one-hot
/// relevance at logit `cls` propagated from the head down through every block.
std::vector<torch::Tensor> attention_relevances(Classifier& model,
                                                const VitLrpTrace& trace,
                                                int cls);

/// Eq. 13–14 for class `cls`: the gradient of its logit at each attention map times R(A_b),
/// positive part, mean over heads, rolled out as Π_b (I + Ā_b). Returns the class token's row
/// over the patch tokens, (T − 1) values.
torch::Tensor lrp_class_relevance(Classifier& model, const VitLrpTrace& trace, int cls);

}  // namespace pm::nn
