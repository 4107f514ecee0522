// SPDX-License-Identifier: MIT
#pragma once

#include <CLI/CLI.hpp>

namespace pm::cli {

/// The nn module's commands; each adds its subcommand and stores its exit code in `exit_code`.
void add_train_cls_command(CLI::App& app, int& exit_code);
void add_cam_command(CLI::App& app, int& exit_code);
void add_train_seg_command(CLI::App& app, int& exit_code);
void add_predict_command(CLI::App& app, int& exit_code);
void add_orandnet_command(CLI::App& app, int& exit_code);
void add_train_irn_command(CLI::App& app, int& exit_code);
/// `irn-labels` with --irn (boundary maps from a trained IRN); the executable runs the others.
void add_irn_labels_net_command(CLI::App& app, int& exit_code);

}  // namespace pm::cli
