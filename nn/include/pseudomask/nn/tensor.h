// SPDX-License-Identifier: MIT
#pragma once

#include <torch/types.h>

#include <string>

#include "pseudomask/core/common/ndarray.h"
#include "pseudomask/core/common/planes.h"

namespace pm::nn {

/// Copies a core array into a CPU tensor of the same shape and dtype (float16 → kHalf,
/// bool → kBool, unsigned 16/32/64-bit → the signed type of the same width is refused).
torch::Tensor to_tensor(const NDArray& array);

/// Copies planes into a (C, H, W) float32 CPU tensor.
torch::Tensor to_tensor(const Planes& planes);

/// Copies a tensor (any device, any strides) into a C-order core array of the same dtype.
NDArray to_ndarray(const torch::Tensor& tensor);

/// Copies a (C, H, W) tensor (any device, strides and floating dtype) into float32 Planes.
Planes to_planes(const torch::Tensor& tensor);

/// Parses "cpu", "cuda" or "cuda:N"; throws pm::Error (naming `DeviceSpec`) when CUDA is asked for
/// but the libtorch in use has no CUDA device, instead of silently running on the CPU.
torch::Device parse_device(const std::string& spec);

}  // namespace pm::nn
