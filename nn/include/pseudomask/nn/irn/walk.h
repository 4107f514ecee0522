// SPDX-License-Identifier: MIT
#pragma once

// IRN's random walk (Ahn, Cho & Kwak, CVPR 2019, Eq. 11–12) on a torch device, several images at
// once: the same sparse transition matrix as core's random_walk (core/irn/random_walk.h), each
// column's entries gathered from a flat buffer of every image's zero-padded planes, so one walk
// step is one gather, one multiply and one sum for the whole batch. Nothing of size (h·w)² is
// made: a batch needs (planes × stencil × pixels) floats for a step, where IRN's dense matrix
// needs (h·w)² per image.

#include <torch/types.h>

#include <vector>

#include "pseudomask/core/common/planes.h"
#include "pseudomask/core/irn/random_walk.h"

namespace pm::nn {

/// One image of a walk batch: its CAM planes (K, h, w) and its boundary map (h·w values in
/// [0, 1]).
struct WalkImage {
  const Planes* cams = nullptr;
  const std::vector<float>* boundary = nullptr;
};

/// core's random_walk for every image of `batch`, computed on `device`: the planes x ∘ (1 − B)
/// times T^(2^exp_times). Images may differ in size and plane count. Equal to core's result up to
/// float summation order (the test holds them within 1e-5 of the maps' maximum). Throws pm::Error
/// as transition_matrix does for a bad boundary map.
std::vector<Planes> random_walk_batch(const std::vector<WalkImage>& batch,
                                      const RandomWalkOptions& options,
                                      const torch::Device& device);

}  // namespace pm::nn
