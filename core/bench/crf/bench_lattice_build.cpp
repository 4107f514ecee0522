// SPDX-License-Identifier: MIT
// PermutohedralLattice::build alone on the CRF presets' lattices: URN's two lattices at VOC size
// (Gaussian, sxy = 1: about 1.2 vertices per pixel, the largest hash table; bilateral: about 0.5)
// and DeepLab's two lattices on im1 (few vertices, most points hit the simplex cache).
#include <benchmark/benchmark.h>

#include "pseudomask/core/common/resize.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/io/image/image_io.h"

namespace pm {
namespace {

void build_lattice(benchmark::State& state, const RgbImage& image, const PairwiseTerm& term) {
  const std::vector<float> f = crf_features(image, term);
  const int d = term.bilateral() ? 5 : 2;
  for (auto _ : state)
    benchmark::DoNotOptimize(PermutohedralLattice::build(f.data(), image.num_pixels(), d));
}

RgbImage im1() {
  return read_image(std::string(PM_TEST_DATA_DIR) + "/crf/im1.png");
}

void BM_LatticeBuildUrnGaussianVocSize(benchmark::State& state) {
  build_lattice(
      state, resize_bilinear(im1(), 500, 375), CrfParams::preset(CrfPreset::kUrn).terms[0]);
}
BENCHMARK(BM_LatticeBuildUrnGaussianVocSize)->Unit(benchmark::kMillisecond);

void BM_UrnLatticeBuildVocSize(benchmark::State& state) {
  build_lattice(
      state, resize_bilinear(im1(), 500, 375), CrfParams::preset(CrfPreset::kUrn).terms[1]);
}
BENCHMARK(BM_UrnLatticeBuildVocSize)->Unit(benchmark::kMillisecond);

void BM_LatticeBuildDeepLabIm1(benchmark::State& state) {
  const int term = static_cast<int>(state.range(0));
  build_lattice(
      state, im1(), CrfParams::preset(CrfPreset::kDeepLab).terms[static_cast<size_t>(term)]);
}
BENCHMARK(BM_LatticeBuildDeepLabIm1)
    ->ArgName("bilateral")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pm
