// SPDX-License-Identifier: MIT
// pseudomask: weakly-supervised semantic segmentation from image-level labels.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "commands/commands.h"
#include "nn/nn_commands.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/memory.h"

int main(int argc, char** argv) {
  // The libtorch commands run in a module loaded only for them (see nn/nn_commands.h).
  if (argc > 1 && pm::cli::is_nn_command(argv[1]))
    return pm::cli::run_nn_module(argc, argv);
  CLI::App app{
      "pseudomask: precise pseudo-masks from class activation maps (ORANDNet) and noise-robust\n"
      "segmentation training (URN) for weakly-supervised semantic segmentation.\n"
      "Run `pseudomask <command> --help` for a command's flags and an example."};
  app.set_version_flag("--version", std::string("pseudomask ") + PM_VERSION);
  app.require_subcommand(1);
  app.footer(pm::cli::kNnCommandHelp);
  pm::keep_freed_memory_for_reuse();
  int exit_code = 0;
  pm::cli::add_eval_command(app, exit_code);
  pm::cli::add_eval_cam_command(app, exit_code);
  pm::cli::add_inspect_command(app, exit_code);
  pm::cli::add_crf_command(app, exit_code);
  pm::cli::add_ensemble_command(app, exit_code);
  pm::cli::add_labels_command(app, exit_code);
  pm::cli::add_urn_command(app, exit_code);
  pm::cli::add_show_command(app, exit_code);
  pm::cli::add_synth_command(app, exit_code);
  pm::cli::add_demo_command(app, exit_code);
  pm::cli::add_selfcheck_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const pm::Error& e) {
    std::fprintf(stderr, "pseudomask: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pseudomask: internal error: %s\n", e.what());
    return 2;
  }
  return exit_code;
}
