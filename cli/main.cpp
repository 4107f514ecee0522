// SPDX-License-Identifier: MIT
// pseudomask: weakly-supervised semantic segmentation from image-level labels.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iterator>
#include <string>

#include "commands/commands.h"
#include "common/batch.h"
#include "common/flags.h"
#include "common/unknown_command.h"
#include "nn/nn_commands.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/memory.h"
#include "pseudomask/core/common/printable.h"

int main(int argc, char** argv) {
  // The libtorch commands run in a module loaded only for them (see nn/nn_commands.h).
  if (pm::cli::runs_in_nn_module(argc, argv))
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
  pm::cli::add_argmax_command(app, exit_code);
  pm::cli::add_ensemble_command(app, exit_code);
  pm::cli::add_labels_command(app, exit_code);
  pm::cli::add_irn_labels_command(app, exit_code);
  pm::cli::add_urn_command(app, exit_code);
  pm::cli::add_show_command(app, exit_code);
  pm::cli::add_synth_command(app, exit_code);
  pm::cli::add_demo_command(app, exit_code);
  pm::cli::add_selfcheck_command(app, exit_code);
  // Before parsing: CLI11 would print the main help for `pseudomask train-irn --help` and exit 0.
  const std::string unknown = pm::cli::unknown_command_error(
      app, argc, argv, {std::begin(pm::cli::kNnCommandNames), std::end(pm::cli::kNnCommandNames)});
  if (!unknown.empty()) {
    std::fprintf(stderr, "pseudomask: error: %s\n", unknown.c_str());
    return pm::cli::kExitBadInput;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? pm::cli::kExitDone : pm::cli::kExitBadInput;  // --help, or usage
  } catch (const pm::Error& e) {
    std::fprintf(stderr, "pseudomask: error: %s\n", pm::cli::with_flag_names(e.what()).c_str());
    return pm::cli::kExitBadInput;
  } catch (const std::exception& e) {
    const std::string resource = pm::cli::resource_error_message(e);
    if (!resource.empty()) {
      std::fprintf(stderr, "pseudomask: error: %s\n", pm::terminal_safe(resource).c_str());
      return pm::cli::kExitBadInput;
    }
    std::fprintf(stderr, "pseudomask: internal error: %s\n", pm::terminal_safe(e.what()).c_str());
    return pm::cli::kExitInternal;
  }
  return exit_code;
}
