// SPDX-License-Identifier: MIT
#pragma once

#include <torch/nn/modules/conv.h>

namespace pm::nn::detail {

/// The convolution of the ResNet family's blocks: no bias, "same" padding
/// (dilation · (kernel − 1) / 2), so that only the stride changes the size.
inline torch::nn::Conv2d same_conv(int in, int out, int kernel, int stride = 1, int dilation = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                               .stride(stride)
                               .padding(dilation * (kernel - 1) / 2)
                               .dilation(dilation)
                               .bias(false));
}

}  // namespace pm::nn::detail
