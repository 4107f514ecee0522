// SPDX-License-Identifier: MIT
#pragma once

// The steps of `pseudomask demo`: the architecture's whole pipeline on the built-in synthetic
// dataset, from image-level labels to a segmentation model retrained with URN's weights.

#include <string>
#include <vector>

#include "pipeline/step_runner.h"

namespace pm::cli {

/// What `pseudomask demo` runs. The defaults finish in about 15 minutes on 2 CPU cores.
struct DemoConfig {
  std::string out = "runs/demo";  ///< every step's outputs, logs and the report
  int train_images = 1000;        ///< synthetic training images (val: a fifth of it)
  int image_size = 112;           ///< synthetic image side (px)
  unsigned data_seed = 1;         ///< seed of the synthetic dataset
  int seeds = 1;                  ///< segmentation runs per variant (seeds 0..seeds-1)
  double epoch_scale = 1.0;       ///< multiplies every training budget
  std::string device = "cpu";     ///< torch device of the nn steps
  int threads_per_step = 1;       ///< --jobs / --threads of each step
};

/// A CAM set of the pseudo-mask table (ORANDNet Table 1): its folder name and label.
struct CamSet {
  std::string key;    ///< folder under cams/ and masks/
  std::string label;  ///< row label
};

/// A segmentation variant of the second table (URN Table 5, ORANDNet's scale scheduling).
struct SegVariant {
  std::string key;    ///< folder under seg/
  std::string label;  ///< row label
};

/// A, B, mean, OR, AND, ORANDNet: the rows of the pseudo-mask table, in order.
const std::vector<CamSet>& demo_cam_sets();

/// The segmentation variants, in order.
const std::vector<SegVariant>& demo_seg_variants();

/// The synthetic dataset's folder inside `c.out`.
std::string demo_data_dir(const DemoConfig& c);

/// Every step of the demo, dependencies first.
std::vector<Step> demo_steps(const DemoConfig& c);

/// Validation images of the synthetic set for `train_images` (a fifth, at least 20).
int demo_val_images(int train_images);

}  // namespace pm::cli
