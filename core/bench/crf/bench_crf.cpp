// SPDX-License-Identifier: MIT
// The dense-CRF measurements of docs/performance-anchors.md, single thread, 10 iterations:
//  - one CRF on im1 (320×240) with DeepLab parameters and 2 / 3 / 21 labels, lattice build
//    included (reference bar: 72 / 93 / 125 ms);
//  - the URN job on one image (1 CRF with 21 labels + 18 CRFs with 3 labels, URN parameters) on
//    im1 and on im1 resized to 500×375 (reference bar: 2.91 s and 7.25 s).
#include <benchmark/benchmark.h>

#include "../../tests/support/crf_reference.h"
#include "pseudomask/core/common/memory.h"
#include "pseudomask/core/common/resize.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/numpy/npy.h"

namespace pm {
namespace {

// As the pseudomask program does at start-up (see keep_freed_memory_for_reuse).
const bool kAllocatorTuned = (keep_freed_memory_for_reuse(), true);

const std::string kCrfDir = std::string(PM_TEST_DATA_DIR) + "/crf/";

RgbImage im1() {
  return read_image(kCrfDir + "im1.png");
}

// The reference's unary, derived from its annotation (tests/data/crf/reference/README.md).
Unary reference_unary(int labels) {
  return test::reference_unary(kCrfDir, 1, labels);
}

// The reference unary planes resized to w×h (bilinear), for the VOC-sized URN case.
Unary resized_unary(int labels, int w, int h) {
  return resize_planes_bilinear(reference_unary(labels), h, w);
}

void BM_CrfDeepLabIm1(benchmark::State& state) {
  const RgbImage image = im1();
  const Unary unary = reference_unary(static_cast<int>(state.range(0)));
  CrfWorkspace ws;  // as a batch command keeps one per thread
  for (auto _ : state) {
    const DenseCrf2D crf(image, CrfParams::preset(CrfPreset::kDeepLab));
    benchmark::DoNotOptimize(crf.infer(unary, &ws, CrfOutputs::kLabels));
  }
}
BENCHMARK(BM_CrfDeepLabIm1)
    ->ArgName("labels")
    ->Arg(2)
    ->Arg(3)
    ->Arg(21)
    ->Unit(benchmark::kMillisecond);

// The whole URN uncertainty job's CRF work for one image: lattices built once, the 21-label CRF
// for M_c, then the 18 three-label CRFs of the response-scaled maps as one batch.
void urn_job(benchmark::State& state,
             const RgbImage& image,
             const Unary& full,
             const Unary& scaled,
             int threads = 1,
             bool specialised = true) {
  const std::vector<const Unary*> batch(18, &scaled);
  // One workspace serves every image of a batch run (the CLI keeps one per thread): warm it up
  // first, so that the timed iterations see the steady state rather than first-touch page faults.
  CrfWorkspace ws;
  {
    DenseCrf2D crf(image, CrfParams::preset(CrfPreset::kUrn));
    crf.infer(full, &ws, CrfOutputs::kLabels);
    crf.infer_batch(batch, /*max_group_channels=*/64, &ws, CrfOutputs::kLabels);
  }
  for (auto _ : state) {
    DenseCrf2D crf(image, CrfParams::preset(CrfPreset::kUrn), threads);
    crf.set_specialised_kernels(specialised);
    benchmark::DoNotOptimize(crf.infer(full, &ws, CrfOutputs::kLabels));
    benchmark::DoNotOptimize(
        crf.infer_batch(batch, /*max_group_channels=*/64, &ws, CrfOutputs::kLabels));
  }
}

void BM_UrnJobIm1(benchmark::State& state) {
  urn_job(state, im1(), reference_unary(21), reference_unary(3));
}
BENCHMARK(BM_UrnJobIm1)->Unit(benchmark::kMillisecond);

void BM_UrnJobVocSize(benchmark::State& state) {
  urn_job(state,
          resize_bilinear(im1(), 500, 375),
          resized_unary(21, 500, 375),
          resized_unary(3, 500, 375));
}
BENCHMARK(BM_UrnJobVocSize)->Unit(benchmark::kMillisecond);

// The same with the plain mean-field step only (no crf/kernels/ specialisation): what the
// specialised kernels buy (issue 16 keeps a specialisation only if this difference is beyond
// noise).
void BM_UrnJobVocSizePlainStep(benchmark::State& state) {
  urn_job(state,
          resize_bilinear(im1(), 500, 375),
          resized_unary(21, 500, 375),
          resized_unary(3, 500, 375),
          /*threads=*/1,
          /*specialised=*/false);
}
BENCHMARK(BM_UrnJobVocSizePlainStep)->Unit(benchmark::kMillisecond);

// The same with both cores inside the one image (the two lattices are built side by side).
void BM_UrnJobVocSize2Threads(benchmark::State& state) {
  urn_job(state,
          resize_bilinear(im1(), 500, 375),
          resized_unary(21, 500, 375),
          resized_unary(3, 500, 375),
          /*threads=*/2);
}
BENCHMARK(BM_UrnJobVocSize2Threads)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace pm

namespace pm {
namespace {

// One splat + blur of the URN job's 18 three-label CRFs' rows (54 channels, padded to 56) on its
// dense bilateral lattice at VOC size (its build: bench_lattice_build.cpp).
void BM_UrnSplatBlurVocSize(benchmark::State& state) {
  const RgbImage image = resize_bilinear(im1(), 500, 375);
  const PairwiseTerm term = CrfParams::preset(CrfPreset::kUrn).terms[1];
  const std::vector<float> f = crf_features(image, term);
  const PermutohedralLattice lattice = PermutohedralLattice::build(f.data(), image.num_pixels(), 5);
  constexpr int kChannels = 56;
  const std::vector<float> in(image.num_pixels() * kChannels, 1.0f / 3.0f);
  LatticeWorkspace ws;
  lattice.splat_and_blur(in.data(), nullptr, kChannels, ws);  // first-touch page faults
  for (auto _ : state) {
    lattice.splat_and_blur(in.data(), nullptr, kChannels, ws);
    benchmark::DoNotOptimize(ws.values.data());
  }
}
BENCHMARK(BM_UrnSplatBlurVocSize)->Unit(benchmark::kMillisecond);

void BM_CrfBuildOnly(benchmark::State& state) {
  const RgbImage image = im1();
  for (auto _ : state)
    benchmark::DoNotOptimize(DenseCrf2D(image, CrfParams::preset(CrfPreset::kDeepLab)));
}
BENCHMARK(BM_CrfBuildOnly)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pm
