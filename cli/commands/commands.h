// SPDX-License-Identifier: MIT
#pragma once

#include <CLI/CLI.hpp>

namespace pm::cli {

/// Each command file adds its subcommand to the app. When the subcommand runs, its exit code is
/// stored in `exit_code`.
void add_eval_command(CLI::App& app, int& exit_code);
void add_eval_cam_command(CLI::App& app, int& exit_code);
void add_inspect_command(CLI::App& app, int& exit_code);
void add_demo_command(CLI::App& app, int& exit_code);
void add_selfcheck_command(CLI::App& app, int& exit_code);
void add_crf_command(CLI::App& app, int& exit_code);
void add_argmax_command(CLI::App& app, int& exit_code);
void add_ensemble_command(CLI::App& app, int& exit_code);
void add_labels_command(CLI::App& app, int& exit_code);
void add_urn_command(CLI::App& app, int& exit_code);
void add_show_command(CLI::App& app, int& exit_code);
void add_synth_command(CLI::App& app, int& exit_code);
void add_irn_labels_command(CLI::App& app, int& exit_code);

}  // namespace pm::cli
