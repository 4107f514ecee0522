// SPDX-License-Identifier: MIT
#pragma once

// Segmentation heads on a backbone's stage outputs: DeepLab-LargeFOV (v1), DeepLab-v2 (ASPP) and
// PSPNet (pyramid pooling + an FCN auxiliary head on the stage before the last).
//
// Checkpoint keys: a head is not registered on the model as one module; the model registers the
// head's children under their own names (SegModelImpl adopts them), so the keys are decode.*,
// aspp.*, ppm.*, aux.* as in every checkpoint written so far.

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <vector>

namespace pm::nn {

/// Logits at feature resolution (about 1/8 of the input); `aux` is undefined without an
/// auxiliary head or in eval mode.
struct SegOutput {
  torch::Tensor logits;
  torch::Tensor aux;
};

/// A segmentation head: class scores from the backbone's forward_stages().
struct SegHeadImpl : torch::nn::Module {
  /// stages: the backbone's stage outputs, shallowest first.
  virtual SegOutput forward(const std::vector<torch::Tensor>& stages) = 0;
};

/// DeepLab-LargeFOV (Chen et al. 2015, Sec. 3.1): fc6 (3x3, dilation 12) → fc7 (1x1) → fc8
/// classifier, ReLU and dropout 0.5 between; child "decode".
struct LargeFovHeadImpl : SegHeadImpl {
  LargeFovHeadImpl(int in_channels, int width, int num_classes);
  SegOutput forward(const std::vector<torch::Tensor>& stages) override;
  torch::nn::Sequential decode{nullptr};
};
TORCH_MODULE(LargeFovHead);

/// DeepLab-v2's ASPP-L (Chen et al. 2017, Sec. 3.3): four 3x3 classifiers at rates 6, 12, 18,
/// 24 whose class scores are summed; child "aspp".
struct AsppHeadImpl : SegHeadImpl {
  AsppHeadImpl(int in_channels, int num_classes);
  SegOutput forward(const std::vector<torch::Tensor>& stages) override;
  torch::nn::ModuleList aspp{nullptr};
};
TORCH_MODULE(AsppHead);

/// PSPNet's pyramid pooling module (Zhao et al. 2017, Sec. 3.2): adaptive average pooling to
/// bins 1, 2, 3, 6, a 1x1 conv+BN+ReLU each, upsampled and concatenated with the input.
struct PyramidPoolingImpl : torch::nn::Module {
  PyramidPoolingImpl(int in_channels, int branch_channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::ModuleList stages{nullptr};
  std::vector<int> bins{1, 2, 3, 6};
};
TORCH_MODULE(PyramidPooling);

/// PSPNet (Zhao et al. 2017) as mmsegmentation builds it: children "ppm" (pyramid pooling on the
/// last stage), "decode" (3x3 ConvModule → dropout 0.1 → 1x1 classifier) and "aux" (the same FCN
/// head on the stage before the last, train mode only).
struct PspHeadImpl : SegHeadImpl {
  /// width: the head's (and each pyramid branch's) channels; aux_width: the FCN head's.
  PspHeadImpl(int in_channels, int aux_in_channels, int width, int aux_width, int num_classes);
  SegOutput forward(const std::vector<torch::Tensor>& stages) override;
  PyramidPooling ppm{nullptr};
  torch::nn::Sequential decode{nullptr};
  torch::nn::Sequential aux{nullptr};
};
TORCH_MODULE(PspHead);

}  // namespace pm::nn
