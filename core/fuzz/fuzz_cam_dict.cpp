// SPDX-License-Identifier: MIT
// Fuzz target: CAM files (pickled dicts in .npy, plain arrays, .npz) and cls_labels.npy.
#include "fuzz_common.h"
#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/datasets/cls_labels.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pm::CamReadOptions background;
  background.plain_has_background = true;
  pm::fuzz::run([&] { pm::decode_cam_file(data, size, "fuzz.npy"); });
  pm::fuzz::run([&] { pm::decode_cam_file(data, size, "fuzz.npy", background); });
  return pm::fuzz::run([&] { pm::decode_cls_labels(data, size, "fuzz.npy"); });
}
