// SPDX-License-Identifier: MIT
// The ViT CAM of one image at ORANDNet's 512 px (a 32x32 grid, 1025 tokens) for DeiT-S and
// DeiT-B, random weights, one labelled class: LRP (Chefer et al., CVPR 2021, as ORANDNet) and
// gradient-weighted rollout. Peak memory: run one benchmark per process under /usr/bin/time, e.g.
//   /usr/bin/time -f "%e s %M KB" build/nn/pseudomask_nn_bench
//   --benchmark_filter=VitCam/deit-base/lrp
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "pseudomask/nn/cam/vit_cam.h"

namespace pm::nn {
namespace {

void vit_cam_512(benchmark::State& state, const char* arch, VitCamMethod method) {
  torch::manual_seed(0);
  ClassifierOptions o;
  o.arch = arch;
  o.num_classes = 20;
  o.image_size = 512;
  Classifier model(o);
  model->eval();
  RgbImage image(500, 375);
  for (size_t i = 0; i < image.pixels.size(); ++i)
    image.pixels[i] = static_cast<uint8_t>((i * 131) % 251);
  VitCamOptions options;
  options.input_size = 512;
  options.method = method;
  for (auto _ : state)
    benchmark::DoNotOptimize(vit_cam(model, image, {14}, options).cam.data());
  state.counters["threads"] = torch::get_num_threads();
}

BENCHMARK_CAPTURE(vit_cam_512, deit_small_lrp, "deit-small", VitCamMethod::kLrp)
    ->Name("VitCam/deit-small/lrp")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(vit_cam_512, deit_small_rollout, "deit-small", VitCamMethod::kRollout)
    ->Name("VitCam/deit-small/rollout")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(vit_cam_512, deit_base_lrp, "deit-base", VitCamMethod::kLrp)
    ->Name("VitCam/deit-base/lrp")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK_CAPTURE(vit_cam_512, deit_base_rollout, "deit-base", VitCamMethod::kRollout)
    ->Name("VitCam/deit-base/rollout")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
}  // namespace pm::nn
