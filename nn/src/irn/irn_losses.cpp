// SPDX-License-Identifier: MIT
#include <torch/torch.h>

#include <vector>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/ndarray.h"
#include "pseudomask/nn/irn/irn_net.h"

namespace pm::nn {
namespace {

/// train_irn.py's epsilon in every log and denominator.
constexpr double kEps = 1e-5;

/// Throws unless `t` is (N, channels, index.height, index.width).
void check_map(const torch::Tensor& t, int64_t channels, const PathIndex& index, const char* what) {
  PM_CHECK(t.defined() && t.dim() == 4 && t.size(1) == channels && t.size(2) == index.height &&
               t.size(3) == index.width,
           "IRN: {} must be (N, {}, {}, {}) for the path index (radius {}), got {}",
           what,
           channels,
           index.height,
           index.width,
           index.radius,
           t.defined() ? shape_string(t.sizes().vec()) : std::string("none"));
}

/// The source pixels' window of a map (..., H, W) shifted by (dy, dx): rows dy.., columns
/// radius − 1 + dx.., as big as the index's crop (IRN's slicing in PathIndex).
torch::Tensor shifted_window(const torch::Tensor& map, const PathIndex& index, int dy, int dx) {
  const int r = index.radius - 1;
  const int64_t crop_h = index.height - r, crop_w = index.width - 2 * r;
  const int64_t x0 = r + dx;
  return map.slice(-2, dy, dy + crop_h).slice(-1, x0, x0 + crop_w);
}

/// Flat index (N, D, S) of the first pixel on each pair's path where `prob` (N, H, W) is largest,
/// in the path's order (destination first), as IRN's max-pool over the path picks it.
torch::Tensor path_argmax(const torch::Tensor& prob, const PathIndex& index) {
  torch::NoGradGuard no_grad;
  const int64_t n = prob.size(0);
  const int64_t s = static_cast<int64_t>(index.num_sources());
  const auto long_options = torch::TensorOptions().dtype(torch::kLong).device(prob.device());
  const torch::Tensor sources =
      torch::from_blob(const_cast<int32_t*>(index.sources.data()), {s}, torch::kInt)
          .to(long_options);
  std::vector<torch::Tensor> per_direction;
  per_direction.reserve(index.directions.size());
  for (const PathDirection& dir : index.directions) {
    std::vector<torch::Tensor> windows;
    std::vector<int64_t> offsets;
    for (const auto& [y, x] : dir.path) {
      windows.push_back(shifted_window(prob, index, y, x));
      offsets.push_back(static_cast<int64_t>(y) * index.width + x);
    }
    const torch::Tensor first_max = torch::stack(windows, 1).argmax(1).reshape({-1});
    const torch::Tensor offset = torch::tensor(offsets, long_options).index_select(0, first_max);
    per_direction.push_back(offset.view({n, s}) + sources);
  }
  return torch::stack(per_direction, 1);
}

/// −Σ label·log(p) / (Σ label + eps).
torch::Tensor weighted_nll(const torch::Tensor& label, const torch::Tensor& log_p) {
  return torch::sum(-label * log_p) / (torch::sum(label) + kEps);
}

}  // namespace

torch::Tensor irn_affinity(const torch::Tensor& edge_logits, const PathIndex& index) {
  check_map(edge_logits, 1, index, "the edge map");
  const int64_t n = edge_logits.size(0);
  const torch::Tensor prob = torch::sigmoid(edge_logits).reshape({n, -1});
  const torch::Tensor argmax =
      path_argmax(prob.detach().view({n, index.height, index.width}), index);
  const int64_t d = argmax.size(1), s = argmax.size(2);
  return 1 - prob.gather(1, argmax.view({n, d * s})).view({n, d, s});
}

torch::Tensor irn_pair_displacement(const torch::Tensor& displacement, const PathIndex& index) {
  check_map(displacement, 2, index, "the displacement map");
  const torch::Tensor source = shifted_window(displacement, index, 0, 0);
  std::vector<torch::Tensor> destinations;
  destinations.reserve(index.directions.size());
  for (const PathDirection& dir : index.directions)
    destinations.push_back(shifted_window(displacement, index, dir.dy, dir.dx));
  const torch::Tensor diff = source.unsqueeze(2) - torch::stack(destinations, 2);
  return diff.reshape({diff.size(0), 2, diff.size(2), -1});
}

IrnLosses irn_losses(const IrnOutputs& outputs,
                     const IrnPairLabels& labels,
                     const PathIndex& index) {
  const torch::Tensor aff = irn_affinity(outputs.edge, index);
  const torch::Tensor disp = irn_pair_displacement(outputs.displacement, index);
  const std::vector<int64_t> pair_shape = aff.sizes().vec();
  const auto label = [&](const torch::Tensor& t, const char* name) {
    PM_CHECK(t.defined() && t.sizes().vec() == pair_shape,
             "IRN: the {} pair labels must be {} (N, directions, sources), got {}",
             name,
             shape_string(pair_shape),
             t.defined() ? shape_string(t.sizes().vec()) : std::string("none"));
    return t.to(aff.device(), aff.scalar_type());
  };
  const torch::Tensor bg_pos = label(labels.bg_pos, "bg_pos");
  const torch::Tensor fg_pos = label(labels.fg_pos, "fg_pos");
  const torch::Tensor neg = label(labels.neg, "neg");

  // Each direction's (dy, dx) as (1, 2, D, 1): what disp should be on a foreground pair.
  std::vector<float> dst;
  for (const PathDirection& dir : index.directions) {
    dst.push_back(static_cast<float>(dir.dy));
    dst.push_back(static_cast<float>(dir.dx));
  }
  const torch::Tensor target =
      torch::tensor(dst, aff.options()).view({-1, 2}).t().reshape({1, 2, -1, 1});

  IrnLosses l;
  const torch::Tensor log_aff = torch::log(aff + kEps);
  l.pos_aff = weighted_nll(bg_pos, log_aff) / 2 + weighted_nll(fg_pos, log_aff) / 2;
  l.neg_aff = weighted_nll(neg, torch::log((1.0 + kEps) - aff));
  l.dp_fg =
      torch::sum(torch::abs(disp - target) * fg_pos.unsqueeze(1)) / (2 * torch::sum(fg_pos) + kEps);
  l.dp_bg = torch::sum(torch::abs(disp) * bg_pos.unsqueeze(1)) / (2 * torch::sum(bg_pos) + kEps);
  l.total = (l.pos_aff + l.neg_aff) / 2 + (l.dp_fg + l.dp_bg) / 2;
  return l;
}

}  // namespace pm::nn
