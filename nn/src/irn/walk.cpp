// SPDX-License-Identifier: MIT
#include "pseudomask/nn/irn/walk.h"

#include <torch/torch.h>

#include <algorithm>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/irn/path_index.h"

namespace pm::nn {
namespace {

// Where each image lies in the batch: its pixels among all pixels (the columns of the block-
// diagonal transition matrix) and its padded plane in the flat buffer the walk gathers from.
struct BatchLayout {
  std::vector<int64_t> pixel_offset;   // first column of image i
  std::vector<int64_t> padded_offset;  // first element of image i's padded plane
  int64_t pixels = 0;
  int64_t padded = 0;
  int64_t planes = 0;  // the most planes of any image
};

BatchLayout batch_layout(const std::vector<WalkImage>& batch, int margin) {
  BatchLayout l;
  for (const WalkImage& im : batch) {
    l.pixel_offset.push_back(l.pixels);
    l.padded_offset.push_back(l.padded);
    l.pixels += static_cast<int64_t>(im.cams->pixels());
    l.padded +=
        static_cast<int64_t>(im.cams->height() + 2 * margin) * (im.cams->width() + 2 * margin);
    l.planes = std::max<int64_t>(l.planes, im.cams->channels());
  }
  return l;
}

// The block-diagonal transition matrix as a gather: for stencil entry e and column c, the
// buffer position of the pixel it reads (gather[e, c]) and its weight T (weights[e, c]); and
// each column's own position (interior[c]), where the step writes its result.
struct WalkStencil {
  torch::Tensor gather;    // (E, N) int64
  torch::Tensor weights;   // (E, N) float
  torch::Tensor interior;  // (N) int64
};

WalkStencil walk_stencil(const std::vector<WalkImage>& batch,
                         const RandomWalkOptions& options,
                         const BatchLayout& l,
                         int margin) {
  const int64_t entries = 1 + 2 * static_cast<int64_t>(path_directions(options.radius).size());
  WalkStencil s;
  s.gather = torch::empty({entries, l.pixels}, torch::kInt64);
  s.weights = torch::empty({entries, l.pixels}, torch::kFloat32);
  s.interior = torch::empty({l.pixels}, torch::kInt64);
  auto gather = s.gather.accessor<int64_t, 2>();
  auto weights = s.weights.accessor<float, 2>();
  auto interior = s.interior.accessor<int64_t, 1>();
  for (size_t i = 0; i < batch.size(); ++i) {
    const int h = batch[i].cams->height(), w = batch[i].cams->width();
    const TransitionMatrix t = transition_matrix(*batch[i].boundary, h, w, options);
    PM_CHECK(static_cast<int64_t>(t.steps.size()) == entries, "walk: stencil size mismatch");
    const int64_t pw = w + 2 * margin, n = static_cast<int64_t>(h) * w;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const int64_t j = static_cast<int64_t>(y) * w + x, c = l.pixel_offset[i] + j;
        interior[c] = l.padded_offset[i] + (y + margin) * pw + (x + margin);
        for (int64_t e = 0; e < entries; ++e) {
          const auto [dy, dx] = t.steps[static_cast<size_t>(e)];
          gather[e][c] = l.padded_offset[i] + (y + margin + dy) * pw + (x + margin + dx);
          weights[e][c] = t.weights[static_cast<size_t>(e * n + j)];
        }
      }
    }
  }
  return s;
}

// The walk's start, x ∘ (1 − B) (IRN Eq. 12), at each image's interior of the padded buffer
// (planes × padded; planes an image lacks stay 0, and 0 walks to 0).
torch::Tensor walk_start(const std::vector<WalkImage>& batch, const BatchLayout& l, int margin) {
  torch::Tensor buffer = torch::zeros({l.planes, l.padded}, torch::kFloat32);
  auto b = buffer.accessor<float, 2>();
  for (size_t i = 0; i < batch.size(); ++i) {
    const Planes& cams = *batch[i].cams;
    const std::vector<float>& boundary = *batch[i].boundary;
    const int64_t pw = cams.width() + 2 * margin;
    for (int k = 0; k < cams.channels(); ++k) {
      for (int y = 0; y < cams.height(); ++y) {
        for (int x = 0; x < cams.width(); ++x) {
          const size_t p = static_cast<size_t>(y) * cams.width() + x;
          b[k][l.padded_offset[i] + (y + margin) * pw + x + margin] =
              cams.plane(k)[p] * (1.0f - boundary[p]);
        }
      }
    }
  }
  return buffer;
}

}  // namespace

std::vector<Planes> random_walk_batch(const std::vector<WalkImage>& batch,
                                      const RandomWalkOptions& options,
                                      const torch::Device& device) {
  options.validate();
  if (batch.empty())
    return {};
  for (const WalkImage& im : batch)
    PM_CHECK(im.cams && im.boundary, "random_walk_batch: an image without CAMs or boundary");
  const int margin = options.radius - 1;
  const BatchLayout layout = batch_layout(batch, margin);
  const WalkStencil stencil = walk_stencil(batch, options, layout, margin);
  torch::NoGradGuard no_grad;
  const torch::Tensor gather = stencil.gather.reshape({-1}).to(device);
  const torch::Tensor weights = stencil.weights.unsqueeze(0).to(device);  // (1, E, N)
  const torch::Tensor interior = stencil.interior.to(device);
  torch::Tensor buffer = walk_start(batch, layout, margin).to(device);
  const int64_t entries = stencil.weights.size(0);
  // IRN Eq. 12: y · T, 2^exp_times times; column c of y · T is Σ_e T[e, c] · y[gather[e, c]].
  for (long step = 0; step < (1L << options.exp_times); ++step) {
    const torch::Tensor read =
        buffer.index_select(1, gather).view({layout.planes, entries, layout.pixels});
    buffer.index_copy_(1, interior, (read * weights).sum(1));
  }
  const torch::Tensor walked = buffer.index_select(1, interior).to(torch::kCPU).contiguous();
  std::vector<Planes> out;
  for (size_t i = 0; i < batch.size(); ++i) {
    const Planes& cams = *batch[i].cams;
    const int64_t n = static_cast<int64_t>(cams.pixels());
    const torch::Tensor mine =
        walked.narrow(0, 0, cams.channels()).narrow(1, layout.pixel_offset[i], n).contiguous();
    out.emplace_back(
        cams.channels(),
        cams.height(),
        cams.width(),
        std::vector<float>(mine.data_ptr<float>(), mine.data_ptr<float>() + mine.numel()));
  }
  return out;
}

}  // namespace pm::nn
