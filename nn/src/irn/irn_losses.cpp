// SPDX-License-Identifier: MIT
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <utility>
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

/// The flat offsets (y · width + x) of each direction's path pixels, destination first.
std::vector<std::vector<int64_t>> path_offsets(const PathIndex& index) {
  std::vector<std::vector<int64_t>> offsets;
  offsets.reserve(index.directions.size());
  for (const PathDirection& dir : index.directions) {
    std::vector<int64_t> o;
    for (const auto& [y, x] : dir.path)
      o.push_back(static_cast<int64_t>(y) * index.width + x);
    offsets.push_back(std::move(o));
  }
  return offsets;
}

/// path_argmax on a CPU float map: a direct loop over the pairs, in parallel over (image,
/// direction). IRN's max-pool keeps the first maximum: a later pixel must be strictly larger.
torch::Tensor path_argmax_cpu(const torch::Tensor& prob, const PathIndex& index) {
  const torch::Tensor p = prob.to(torch::kFloat).contiguous();
  const int64_t n = p.size(0), hw = static_cast<int64_t>(index.height) * index.width;
  const int64_t d = static_cast<int64_t>(index.directions.size());
  const int64_t s = static_cast<int64_t>(index.num_sources());
  const std::vector<std::vector<int64_t>> offsets = path_offsets(index);
  torch::Tensor out = torch::empty({n, d, s}, torch::kLong);
  const float* values = p.data_ptr<float>();
  int64_t* result = out.data_ptr<int64_t>();
  const int32_t* sources = index.sources.data();
  at::parallel_for(0, n * d, 1, [&](int64_t begin, int64_t end) {
    for (int64_t nd = begin; nd < end; ++nd) {
      const float* map = values + (nd / d) * hw;
      const std::vector<int64_t>& off = offsets[static_cast<size_t>(nd % d)];
      int64_t* row = result + nd * s;
      for (int64_t k = 0; k < s; ++k) {
        const int64_t base = sources[k];
        int64_t best_at = base + off[0];
        float best = map[best_at];
        for (size_t l = 1; l < off.size(); ++l) {
          const int64_t at = base + off[l];
          if (map[at] > best) {
            best = map[at];
            best_at = at;
          }
        }
        row[k] = best_at;
      }
    }
  });
  return out;
}

/// The flat index (N, D, S) of the first pixel where `prob` (N, H, W) is largest on each pair's
/// path, in the path's order (destination first), as IRN's max-pool over the path picks it.
torch::Tensor path_argmax(const torch::Tensor& prob, const PathIndex& index) {
  torch::NoGradGuard no_grad;
  return prob.is_cpu() ? path_argmax_cpu(prob, index) : detail::path_argmax_tensor_ops(prob, index);
}

/// −Σ label·log(p) / (Σ label + eps).
torch::Tensor weighted_nll(const torch::Tensor& label, const torch::Tensor& log_p) {
  return torch::sum(-label * log_p) / (torch::sum(label) + kEps);
}

}  // namespace

namespace detail {

torch::Tensor path_argmax_tensor_ops(const torch::Tensor& prob, const PathIndex& index) {
  torch::NoGradGuard no_grad;
  const int64_t n = prob.size(0);
  const int64_t s = static_cast<int64_t>(index.num_sources());
  const auto long_options = torch::TensorOptions().dtype(torch::kLong).device(prob.device());
  const torch::Tensor sources =
      torch::from_blob(const_cast<int32_t*>(index.sources.data()), {s}, torch::kInt)
          .to(long_options);
  const std::vector<std::vector<int64_t>> offsets = path_offsets(index);
  std::vector<torch::Tensor> per_direction;
  per_direction.reserve(index.directions.size());
  for (size_t d = 0; d < index.directions.size(); ++d) {
    // A running maximum over the path, and the offset where it was first reached.
    const auto& path = index.directions[d].path;
    torch::Tensor best = shifted_window(prob, index, path[0].first, path[0].second).clone();
    torch::Tensor best_at = torch::full(best.sizes(), offsets[d][0], long_options);
    for (size_t l = 1; l < path.size(); ++l) {
      const torch::Tensor w = shifted_window(prob, index, path[l].first, path[l].second);
      const torch::Tensor larger = w > best;
      best_at.masked_fill_(larger, offsets[d][l]);
      best = torch::where(larger, w, best);
    }
    per_direction.push_back(best_at.view({n, s}) + sources);
  }
  return torch::stack(per_direction, 1);
}

}  // namespace detail

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
  // Σ over both channels per pair first, then the label weights on (N, D, S): train_irn.py's
  // sums, in another order.
  const torch::Tensor fg_error = torch::abs(disp - target).sum(1);
  const torch::Tensor bg_error = torch::abs(disp).sum(1);
  l.dp_fg = torch::sum(fg_error * fg_pos) / (2 * torch::sum(fg_pos) + kEps);
  l.dp_bg = torch::sum(bg_error * bg_pos) / (2 * torch::sum(bg_pos) + kEps);
  l.total = (l.pos_aff + l.neg_aff) / 2 + (l.dp_fg + l.dp_bg) / 2;
  return l;
}

}  // namespace pm::nn
