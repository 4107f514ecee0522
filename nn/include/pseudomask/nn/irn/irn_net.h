// SPDX-License-Identifier: MIT
#pragma once

// IRN's network (Ahn, Cho & Kwak, CVPR 2019; the public code's net/resnet50_irn.py Net): a frozen
// ResNet-50 at strides (2, 2, 2, 1) (output stride 16, no dilation, frozen BatchNorm) whose five
// levels feed two trainable branches at 1/4 resolution: the class-boundary (edge) branch and the
// displacement-field branch. Its losses (step/train_irn.py) and the boundary map its inference
// computes (step/make_sem_seg_labels.py with EdgeDisplacement).

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <string>
#include <vector>

#include "pseudomask/core/irn/path_index.h"
#include "pseudomask/nn/backbones/resnet.h"

namespace pm::nn {

/// What IrnNet is built from.
struct IrnNetOptions {
  /// "resnet50" (IRN: ResNetOptions::resnet50() at output stride 16, frozen BatchNorm) or
  /// "resnet-tiny" (ResNetOptions::tiny() at the same strides: tests and the synthetic demo).
  std::string backbone = "resnet50";
  /// Channels of each of the edge branch's five levels (fc_edge1..5); 0 = the backbone's default:
  /// IRN's 32 for resnet50, 8 for resnet-tiny (whose stages are 1/8 as wide). A multiple of 4
  /// (GroupNorm with IRN's 4 groups).
  int edge_width = 0;
  /// Channels of the displacement branch's deep layers (fc_dp3..7); fc_dp1 has a quarter, fc_dp2
  /// half of it. 0 = the backbone's default: IRN's 256 for resnet50, 64 for resnet-tiny. A
  /// multiple of 32 (GroupNorm with IRN's 8 groups on fc_dp1, 16 on the others).
  int dp_width = 0;

  /// Throws pm::Error naming the field.
  void validate() const;
  /// The backbone's options: ResNet-50 or the tiny ResNet, output stride 16, no dilation, frozen
  /// BatchNorm, no fc.
  ResNetOptions resnet_options() const;
  /// edge_width, or its default for the backbone when 0.
  int resolved_edge_width() const;
  /// dp_width, or its default for the backbone when 0.
  int resolved_dp_width() const;
};

/// The network's outputs at 1/4 of the input size.
struct IrnOutputs {
  torch::Tensor edge;          ///< (N, 1, ceil(H/4), ceil(W/4)) logits (before sigmoid)
  torch::Tensor displacement;  ///< (N, 2, ceil(H/4), ceil(W/4)): channel 0 is y, 1 is x
};

/// IRN's Net.MeanShift: a BatchNorm without affine parameters that in training only updates its
/// running statistics (momentum 0.1) and returns its input unchanged, and in eval subtracts the
/// running mean. Buffers running_mean, running_var, num_batches_tracked as BatchNorm2d's.
struct MeanShiftImpl : torch::nn::Module {
  explicit MeanShiftImpl(int channels, double momentum = 0.1);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor running_mean, running_var, num_batches_tracked;

 private:
  double momentum_;
};
TORCH_MODULE(MeanShift);

/// IRN's Net. Parameter names: "backbone." + torchvision's ResNet names; the branches as IRN
/// names them (fc_edge1..5 = Sequential{0: conv, 1: GroupNorm, 2: Upsample or ReLU, ...},
/// fc_edge6 a conv; fc_dp1..7, fc_dp7.3 the last conv and fc_dp7.4 the MeanShift), so an IRN
/// checkpoint's branch keys load by name.
struct IrnNetImpl : torch::nn::Module {
  explicit IrnNetImpl(const IrnNetOptions& options);

  /// images: (N, 3, H, W) ImageNet-normalised. The backbone runs without gradient (IRN detaches
  /// every stage's output).
  IrnOutputs forward(const torch::Tensor& images);
  /// The edge branch's parameters (IRN's trainable_parameters()[0], lr × 1).
  std::vector<torch::Tensor> edge_parameters();
  /// The displacement branch's parameters (IRN's trainable_parameters()[1], lr × 10).
  std::vector<torch::Tensor> displacement_parameters();
  /// Module::train, then the backbone back in eval mode (IRN's train()); the backbone's
  /// parameters never require gradients.
  void train(bool on = true) override;

  const IrnNetOptions& options() const { return options_; }

  ResNet backbone{nullptr};
  torch::nn::Sequential fc_edge1{nullptr}, fc_edge2{nullptr}, fc_edge3{nullptr}, fc_edge4{nullptr},
      fc_edge5{nullptr};
  torch::nn::Conv2d fc_edge6{nullptr};
  torch::nn::Sequential fc_dp1{nullptr}, fc_dp2{nullptr}, fc_dp3{nullptr}, fc_dp4{nullptr},
      fc_dp5{nullptr}, fc_dp6{nullptr}, fc_dp7{nullptr};

 private:
  IrnNetOptions options_;
};
TORCH_MODULE(IrnNet);

/// Pair labels of a batch at the stride-4 crop size (float 0/1), each (N, D, S) in PathIndex's
/// (direction, source) order.
struct IrnPairLabels {
  torch::Tensor bg_pos, fg_pos, neg;
};

/// IRN's losses (scalars), as step/train_irn.py computes them.
struct IrnLosses {
  torch::Tensor
      pos_aff;  ///< (bg_pos + fg_pos) / 2, each −Σ label·log(aff + 1e-5) / (Σ label + 1e-5)
  torch::Tensor neg_aff;  ///< −Σ neg·log(1 + 1e-5 − aff) / (Σ neg + 1e-5)
  torch::Tensor dp_fg;    ///< Σ |disp − (dy, dx)|·fg_pos / (2 Σ fg_pos + 1e-5)
  torch::Tensor dp_bg;    ///< Σ |disp|·bg_pos / (2 Σ bg_pos + 1e-5)
  torch::Tensor total;    ///< (pos_aff + neg_aff) / 2 + (dp_fg + dp_bg) / 2
};

/// IRN's losses of the network's outputs on a batch's pair labels. aff = 1 − the largest
/// sigmoid(edge) on each pair's path (differentiable as IRN's max-pool: the gradient goes to the
/// path's first maximum); disp = displacement at the source − at the destination. Throws
/// pm::Error when the outputs are not the index's height×width or the labels not (N, D, S).
IrnLosses irn_losses(const IrnOutputs& outputs,
                     const IrnPairLabels& labels,
                     const PathIndex& index);

/// The pair affinities of a batch of edge logits (N, 1, H, W) (the index's size): (N, D, S),
/// 1 − the largest sigmoid(edge) on each pair's path (the torch version of core's
/// edge_to_affinity; differentiable).
torch::Tensor irn_affinity(const torch::Tensor& edge_logits, const PathIndex& index);

/// The displacement differences of a batch (N, 2, H, W) (the index's size): (N, 2, D, S), the
/// displacement at each source minus the one at its destination (IRN's to_displacement).
torch::Tensor irn_pair_displacement(const torch::Tensor& displacement, const PathIndex& index);

namespace detail {
/// The flat pixel index (N, D, S) of the first maximum of `prob` (N, H, W) on each pair's path
/// (destination first), by tensor operations on any device. irn_affinity uses it off the CPU
/// and a direct loop on the CPU; exposed so that a test can compare the two.
torch::Tensor path_argmax_tensor_ops(const torch::Tensor& prob, const PathIndex& index);
}  // namespace detail

/// Boundary map of one image as make_sem_seg_labels computes it (EdgeDisplacement): the image and
/// its horizontal flip as a batch of 2 in eval mode, sigmoid of the mean of the edge logits and
/// the flipped-back edge logits. image: (3, H, W) normalised, any device (moved to the net's).
/// Returns (ceil(H/4), ceil(W/4)) float in [0, 1] on the CPU. The net's train mode is restored.
torch::Tensor irn_boundary(IrnNet& net, const torch::Tensor& image);

/// Loads torchvision resnet50 weights (resnet50-19c8e357.pth or resnet50-0676ba61.pth: fc
/// ignored, num_batches_tracked may be missing) into the backbone by name, or the backbone of a
/// `pseudomask train-cls` checkpoint of the same ResNet (keys "backbone.<torchvision name>", its
/// "classifier." head ignored: how the demo starts resnet-tiny); throws pm::Error naming the file
/// when it cannot be read or does not match.
void load_irn_backbone(IrnNet& net, const std::string& torchvision_pth);

/// Loads a whole trained network: a checkpoint with IrnNet's own keys (state_dict_of(net)), or
/// the public IRN code's trained res50_irn.pth (AffinityDisplacement's state dict: "resnet50.*"
/// is loaded as "backbone.*", the branches by their shared fc_edge*/fc_dp* names; IRN's aliases
/// of the same modules and its path-index tensors are ignored). Strict: throws pm::Error naming
/// the file on a missing, unexpected or mismatched tensor.
void load_irn_weights(IrnNet& net, const std::string& path);

}  // namespace pm::nn
