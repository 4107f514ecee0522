// SPDX-License-Identifier: MIT
#pragma once

// The commands that need libtorch. They live in a shared module (pseudomask_nn_commands.so, next
// to the executable) so that the `pseudomask` executable itself never loads libtorch (about
// 1.5 s and 130 MB per start). main.cpp hands these commands to the module; the module's
// pm_nn_main parses them.

#include <cstring>

namespace pm::cli {

/// Names of the commands the nn module runs (one list for the executable and the module).
inline constexpr const char* kNnCommandNames[] = {
    "train-cls", "cam", "orandnet", "train-seg", "predict", "train-irn"};

/// One-line descriptions for `pseudomask --help`.
inline constexpr const char* kNnCommandHelp =
    "Commands that need libtorch (loaded from pseudomask_nn_commands.so on demand):\n"
    "  train-cls   Train a multi-label classifier (ResNet or ViT) on image-level labels\n"
    "  cam         Class activation maps of a trained classifier, in the IRN layout\n"
    "  train-seg   Train a segmentation model (DeepLab, PSPNet) on pseudo-masks, URN weights\n"
    "  predict     Segment images: multi-scale, flip, CRF; URN probability maps\n"
    "  orandnet    ORANDNet: train/infer the FCN-8s that maps the OR of two CAMs to their AND\n"
    "  train-irn   Train IRN's class-boundary network on IR labels (labels --mode irn)\n"
    "  (irn-labels --irn MODEL runs in the module too: the boundary maps from a trained IRN)";

/// File name of the module, looked up in the executable's folder.
inline constexpr const char* kNnModuleFile = "pseudomask_nn_commands.so";

/// Symbol the module exports: runs argv (argv[1] is an nn command) and returns the exit code.
inline constexpr const char* kNnEntryPoint = "pm_nn_main";

/// True if `name` is one of kNnCommandNames.
inline bool is_nn_command(const char* name) {
  for (const char* c : kNnCommandNames) {
    if (std::strcmp(c, name) == 0)
      return true;
  }
  return false;
}

/// True if the command line runs in the module: an nn command, or `irn-labels` with --irn.
inline bool runs_in_nn_module(int argc, char** argv) {
  if (argc < 2)
    return false;
  if (is_nn_command(argv[1]))
    return true;
  if (std::strcmp(argv[1], "irn-labels") != 0)
    return false;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--irn") == 0 || std::strncmp(argv[i], "--irn=", 6) == 0)
      return true;
  }
  return false;
}

/// Loads the module from the executable's folder and runs pm_nn_main(argc, argv). If the module
/// is missing (built with -DPM_BUILD_NN=OFF) or broken, prints one error line and returns 1.
int run_nn_module(int argc, char** argv);

}  // namespace pm::cli
