// SPDX-License-Identifier: MIT
// Evaluation speed on VOC-sized pairs: the whole per-image path (decode two PNGs, count) over
// the 8 real VOC masks, and the counting alone.
#include <benchmark/benchmark.h>

#include "pseudomask/core/common/files.h"
#include "pseudomask/core/eval/evaluate.h"
#include "pseudomask/core/io/image/label_io.h"

namespace pm {
namespace {

const std::string kGtDir = std::string(PM_TEST_DATA_DIR) + "/voc_sample/SegmentationClass";

std::vector<std::string> sample_ids() {
  std::vector<std::string> ids;
  for (const auto& p : list_files(kGtDir, {".png"}))
    ids.push_back(file_stem(p));
  return ids;
}

// Ground truth against itself: the same decode work as against real predictions.
void BM_EvaluateLabelDirs(benchmark::State& state) {
  // 8 images repeated to make a batch long enough for the thread pool to matter.
  std::vector<std::string> ids;
  for (int r = 0; r < 8; ++r) {
    for (const auto& id : sample_ids())
      ids.push_back(id);
  }
  EvalOptions options;
  options.jobs = static_cast<int>(state.range(0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(evaluate_label_dirs(kGtDir, kGtDir, ids, options));
  }
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(ids.size()),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_EvaluateLabelDirs)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ConfusionAdd(benchmark::State& state) {
  const LabelMap gt = read_label_png(kGtDir + "/2007_000063.png");  // 500x375
  for (auto _ : state) {
    ConfusionMatrix cm(21);
    cm.add(gt, gt, "x");
    benchmark::DoNotOptimize(cm.total());
  }
  state.counters["Mpixel/s"] = benchmark::Counter(static_cast<double>(gt.num_pixels()) / 1e6,
                                                  benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ConfusionAdd)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace pm
