// SPDX-License-Identifier: MIT
// Decoding / encoding speed of the image and label-PNG I/O on the real VOC sample.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"

namespace {

const std::string kVoc = std::string(PM_TEST_DATA_DIR) + "/voc_sample";

void BM_DecodeVocJpeg(benchmark::State& state) {
  const std::vector<uint8_t> bytes = pm::read_file_bytes(kVoc + "/JPEGImages/2007_000032.jpg");
  for (auto _ : state) {
    pm::RgbImage image = pm::decode_image(bytes.data(), bytes.size(), "2007_000032.jpg");
    benchmark::DoNotOptimize(image.pixels.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeVocJpeg)->Unit(benchmark::kMicrosecond);

void BM_DecodeVocLabelPng(benchmark::State& state) {
  const std::vector<uint8_t> bytes =
      pm::read_file_bytes(kVoc + "/SegmentationClass/2007_000032.png");
  for (auto _ : state) {
    pm::LabelMap labels = pm::decode_label_png(bytes.data(), bytes.size(), "2007_000032.png");
    benchmark::DoNotOptimize(labels.labels.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeVocLabelPng)->Unit(benchmark::kMicrosecond);

void BM_EncodeVocLabelPng(benchmark::State& state) {
  const pm::LabelMap labels = pm::read_label_png(kVoc + "/SegmentationClass/2007_000032.png");
  for (auto _ : state) {
    std::vector<uint8_t> bytes = pm::encode_label_png(labels, pm::LabelPngColors::kVocPalette);
    benchmark::DoNotOptimize(bytes.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeVocLabelPng)->Unit(benchmark::kMicrosecond);

}  // namespace
