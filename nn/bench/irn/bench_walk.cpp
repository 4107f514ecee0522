// SPDX-License-Identifier: MIT
// IRN's random walk at VOC size (a 500x375 image's 125x94 stride-4 maps, K = 3 classes, radius 5,
// beta 10, 2^8 steps) through random_walk_batch on the CPU, one image and a batch of 8, beside
// core's BM_IrnRandomWalkVocSize (core/bench/irn); the cuda variants run where a CUDA libtorch
// sees a GPU and report an error otherwise.
#include <benchmark/benchmark.h>
#include <torch/cuda.h>

#include <cmath>

#include "pseudomask/nn/irn/walk.h"

namespace pm::nn {
namespace {

constexpr int kH = 94;
constexpr int kW = 125;

std::vector<float> boundary_field() {
  std::vector<float> b(static_cast<size_t>(kH) * kW);
  for (int y = 0; y < kH; ++y) {
    for (int x = 0; x < kW; ++x) {
      const bool wall = x % 40 == 20 || y % 30 == 15;
      b[static_cast<size_t>(y) * kW + x] =
          wall ? 0.9f : 0.1f * static_cast<float>(0.5 + 0.5 * std::sin(0.3 * x + 0.2 * y));
    }
  }
  return b;
}

void walk_batch(benchmark::State& state, bool cuda) {
  if (cuda && !torch::cuda::is_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const std::vector<float> b = boundary_field();
  Planes cams(3, kH, kW);
  for (size_t i = 0; i < cams.size(); ++i)
    cams.values()[i] = static_cast<float>(0.5 + 0.5 * std::cos(0.01 * static_cast<double>(i)));
  const std::vector<WalkImage> batch(static_cast<size_t>(state.range(0)), WalkImage{&cams, &b});
  const torch::Device device = cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  for (auto _ : state)
    benchmark::DoNotOptimize(random_walk_batch(batch, RandomWalkOptions{}, device).data());
  state.counters["images_per_s"] = benchmark::Counter(
      static_cast<double>(state.range(0)), benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_CAPTURE(walk_batch, cpu, false)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(walk_batch, cuda, true)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pm::nn
