// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <torch/cuda.h>
#include "pseudomask/core/common/half.h"

#include "pseudomask/nn/device.h"
#include "pseudomask/nn/tensor.h"

namespace pm::nn {
namespace {

TEST(NnTensor, RoundTripKeepsValuesShapeAndDtype) {
  const NDArray a = NDArray::from<float>({1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f}, {2, 3});
  const torch::Tensor t = to_tensor(a);
  EXPECT_EQ(t.sizes().vec(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(t[1][0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(t[0][2].item<float>(), 3.25f);
  const NDArray back = to_ndarray(t.t());  // non-contiguous view
  EXPECT_EQ(back.shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_FLOAT_EQ(back.data<float>()[1], 0.0f);   // [0][1] of the transpose = a[1][0]
  EXPECT_FLOAT_EQ(back.data<float>()[2], -2.0f);  // [1][0] of the transpose = a[0][1]
}

TEST(NnTensor, HalfBitsArePreserved) {
  NDArray h(DType::kF16, {3});
  uint16_t* bits = reinterpret_cast<uint16_t*>(h.raw());
  bits[0] = float_to_half(0.5f);
  bits[1] = float_to_half(-65504.0f);
  bits[2] = 0x0001;  // smallest subnormal
  const torch::Tensor t = to_tensor(h);
  EXPECT_EQ(t.scalar_type(), torch::kHalf);
  EXPECT_FLOAT_EQ(t[0].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(t[1].item<float>(), -65504.0f);
  EXPECT_FLOAT_EQ(t[2].item<float>(), 5.9604644775390625e-8f);
}

TEST(NnTensor, DeviceParsing) {
  EXPECT_EQ(parse_device("cpu").type(), torch::kCPU);
  EXPECT_THROW(parse_device("tpu"), Error);
  if (!torch::cuda::is_available()) {
    EXPECT_THROW(parse_device("cuda"), Error);
  }
}

// A CPU-only libtorch (Debian's, this project's default) says that the build lacks CUDA; a CUDA
// build on a machine without a GPU says that the machine has none.
TEST(NnTensor, CudaRefusalSaysWhetherTheBuildOrTheMachineLacksIt) {
  if (torch::cuda::is_available())
    GTEST_SKIP() << "a GPU is usable here";
  std::string message;
  try {
    parse_device("cuda:0");
  } catch (const Error& e) {
    message = e.what();
  }
  if (libtorch_has_cuda()) {
    EXPECT_NE(
        message.find("DeviceSpec cuda:0: the build has CUDA but this machine has no usable GPU"),
        std::string::npos)
        << message;
  } else {
    EXPECT_NE(message.find("DeviceSpec cuda:0: this build lacks CUDA (its libtorch is CPU-only)"),
              std::string::npos)
        << message;
  }
}

}  // namespace
}  // namespace pm::nn
