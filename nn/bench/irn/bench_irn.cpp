// SPDX-License-Identifier: MIT
// One IRN training step (IrnNet forward, irn_losses on radius-10 pair labels at the stride-4
// crop, backward through the branches; no optimizer update) at IRN's crop of 512×512, on the
// CPU with torch's default intra-op threads:
//   BM_IrnStepResNet50   batch 1, ResNet-50 backbone (random init: the speed does not depend on
//                        the weights), IRN's branch widths
//   BM_IrnStepTiny       batch 8, the tiny backbone and branches (the demo's network)
//   BM_IrnLossesOnly     irn_losses forward + backward alone at batch 8 (128×128 maps), the
//                        share of the path-max gather and the displacement pairs
// The pair labels are random (each pair background, foreground, negative or unsure with equal
// odds), which costs the same as real ones. Counter: images per second.
#include <benchmark/benchmark.h>

#include <torch/torch.h>

#include <string>

#include "pseudomask/nn/irn/irn_net.h"

namespace pm::nn {
namespace {

constexpr int kCrop = 512;
constexpr int kRadius = 10;

IrnPairLabels random_pair_labels(int64_t batch, const PathIndex& index) {
  const torch::Tensor r = torch::randint(0,
                                         4,
                                         {batch,
                                          static_cast<int64_t>(index.directions.size()),
                                          static_cast<int64_t>(index.num_sources())});
  return {(r == 0).to(torch::kFloat), (r == 1).to(torch::kFloat), (r == 2).to(torch::kFloat)};
}

void zero_grad(IrnNet& net) {
  for (auto& p : net->parameters()) {
    if (p.grad().defined())
      p.mutable_grad() = torch::Tensor();
  }
}

void irn_step(benchmark::State& state, const std::string& backbone, int64_t batch) {
  torch::manual_seed(0);
  IrnNetOptions o;
  o.backbone = backbone;
  IrnNet net(o);
  net->train();
  const torch::Tensor x = torch::randn({batch, 3, kCrop, kCrop});
  const PathIndex index(kRadius, kCrop / 4, kCrop / 4);
  const IrnPairLabels labels = random_pair_labels(batch, index);
  for (auto _ : state) {
    zero_grad(net);
    const IrnLosses l = irn_losses(net->forward(x), labels, index);
    l.total.backward();
    benchmark::DoNotOptimize(l.total.item<float>());
  }
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(batch * state.iterations()),
                                                  benchmark::Counter::kIsRate);
}

void BM_IrnStepResNet50(benchmark::State& state) {
  irn_step(state, "resnet50", 1);
}
BENCHMARK(BM_IrnStepResNet50)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_IrnStepTiny(benchmark::State& state) {
  irn_step(state, "resnet-tiny", 8);
}
BENCHMARK(BM_IrnStepTiny)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

void BM_IrnLossesOnly(benchmark::State& state) {
  torch::manual_seed(0);
  const int64_t batch = 8, side = kCrop / 4;
  const PathIndex index(kRadius, side, side);
  const IrnPairLabels labels = random_pair_labels(batch, index);
  IrnOutputs out;
  out.edge = torch::randn({batch, 1, side, side}).requires_grad_(true);
  out.displacement = torch::randn({batch, 2, side, side}).requires_grad_(true);
  for (auto _ : state) {
    out.edge.mutable_grad() = torch::Tensor();
    out.displacement.mutable_grad() = torch::Tensor();
    const IrnLosses l = irn_losses(out, labels, index);
    l.total.backward();
    benchmark::DoNotOptimize(l.total.item<float>());
  }
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(batch * state.iterations()),
                                                  benchmark::Counter::kIsRate);
}
BENCHMARK(BM_IrnLossesOnly)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

/// irn_affinity (the path maxima) forward + backward alone, batch 8 at 128×128.
void BM_IrnAffinity(benchmark::State& state) {
  torch::manual_seed(0);
  const int64_t batch = 8, side = kCrop / 4;
  const PathIndex index(kRadius, side, side);
  const torch::Tensor edge = torch::randn({batch, 1, side, side}).requires_grad_(true);
  for (auto _ : state) {
    edge.mutable_grad() = torch::Tensor();
    const torch::Tensor aff = irn_affinity(edge, index);
    aff.sum().backward();
    benchmark::DoNotOptimize(edge.grad().data_ptr());
  }
}
BENCHMARK(BM_IrnAffinity)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

/// irn_pair_displacement forward + backward alone, batch 8 at 128×128.
void BM_IrnPairDisplacement(benchmark::State& state) {
  torch::manual_seed(0);
  const int64_t batch = 8, side = kCrop / 4;
  const PathIndex index(kRadius, side, side);
  const torch::Tensor dp = torch::randn({batch, 2, side, side}).requires_grad_(true);
  for (auto _ : state) {
    dp.mutable_grad() = torch::Tensor();
    const torch::Tensor disp = irn_pair_displacement(dp, index);
    disp.abs().sum().backward();
    benchmark::DoNotOptimize(dp.grad().data_ptr());
  }
}
BENCHMARK(BM_IrnPairDisplacement)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

}  // namespace
}  // namespace pm::nn
