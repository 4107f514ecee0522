// SPDX-License-Identifier: MIT
#include <torch/torch.h>

#include <algorithm>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/ndarray.h"
#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/irn/irn_net.h"

namespace pm::nn {
namespace {

/// Puts a module in eval mode for a scope and restores its mode after.
class EvalScope {
 public:
  explicit EvalScope(torch::nn::Module& m) : module_(m), was_training_(m.is_training()) {
    module_.eval();
  }
  ~EvalScope() { module_.train(was_training_); }
  EvalScope(const EvalScope&) = delete;
  EvalScope& operator=(const EvalScope&) = delete;

 private:
  torch::nn::Module& module_;
  bool was_training_;
};

/// Whether the file is one of our classifier checkpoints (keys "backbone.<torchvision name>").
bool has_backbone_prefix(const Checkpoint& ckpt) {
  return std::any_of(ckpt.tensors.begin(), ckpt.tensors.end(), [](const auto& t) {
    return t.first.rfind("backbone.", 0) == 0;
  });
}

/// Whether the file is the public IRN code's trained network (AffinityDisplacement's state dict:
/// the backbone as "resnet50.*").
bool has_public_irn_layout(const Checkpoint& ckpt) {
  return std::any_of(ckpt.tensors.begin(), ckpt.tensors.end(), [](const auto& t) {
    return t.first.rfind("resnet50.", 0) == 0;
  });
}

/// The public code's layout: resnet50.* is our backbone; the same modules saved again under
/// IRN's aliases (stage1..5, backbone.<stage index>, edge_layers, dp_layers) and its path-index
/// tensors are left out.
LoadRules public_irn_rules() {
  LoadRules r;
  r.renames = {{"resnet50.", "backbone.", false}};
  r.ignore_prefixes = {
      "stage", "backbone.", "edge_layers.", "dp_layers.", "path_indices", "ind_from", "ind_to"};
  r.allow_missing_suffixes = {"num_batches_tracked"};
  return r;
}

}  // namespace

torch::Tensor irn_boundary(IrnNet& net, const torch::Tensor& image) {
  PM_CHECK(image.defined() && image.dim() == 3 && image.size(0) == 3,
           "irn_boundary: expected an image (3, H, W), got {}",
           image.defined() ? shape_string(image.sizes().vec()) : std::string("none"));
  EvalScope eval(*net);
  torch::NoGradGuard no_grad;
  const torch::Device device = net->fc_edge6->weight.device();
  const torch::Tensor x = image.to(device, torch::kFloat);
  const torch::Tensor edge = net->forward(torch::stack({x, x.flip({2})})).edge;
  // EdgeDisplacement: the sigmoid of the mean of the two logit maps, the flip's flipped back.
  const torch::Tensor mean_logits = edge[0][0] / 2 + edge[1][0].flip({1}) / 2;
  return torch::sigmoid(mean_logits).to(torch::kCPU).contiguous();
}

void load_irn_backbone(IrnNet& net, const std::string& torchvision_pth) {
  const Checkpoint ckpt = read_checkpoint(torchvision_pth);
  LoadRules rules = torchvision_resnet_rules();
  if (has_backbone_prefix(ckpt)) {
    // A `pseudomask train-cls` ResNet: its backbone.* is torchvision's network; the head trained
    // on image-level labels is left out.
    rules.renames.push_back({"backbone.", "", false});
    rules.ignore_prefixes.push_back("classifier.");
  }
  load_state_dict(*net->backbone, ckpt, rules, torchvision_pth, true);
}

}  // namespace pm::nn

namespace pm::nn {

void load_irn_weights(IrnNet& net, const std::string& path) {
  const Checkpoint ckpt = read_checkpoint(path);
  load_state_dict(*net, ckpt, has_public_irn_layout(ckpt) ? public_irn_rules() : LoadRules{}, path);
}

}  // namespace pm::nn
