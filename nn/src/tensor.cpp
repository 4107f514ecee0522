// SPDX-License-Identifier: MIT
#include "pseudomask/nn/tensor.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>

#include <cstring>

#include "pseudomask/core/common/error.h"
#include "pseudomask/nn/device.h"

namespace pm::nn {
namespace {

torch::ScalarType scalar_type(DType d) {
  switch (d) {
    case DType::kBool:
      return torch::kBool;
    case DType::kU8:
      return torch::kUInt8;
    case DType::kI8:
      return torch::kInt8;
    case DType::kI16:
      return torch::kInt16;
    case DType::kI32:
      return torch::kInt32;
    case DType::kI64:
      return torch::kInt64;
    case DType::kF16:
      return torch::kHalf;
    case DType::kF32:
      return torch::kFloat32;
    case DType::kF64:
      return torch::kFloat64;
    default:
      PM_FAIL("{} arrays have no torch dtype; convert them first", dtype_name(d));
  }
}

DType core_type(torch::ScalarType t) {
  switch (t) {
    case torch::kBool:
      return DType::kBool;
    case torch::kUInt8:
      return DType::kU8;
    case torch::kInt8:
      return DType::kI8;
    case torch::kInt16:
      return DType::kI16;
    case torch::kInt32:
      return DType::kI32;
    case torch::kInt64:
      return DType::kI64;
    case torch::kHalf:
      return DType::kF16;
    case torch::kFloat32:
      return DType::kF32;
    case torch::kFloat64:
      return DType::kF64;
    default:
      PM_FAIL("tensor dtype {} has no core array type", c10::toString(t));
  }
}

}  // namespace

torch::Tensor to_tensor(const NDArray& array) {
  torch::Tensor t =
      torch::empty(array.shape(), torch::TensorOptions().dtype(scalar_type(array.dtype())));
  if (array.nbytes())
    std::memcpy(t.data_ptr(), array.raw(), array.nbytes());
  return t;
}

NDArray to_ndarray(const torch::Tensor& tensor) {
  const torch::Tensor t = tensor.to(torch::kCPU).contiguous();
  NDArray out(core_type(t.scalar_type()), t.sizes().vec());
  if (out.nbytes())
    std::memcpy(out.raw(), t.data_ptr(), out.nbytes());
  return out;
}

torch::Tensor to_tensor(const Planes& planes) {
  torch::Tensor t =
      torch::empty({planes.channels(), planes.height(), planes.width()}, torch::kFloat);
  if (planes.size())
    std::memcpy(t.data_ptr<float>(), planes.data(), planes.size() * sizeof(float));
  return t;
}

Planes to_planes(const torch::Tensor& tensor) {
  PM_CHECK(
      tensor.dim() == 3, "to_planes: tensor has {} dimensions, expected (C, H, W)", tensor.dim());
  const torch::Tensor t = tensor.to(torch::kCPU, torch::kFloat).contiguous();
  Planes out(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), static_cast<int>(t.size(2)));
  if (out.size())
    std::memcpy(out.data(), t.data_ptr<float>(), out.size() * sizeof(float));
  return out;
}

bool libtorch_has_cuda() {
  // libtorch's CUDA library registers its CUDA hooks when it is loaded; a CPU-only libtorch has
  // none (the same in libtorch 1.x and 2.x).
  return at::CUDAHooksRegistry()->Has("CUDAHooks");
}

torch::Device parse_device(const std::string& spec) {
  if (spec == "cpu")
    return torch::Device(torch::kCPU);
  PM_CHECK(spec == "cuda" || spec.rfind("cuda:", 0) == 0,
           "DeviceSpec {}: expected cpu, cuda or cuda:N",
           spec);
  PM_CHECK(
      libtorch_has_cuda(),
      "DeviceSpec {}: this build lacks CUDA (its libtorch is CPU-only); use DeviceSpec cpu, or "
      "build pseudomask against a CUDA-enabled libtorch",
      spec);
  PM_CHECK(torch::cuda::is_available(),
           "DeviceSpec {}: the build has CUDA but this machine has no usable GPU (no device, or "
           "no driver; check nvidia-smi and CUDA_VISIBLE_DEVICES); use DeviceSpec cpu",
           spec);
  const int index = spec == "cuda" ? 0 : std::stoi(spec.substr(5));
  PM_CHECK(index >= 0 && static_cast<size_t>(index) < torch::cuda::device_count(),
           "DeviceSpec {}: only {} CUDA device(s) present",
           spec,
           torch::cuda::device_count());
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

}  // namespace pm::nn
