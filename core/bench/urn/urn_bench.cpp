// SPDX-License-Identifier: MIT
// The URN uncertainty pass per image (lattice build, the C-label CRF for M_c, the K·6 scaled CRFs,
// variance and weights) on real VOC images with a real network's probabilities
// (tests/data/voc_sample, ESPNetv2, 21 classes):
//  - BM_UrnVocImage: 2007_000063, 500×375 (the VOC size), K = 5 present classes (30 scaled CRFs),
//    1 and 2 threads inside the image;
//  - BM_UrnVocSample: all eight sample images per iteration (K = 1..5, mean 2.75), the per-image
//    mean to extrapolate to VOC train_aug (items_per_second = images per second, one thread);
//  - BM_UrnProbMode: the Table 5 probability baseline (M_c only).
// The reference (pydensecrf, lattices rebuilt per CRF) takes 7.25 s for one VOC-sized image with
// K = 3 (docs/performance-anchors.md).
#include <benchmark/benchmark.h>

#include "pseudomask/core/common/memory.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/urn/uncertainty.h"

namespace pm {
namespace {

// As the pseudomask program does at start-up (see keep_freed_memory_for_reuse).
const bool kAllocatorTuned = (keep_freed_memory_for_reuse(), true);

const std::string kSampleDir = std::string(PM_TEST_DATA_DIR) + "/voc_sample/";

struct Input {
  RgbImage image;
  Planes probs;
};

Input load(const std::string& id) {
  Input in;
  in.image = read_image(kSampleDir + "JPEGImages/" + id + ".jpg");
  in.probs = read_urn_probabilities(kSampleDir + "probs_espnetv2/" + id + ".npz",
                                    in.image.width,
                                    in.image.height,
                                    /*logits=*/false,
                                    /*expected_classes=*/21);
  return in;
}

// One image's whole URN job, lattice build included, as the CLI runs it.
UrnResult urn_job(const Input& in, const UrnOptions& options, int threads, CrfWorkspace& ws) {
  const DenseCrf2D crf(in.image, options.crf, threads);
  return compute_urn(crf, in.probs, options, &ws);
}

void BM_UrnVocImage(benchmark::State& state) {
  const Input in = load("2007_000063");
  const UrnOptions options = UrnOptions::preset(UrnDataset::kVoc);
  CrfWorkspace ws;  // as a batch command keeps one per thread
  size_t k = 0;
  for (auto _ : state) {
    const UrnResult r = urn_job(in, options, static_cast<int>(state.range(0)), ws);
    k = r.present.size();
    benchmark::DoNotOptimize(r.weight.data());
  }
  state.counters["K"] = static_cast<double>(k);
}
BENCHMARK(BM_UrnVocImage)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_UrnVocSample(benchmark::State& state) {
  std::vector<Input> inputs;
  for (const char* id : {"2007_000032",
                         "2007_000061",
                         "2007_000063",
                         "2007_000129",
                         "2007_000175",
                         "2007_000363",
                         "2007_000648",
                         "2007_001311"})
    inputs.push_back(load(id));
  const UrnOptions options = UrnOptions::preset(UrnDataset::kVoc);
  CrfWorkspace ws;
  for (auto _ : state) {
    for (const Input& in : inputs)
      benchmark::DoNotOptimize(urn_job(in, options, /*threads=*/1, ws).weight.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * inputs.size()));
}
BENCHMARK(BM_UrnVocSample)->Unit(benchmark::kMillisecond);

void BM_UrnProbMode(benchmark::State& state) {
  const Input in = load("2007_000063");
  UrnOptions options = UrnOptions::preset(UrnDataset::kVoc);
  options.mode = UrnWeightMode::kProb;
  CrfWorkspace ws;
  for (auto _ : state)
    benchmark::DoNotOptimize(urn_job(in, options, /*threads=*/1, ws).weight.data());
}
BENCHMARK(BM_UrnProbMode)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pm
