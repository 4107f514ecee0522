// SPDX-License-Identifier: MIT
#pragma once

// `pseudomask irn-labels`, shared by the executable (boundary maps from files) and the nn module
// (boundary maps from a trained IRN, --irn): the flags, the walk per image and the batch run are
// one code; only where the boundary map comes from differs.

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "common/batch.h"
#include "pseudomask/core/datasets/dataset.h"
#include "pseudomask/core/irn/random_walk.h"

namespace pm::cli {

/// Flags of `pseudomask irn-labels`.
struct IrnLabelsCommand {
  std::string cams;      ///< CAM files (IRN layout: keys, cam at stride 4 and/or high_res)
  std::string boundary;  ///< <id>.npy / <id>.png class-boundary maps at stride 4
  std::string irn;       ///< a trained IRN (train-irn's model.pth): boundary maps from the images
  std::string dataset;   ///< the images of --irn (VOC: the folder holding JPEGImages/)
  std::string layout = "voc";
  std::string split;         ///< with --irn: the ids to label ("" = every CAM file or --list)
  std::string boundary_out;  ///< writes <id>.png boundary maps here ("" = none)
  std::string device = "cpu";
  int threads = 0;  ///< torch intra-op threads of --irn (0 = torch's default)
  std::string out;
  std::string list;
  std::string palette = "none";
  RandomWalkOptions walk;
  float bg_threshold = 0.25f;  ///< IRN sem_seg_bg_thres as ORANDNet re-thresholds it
  bool plain_has_background = false;
  BatchOptions batch;
};

/// The boundary map (h4 × w4 values in [0, 1], the walk's stride-4 size) of image `id`, whose CAM
/// file says it is width × height.
using BoundaryFn =
    std::function<std::vector<float>(const std::string& id, int height, int width, int h4, int w4)>;

/// The random walk of one image (core's random_walk, or the nn module's on --device).
using WalkFn = std::function<Planes(
    const Planes& cams, const std::vector<float>& boundary, const RandomWalkOptions& options)>;

/// What the nn module serves an --irn run: the network's boundary maps, and the walk on --device
/// (empty: core's walk on the CPU).
struct NetworkSource {
  BoundaryFn boundary;
  WalkFn walk;
};

/// Makes the source of --irn for a run over `dataset`'s images (the nn module's; the executable
/// has none and hands --irn runs to the module).
using NetworkBoundary =
    std::function<NetworkSource(const IrnLabelsCommand& command, const Dataset& dataset)>;

/// Adds `irn-labels` to `app`; `network` serves --irn (empty: --irn is refused).
void add_irn_labels_subcommand(CLI::App& app, int& exit_code, NetworkBoundary network);

}  // namespace pm::cli
