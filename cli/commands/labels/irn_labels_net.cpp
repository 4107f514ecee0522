// SPDX-License-Identifier: MIT
// `pseudomask irn-labels --irn MODEL`: the walk of irn_labels.cpp over boundary maps that a
// trained IRN computes from the images (IRN's make_sem_seg_labels step). Runs in the nn module.
#include <torch/torch.h>

#include <memory>
#include <mutex>

#include "commands/labels/irn_labels.h"
#include "nn/nn_subcommands.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/nn/irn/irn_net.h"
#include "pseudomask/nn/irn/irn_trainer.h"
#include "pseudomask/nn/irn/walk.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/threads.h"
#include "pseudomask/nn/train/augment.h"

namespace pm::cli {
namespace {

/// The network and the images its boundary maps are computed from.
struct NetworkState {
  Dataset dataset;
  nn::IrnNet net{nullptr};
  std::mutex mutex;  ///< one inference at a time (the walks run in parallel)
};

/// The network's boundary map of `id` at (h4, w4); checks that the image is the CAM's size.
std::vector<float> network_boundary(
    NetworkState& s, const std::string& id, int height, int width, int h4, int w4) {
  const std::string path = s.dataset.image_path(id);
  const RgbImage image = read_image(path);
  PM_CHECK(image.width == width && image.height == height,
           "{}: image is {}x{}, the CAM file of '{}' is for {}x{}",
           path,
           image.width,
           image.height,
           id,
           width,
           height);
  torch::Tensor x = torch::empty({3, height, width}, torch::kFloat32);
  nn::normalize_image(image, x.data_ptr<float>());
  torch::Tensor b;
  {
    const std::lock_guard<std::mutex> lock(s.mutex);
    const torch::NoGradGuard no_grad;
    b = nn::irn_boundary(s.net, x).to(torch::kCPU, torch::kFloat32).contiguous();
  }
  PM_CHECK(b.dim() == 2 && b.size(0) == h4 && b.size(1) == w4,
           "{}: the network's boundary map is {}x{}, the CAMs {}x{}",
           path,
           b.dim() == 2 ? b.size(1) : 0,
           b.dim() == 2 ? b.size(0) : 0,
           w4,
           h4);
  return {b.data_ptr<float>(), b.data_ptr<float>() + b.numel()};
}

/// The walk on a GPU --device (nn::random_walk_batch, the same sparse matrix as core's); on the
/// CPU core's walk, which needs no tensor copies.
WalkFn device_walk(const std::string& device_spec) {
  const torch::Device device = nn::parse_device(device_spec);
  if (device.is_cpu())
    return {};
  return [device](const Planes& cams,
                  const std::vector<float>& boundary,
                  const RandomWalkOptions& options) {
    return nn::random_walk_batch({{&cams, &boundary}}, options, device).at(0);
  };
}

NetworkSource network_source(const IrnLabelsCommand& c, const Dataset& dataset) {
  nn::set_torch_threads(c.threads);
  auto state = std::make_shared<NetworkState>();
  state->dataset = dataset;
  state->net = nn::load_irn_model(c.irn, c.device);
  return {[state](const std::string& id, int height, int width, int h4, int w4) {
            return network_boundary(*state, id, height, width, h4, w4);
          },
          device_walk(c.device)};
}

}  // namespace

void add_irn_labels_net_command(CLI::App& app, int& exit_code) {
  add_irn_labels_subcommand(app, exit_code, network_source);
}

}  // namespace pm::cli
