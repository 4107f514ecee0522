// SPDX-License-Identifier: MIT
#include "pseudomask/nn/cam/vit_lrp.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/torch.h>

#include "pseudomask/core/common/error.h"
#include "pseudomask/nn/cam/vit_cam.h"

namespace pm::nn {

torch::Tensor lrp_safe_divide(const torch::Tensor& a, const torch::Tensor& b) {
  torch::Tensor den = b + 1e-9;
  den = den + den.eq(0).to(den.scalar_type()) * 1e-9;
  return a / den * b.ne(0).to(b.scalar_type());
}

torch::Tensor lrp_linear(const torch::Tensor& r, const torch::Tensor& x, const torch::Tensor& w) {
  const torch::Tensor xp = x.clamp_min(0), xn = x.clamp_max(0);
  const torch::Tensor wp = w.clamp_min(0), wn = w.clamp_max(0);
  // ORANDNet's relprop with α = 1: only the activating (positive) contributions x⁺w⁺ + x⁻w⁻.
  const torch::Tensor z = torch::matmul(xp, wp.t()) + torch::matmul(xn, wn.t());
  const torch::Tensor s = lrp_safe_divide(r, z);
  return xp * torch::matmul(s, wp) + xn * torch::matmul(s, wn);
}

std::pair<torch::Tensor, torch::Tensor> lrp_matmul(const torch::Tensor& r,
                                                   const torch::Tensor& a,
                                                   const torch::Tensor& b) {
  const torch::Tensor s = lrp_safe_divide(r, torch::matmul(a, b));
  return {a * torch::matmul(s, b.transpose(-2, -1)) / 2,
          b * torch::matmul(a.transpose(-2, -1), s) / 2};
}

std::pair<torch::Tensor, torch::Tensor> lrp_add(const torch::Tensor& r,
                                                const torch::Tensor& u,
                                                const torch::Tensor& v) {
  const torch::Tensor s = lrp_safe_divide(r, u + v);
  torch::Tensor ru = u * s, rv = v * s;
  const torch::Tensor su = ru.sum(), sv = rv.sum(), total = r.sum();
  const torch::Tensor share_u = lrp_safe_divide(su.abs(), su.abs() + sv.abs()) * total;
  const torch::Tensor share_v = lrp_safe_divide(sv.abs(), su.abs() + sv.abs()) * total;
  return {ru * lrp_safe_divide(share_u, su), rv * lrp_safe_divide(share_v, sv)};
}

torch::Tensor lrp_clone(const torch::Tensor& r1, const torch::Tensor& r2, const torch::Tensor& x) {
  return x * (lrp_safe_divide(r1, x) + lrp_safe_divide(r2, x));
}

namespace {

torch::Tensor parameter(Classifier& model, const std::string& key) {
  const torch::Tensor* t = model->named_parameters().find(key);
  PM_CHECK(t != nullptr, "LRP: the classifier has no parameter {}", key);
  return *t;
}

BlockImpl& block_at(VisionTransformerImpl& vit, size_t b) {
  return *vit.blocks[b]->as<Block>();
}

// The relevance of a block's output → of its input, recording R(A) in `attention`.
torch::Tensor block_relprop(BlockImpl& block,
                            const VitLrpTrace::Block& t,
                            const torch::Tensor& r,
                            torch::Tensor& attention) {
  // mid + mlp(norm2(mid))
  auto [r_skip2, r_mlp] = lrp_add(r, t.mid, t.mlp_out);
  r_mlp = lrp_linear(r_mlp, t.hidden, block.mlp->fc2->weight);  // GELU: passes through
  r_mlp = lrp_linear(r_mlp, t.norm2, block.mlp->fc1->weight);   // norm2: passes through
  const torch::Tensor r_mid = lrp_clone(r_skip2, r_mlp, t.mid);
  // x + proj(attention(norm1(x)))
  auto [r_skip1, r_attn] = lrp_add(r_mid, t.input, t.attn_out);
  const int64_t n = r_attn.size(0), tokens = r_attn.size(1), dim = r_attn.size(2);
  const int64_t heads = t.attn.q.size(1), head_dim = dim / heads;
  torch::Tensor r_ctx = lrp_linear(r_attn, t.attn.context, block.attn->proj->weight);
  r_ctx = r_ctx.reshape({n, tokens, heads, head_dim}).permute({0, 2, 1, 3});
  auto [r_a, r_v] = lrp_matmul(r_ctx, t.attn.attn, t.attn.v);  // A·v
  attention = r_a;
  // softmax (and the scale): passes through; q·kᵀ.
  auto [r_q, r_k] = lrp_matmul(r_a, t.attn.q, t.attn.k.transpose(-2, -1));
  r_k = r_k.transpose(-2, -1);
  // qkv's output layout: (N, T, 3, heads, head_dim).
  const torch::Tensor r_qkv =
      torch::stack({r_q, r_k, r_v}).permute({1, 3, 0, 2, 4}).reshape({n, tokens, 3 * dim});
  const torch::Tensor r_norm1 = lrp_linear(r_qkv, t.norm1, block.attn->qkv->weight);
  return lrp_clone(r_skip1, r_norm1, t.input);  // norm1: passes through
}

}  // namespace

VitLrpTrace vit_lrp_trace(Classifier& model, const torch::Tensor& x) {
  PM_CHECK(model->is_vit(), "LRP: {} is not a ViT", model->options().arch);
  VisionTransformerImpl& vit = model->vit();
  VitLrpTrace trace;
  torch::Tensor h = vit.embed(x);
  for (size_t b = 0; b < vit.blocks->size(); ++b) {
    BlockImpl& block = block_at(vit, b);
    VitLrpTrace::Block t;
    t.input = h;
    t.norm1 = block.norm1(h);
    t.attn = block.attn->parts(t.norm1);
    t.attn_out = block.attn->proj(t.attn.context);
    t.mid = h + t.attn_out;
    t.norm2 = block.norm2(t.mid);
    t.hidden = torch::gelu(block.mlp->fc1(t.norm2));
    t.mlp_out = block.mlp->fc2(t.hidden);
    h = t.mid + t.mlp_out;
    trace.blocks.push_back(std::move(t));
  }
  trace.pooled = vit.norm(h).select(1, 0);
  trace.logits = torch::nn::functional::linear(
      trace.pooled, parameter(model, "classifier.weight"), parameter(model, "classifier.bias"));
  return trace;
}

std::vector<torch::Tensor> attention_relevances(Classifier& model,
                                                const VitLrpTrace& trace,
                                                int cls) {
  torch::NoGradGuard no_grad;
  const torch::Tensor w = parameter(model, "classifier.weight");
  PM_CHECK(cls >= 0 && cls < w.size(0), "LRP: class {} of {}", cls, w.size(0));
  // The one-hot relevance at the logits, to the pooled class token (head: Eq. 4).
  torch::Tensor one_hot = torch::zeros_like(trace.logits);
  one_hot.select(1, cls).fill_(1);
  const torch::Tensor r_pooled = lrp_linear(one_hot, trace.pooled.detach(), w);
  // The pooling gives it all to token 0 (gradient × input on the normed tokens); the final norm
  // passes it through.
  const VitLrpTrace::Block& top = trace.blocks.back();
  torch::Tensor r = torch::zeros_like(top.mid);
  r.select(1, 0).copy_(trace.pooled * lrp_safe_divide(r_pooled, trace.pooled));
  VisionTransformerImpl& vit = model->vit();
  std::vector<torch::Tensor> relevance(trace.blocks.size());
  for (size_t b = trace.blocks.size(); b-- > 0;) {
    torch::Tensor attention;
    r = block_relprop(block_at(vit, b), trace.blocks[b], r, attention);
    relevance[b] = attention[0];
  }
  return relevance;
}

torch::Tensor lrp_class_relevance(Classifier& model, const VitLrpTrace& trace, int cls) {
  std::vector<torch::Tensor> maps;
  for (const VitLrpTrace::Block& b : trace.blocks)
    maps.push_back(b.attn.attn);
  const std::vector<torch::Tensor> grads =
      torch::autograd::grad({trace.logits[0][cls]}, maps, {}, /*retain_graph=*/true);
  std::vector<torch::Tensor> g;
  for (const auto& t : grads)
    g.push_back(t[0]);
  // Eq. 13–14: the same rollout as the gradient-weighted attention's, with R(A_b) for A_b.
  const torch::Tensor c = gradient_weighted_rollout(attention_relevances(model, trace, cls), g);
  return c[0].slice(0, 1).detach();
}

}  // namespace pm::nn
