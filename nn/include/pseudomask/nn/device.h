// SPDX-License-Identifier: MIT
#pragma once

namespace pm::nn {

/// Whether the libtorch in use was built with CUDA (its CUDA library is loaded), whether or not
/// this machine has a GPU. parse_device (tensor.h) uses it to say which of the two is missing
/// when `--device cuda` cannot be had: CUDA in this build (a CPU-only libtorch), or a usable GPU.
bool libtorch_has_cuda();

}  // namespace pm::nn
