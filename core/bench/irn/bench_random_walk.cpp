// SPDX-License-Identifier: MIT
// IRN's random walk at VOC size: a 500×375 image's stride-4 maps (125×94 = 11,750 pixels), radius
// 5, β 10, 2^8 steps, K = 3 classes, single thread. The boundary map is a smooth field with a few
// walls, so that the affinities are neither all 1 nor all 0. Counters: the sparse transition
// matrix's bytes, against the dense float32 (hw)² matrix IRN squares (before its padding).
#include <benchmark/benchmark.h>

#include <cmath>

#include "pseudomask/core/irn/random_walk.h"

namespace pm {
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

Planes cams(int k) {
  Planes p(k, kH, kW);
  for (int c = 0; c < k; ++c) {
    for (int y = 0; y < kH; ++y) {
      for (int x = 0; x < kW; ++x)
        p.at(c, y, x) = static_cast<float>(0.5 + 0.5 * std::cos(0.05 * (c + 1) * x - 0.07 * y));
    }
  }
  return p;
}

void BM_IrnTransitionMatrixVocSize(benchmark::State& state) {
  const std::vector<float> b = boundary_field();
  size_t bytes = 0;
  for (auto _ : state) {
    const TransitionMatrix t = transition_matrix(b, kH, kW, RandomWalkOptions{});
    bytes = t.memory_bytes();
    benchmark::DoNotOptimize(t.weights.data());
  }
  state.counters["sparse_MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["dense_f32_MB"] = static_cast<double>(kH) * kW * kH * kW * 4 / 1e6;
}
BENCHMARK(BM_IrnTransitionMatrixVocSize)->Unit(benchmark::kMillisecond);

void BM_IrnRandomWalkVocSize(benchmark::State& state) {
  const std::vector<float> b = boundary_field();
  const Planes c = cams(static_cast<int>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(random_walk(c, b, RandomWalkOptions{}).data());
}
BENCHMARK(BM_IrnRandomWalkVocSize)->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pm
