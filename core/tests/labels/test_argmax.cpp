// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <cmath>

#include "../support/expect_error.h"
#include "../support/test_paths.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/core/labels/argmax.h"

namespace pm {
namespace {

TEST(LabelsArgmax, PlainArgmaxLowestLabelWinsTiesAnyFloatType) {
  test::TempDir dir("argmax");
  // 3 labels, 1x4 image: pixel 0 → 2, pixel 1 tie 0/1 → 0, pixel 2 → 1, pixel 3 tie 1/2 → 1.
  const std::vector<float> p = {0.1f,
                                0.4f,
                                0.2f,
                                0.1f,  //
                                0.2f,
                                0.4f,
                                0.7f,
                                0.45f,
                                0.7f,
                                0.2f,
                                0.1f,
                                0.45f};
  write_npy(dir / "f32.npy", NDArray::from(p, {3, 1, 4}));
  EXPECT_EQ(argmax_probability_file(dir / "f32.npy").labels, (std::vector<uint8_t>{2, 0, 1, 1}));
  // np.savez_compressed's one-array .npz reads like the .npy.
  write_npz(dir / "f32.npz", {{"probs", NDArray::from(p, {3, 1, 4})}}, /*compress=*/true);
  EXPECT_EQ(argmax_probability_file(dir / "f32.npz").labels, (std::vector<uint8_t>{2, 0, 1, 1}));
  std::vector<double> d(p.begin(), p.end());
  NDArray f64(DType::kF64, {3, 4});
  for (size_t i = 0; i < d.size(); ++i)
    f64.data<double>()[i] = d[i];
  write_npy(dir / "f64.npy", f64);
  const LabelMap flat = argmax_probability_file(dir / "f64.npy", 2, 2);  // (C, H·W) at 2x2
  EXPECT_EQ(flat.width, 2);
  EXPECT_EQ(flat.labels, (std::vector<uint8_t>{2, 0, 1, 1}));
}

TEST(LabelsArgmax, WrongShapeNaNAndIntegersNameTheFile) {
  test::TempDir dir("argmax_bad");
  write_npy(dir / "small.npy", NDArray::from(std::vector<float>(6, 0.5f), {2, 1, 3}));
  test::expect_error([&] { argmax_probability_file(dir / "small.npy", 4, 1); },
                     {"small.npy", "(C, 1, 4)"});
  write_npy(dir / "flat.npy", NDArray::from(std::vector<float>(6, 0.5f), {2, 3}));
  test::expect_error([&] { argmax_probability_file(dir / "flat.npy"); }, {"flat.npy", "(C, H, W)"});
  write_npy(dir / "nan.npy", NDArray::from(std::vector<float>{0.5f, NAN}, {2, 1, 1}));
  test::expect_error([&] { argmax_probability_file(dir / "nan.npy"); }, {"nan.npy", "NaN"});
  write_npy(dir / "int.npy", NDArray(DType::kU8, {2, 1, 1}));
  test::expect_error([&] { argmax_probability_file(dir / "int.npy"); }, {"int.npy", "float"});
  write_npy(dir / "wide.npy", NDArray::from(std::vector<float>(256, 0.5f), {256, 1, 1}));
  test::expect_error([&] { argmax_probability_file(dir / "wide.npy"); },
                     {"wide.npy", "256 planes"});
}

}  // namespace
}  // namespace pm
