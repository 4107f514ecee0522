// SPDX-License-Identifier: MIT
// Tests of the CAM-file reader and writer on files written by real numpy
// 1.24 / torch 1.13 (tests/fixtures/make_cam_fixtures.py). Expected values are recomputed here
// from the formulas of that script: maps are np.arange(n) * scale + offset.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "../support/expect_error.h"
#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/numpy/npy.h"

namespace pm {
namespace {

constexpr int64_t kH = 7, kW = 9;  // image size of the fixtures
constexpr int64_t kh = 2, kw = 3;  // stride-4 size

std::string cam_path(const std::string& name) {
  return std::string(PM_FIXTURE_DIR) + "/cams/" + name;
}

using test::error_of;

using test::ramp;

std::vector<int64_t> shape_of(const Planes& p) {
  return {p.channels(), p.height(), p.width()};
}

void expect_map(const Planes& a, const std::vector<int64_t>& shape, const std::vector<float>& v) {
  ASSERT_EQ(shape_of(a), shape) << a.describe();
  EXPECT_EQ(a.values(), v);
}

/// The IRN fixtures: keys 3 and 11, cam = ramp * 0.5, high_res = ramp * 0.25.
void expect_irn(const CamFile& cams) {
  EXPECT_EQ(cams.keys, (std::vector<int>{3, 11}));
  expect_map(cams.cam, {2, kh, kw}, ramp(2 * kh * kw, 0.5));
  expect_map(cams.high_res, {2, kH, kW}, ramp(2 * kH * kW, 0.25));
}

TEST(CamFileRead, IrnWithNumpyArrays) {
  expect_irn(read_cam_file(cam_path("irn_numpy.npy")));
}

TEST(CamFileRead, IrnWithTorchTensors) {
  expect_irn(read_cam_file(cam_path("irn_torch.npy")));
}

TEST(CamFileRead, IrnWithFloat16Tensors) {
  expect_irn(read_cam_file(cam_path("irn_torch_f16.npy")));
}

TEST(CamFileRead, IrnWithTensorViews) {
  const CamFile cams = read_cam_file(cam_path("irn_torch_views.npy"));
  EXPECT_EQ(cams.keys, (std::vector<int>{3, 11}));
  // cam = base[1:] of a (3, h, w) ramp * 0.5: storage offset h * w.
  expect_map(cams.cam, {2, kh, kw}, ramp(2 * kh * kw, 0.5, kh * kw * 0.5));
  // high_res = transpose(1, 2) of a (2, W, H) ramp * 0.25.
  std::vector<float> hr;
  for (int64_t c = 0; c < 2; ++c) {
    for (int64_t y = 0; y < kH; ++y) {
      for (int64_t x = 0; x < kW; ++x)
        hr.push_back((c * kW * kH + x * kH + y) * 0.25f);
    }
  }
  expect_map(cams.high_res, {2, kH, kW}, hr);
}

TEST(CamFileRead, UnsortedListKeysAreSortedWithTheirChannels) {
  // keys [11, 3]: channel 0 belongs to class 11, channel 1 to class 3.
  const CamFile cams = read_cam_file(cam_path("irn_list_keys_unsorted.npy"));
  EXPECT_EQ(cams.keys, (std::vector<int>{3, 11}));
  EXPECT_TRUE(cams.cam.empty());
  std::vector<float> expected = ramp(kH * kW, 0.25, kH * kW * 0.25);
  const std::vector<float> first = ramp(kH * kW, 0.25);
  expected.insert(expected.end(), first.begin(), first.end());
  expect_map(cams.high_res, {2, kH, kW}, expected);
}

TEST(CamFileRead, AmnBackgroundChannelIsDropped) {
  const CamFile cams = read_cam_file(cam_path("amn.npy"));
  EXPECT_EQ(cams.keys, (std::vector<int>{0, 4}));
  expect_map(cams.cam, {2, kh, kw}, ramp(2 * kh * kw, 0.5, kh * kw * 0.5));
  expect_map(cams.high_res, {2, kH, kW}, ramp(2 * kH * kW, 0.25, kH * kW * 0.25));
}

TEST(CamFileRead, MctformerClassMapsAreStackedInClassOrder) {
  const CamFile cams = read_cam_file(cam_path("mctformer.npy"));
  EXPECT_EQ(cams.keys, (std::vector<int>{0, 4, 11}));
  EXPECT_TRUE(cams.cam.empty());
  std::vector<float> expected;
  for (int k : {0, 4, 11}) {
    const std::vector<float> m = ramp(kH * kW, 0.125, k);
    expected.insert(expected.end(), m.begin(), m.end());
  }
  expect_map(cams.high_res, {3, kH, kW}, expected);
}

TEST(CamFileRead, PlainNpyAndNpz) {
  for (const char* name : {"plain_f8.npy", "plain.npz"}) {
    SCOPED_TRACE(name);
    const CamFile cams = read_cam_file(cam_path(name));
    EXPECT_EQ(cams.keys, (std::vector<int>{0, 1, 2}));
    expect_map(cams.high_res, {3, kH, kW}, ramp(3 * kH * kW, 0.125));
    CamReadOptions bg;
    bg.plain_has_background = true;
    const CamFile without_bg = read_cam_file(cam_path(name), bg);
    EXPECT_EQ(without_bg.keys, (std::vector<int>{0, 1}));
    expect_map(without_bg.high_res, {2, kH, kW}, ramp(2 * kH * kW, 0.125, kH * kW * 0.125));
  }
}

TEST(CamFileRead, ErrorsNameTheFileAndTheProblem) {
  struct Case {
    const char* file;
    const char* message;
  };
  for (const Case& c : {Case{"bad_channels.npy", "'high_res' has 4 channels for 2 keys"},
                        Case{"bad_duplicate_keys.npy", "class id 3 appears twice"},
                        Case{"bad_2d_high_res.npy", "expected (C, H, W)"},
                        Case{"malicious_posix.npy", "refusing to load global 'posix.system'"},
                        Case{"cls_labels_str.npy", "unrecognized CAM dict {'2007_000032'"},
                        Case{"torch_legacy.pt", "holds a int, expected a dict of CAMs"}}) {
    const std::string msg = error_of([&] { read_cam_file(cam_path(c.file)); });
    EXPECT_EQ(msg.rfind(cam_path(c.file) + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
  }
  EXPECT_NE(error_of([] { read_cam_file(cam_path("missing.npy")); }).find("missing.npy"),
            std::string::npos);
}

TEST(CamFileRead, MaliciousPickleNeverRuns) {
  // If the global were executed this would leave a file behind.
  const std::string msg = error_of([] { read_cam_file(cam_path("malicious_os_system.pkl")); });
  EXPECT_NE(msg.find("refusing to load global 'os.system'"), std::string::npos) << msg;
}

// ---------------------------------------------------------------------------------------------
// Writing.

TEST(CamFileWrite, BytesAreIdenticalToNumpySave) {
  // irn_numpy.npy was written by np.save of {'keys': int64, 'cam': f4, 'high_res': f4}.
  const std::vector<uint8_t> numpy_bytes = read_file_bytes(cam_path("irn_numpy.npy"));
  const CamFile cams = read_cam_file(cam_path("irn_numpy.npy"));
  EXPECT_EQ(encode_cam_file(cams), numpy_bytes);
}

TEST(CamFileWrite, RoundTripsThroughOurReader) {
  const std::string dir = testing::TempDir() + "/pm_cam_write";
  CamFile cams;
  cams.keys = {19, 0, 7};
  cams.high_res = Planes(3, 5, 40, ramp(3 * 5 * 40, 0.25));
  write_cam_file(dir + "/a.npy", cams);
  const CamFile back = read_cam_file(dir + "/a.npy");
  EXPECT_EQ(back.keys, (std::vector<int>{0, 7, 19}));
  EXPECT_TRUE(back.cam.empty());
  // Sorted by key: channels 1, 2, 0 of what was written.
  std::vector<float> expected;
  for (int c : {1, 2, 0}) {
    const std::vector<float> m = ramp(5 * 40, 0.25, c * 5 * 40 * 0.25);
    expected.insert(expected.end(), m.begin(), m.end());
  }
  expect_map(back.high_res, {3, 5, 40}, expected);

  // No classes at all: (0, H, W) maps are kept, so the file still says which size it had.
  CamFile none;
  none.cam = Planes(0, 2, 3);
  none.high_res = Planes(0, 7, 9);
  write_cam_file(dir + "/none.npy", none);
  const CamFile none_back = read_cam_file(dir + "/none.npy");
  EXPECT_TRUE(none_back.keys.empty());
  EXPECT_EQ(shape_of(none_back.high_res), (std::vector<int64_t>{0, 7, 9}));
  EXPECT_EQ(shape_of(none_back.cam), (std::vector<int64_t>{0, 2, 3}));
  std::filesystem::remove_all(dir);
}

TEST(CamFileWrite, RefusesInconsistentMaps) {
  CamFile cams;
  cams.keys = {1, 2};
  EXPECT_NE(error_of([&] { encode_cam_file(cams); }).find("neither"), std::string::npos);
  cams.high_res = Planes(3, 4, 4);
  EXPECT_NE(error_of([&] {
              write_cam_file(testing::TempDir() + "/x.npy", cams);
            }).find("x.npy: write_cam_file: map of shape (3, 4, 4) for 2 keys"),
            std::string::npos);
  cams.keys = {1, 1, 2};
  EXPECT_NE(error_of([&] { encode_cam_file(cams); }).find("appears twice"), std::string::npos);
}

}  // namespace
}  // namespace pm
