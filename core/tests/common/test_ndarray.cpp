// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "pseudomask/core/common/half.h"
#include "pseudomask/core/common/ndarray.h"

namespace pm {
namespace {

// Regression: a default-constructed NDArray had shape () — a 0-d array of one element — with no
// bytes, so `inspect` on a CAM file without a 'cam' member read past the end (segfault on
// MCTformer files, which carry only per-class maps).
TEST(CommonNDArray, RegressionDefaultArrayIsEmptyNotZeroDimensional) {
  const NDArray empty;
  EXPECT_EQ(empty.numel(), 0);
  EXPECT_EQ(empty.nbytes(), 0u);
  EXPECT_THROW(empty.value_at(0), Error);
  const NDArray scalar(DType::kF32, {});
  EXPECT_EQ(scalar.numel(), 1);
  EXPECT_EQ(scalar.nbytes(), 4u);
}

TEST(CommonNDArray, AstypeFollowsNumpy) {
  const NDArray a = NDArray::from<float>({-1.7f, 2.9f, 0.0f, 300.0f}, {4});
  const NDArray i = a.astype(DType::kI32);
  EXPECT_EQ(i.data<int32_t>()[0], -1);  // truncation toward zero
  EXPECT_EQ(i.data<int32_t>()[1], 2);
  const NDArray b = a.astype(DType::kBool);
  EXPECT_EQ(b.value_at(2), 0.0);
  EXPECT_EQ(b.value_at(3), 1.0);
  const NDArray h = a.astype(DType::kF16);
  EXPECT_FLOAT_EQ(static_cast<float>(h.value_at(3)), 300.0f);
  EXPECT_THROW(a.data<double>(), Error);
  EXPECT_THROW(a.reshaped({3}), Error);
  EXPECT_EQ(a.reshaped({2, 2}).describe(), "(2, 2) float32");
}

TEST(CommonHalf, RoundTripAndRoundingToNearestEven) {
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);          // rounds to infinity
  EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048), 0x3c00);  // halfway: to even
  EXPECT_EQ(float_to_half(1.0f + 3.0f / 2048), 0x3c02);  // halfway: to even (up)
  EXPECT_EQ(float_to_half(5.9604644775390625e-8f), 0x0001);
  for (uint32_t bits = 0; bits < 0x7c00; bits += 7) {
    EXPECT_EQ(float_to_half(half_to_float(static_cast<uint16_t>(bits))), bits);
  }
}

}  // namespace
}  // namespace pm
