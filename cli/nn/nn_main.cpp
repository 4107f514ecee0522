// SPDX-License-Identifier: MIT
// Entry point of the nn module (pseudomask_nn_commands.so): parses and runs the commands of
// kNnCommandNames with the same conventions as the core executable.
#include <c10/util/Exception.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#include "common/batch.h"
#include "common/flags.h"
#include "common/unknown_command.h"
#include "nn/nn_commands.h"
#include "nn/nn_subcommands.h"
#include "pseudomask/core/common/error.h"

namespace {

/// The first line of a message (torch errors carry a multi-line context).
std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int pm_nn_main(int argc, char** argv) {
  CLI::App app{"pseudomask: classifier training and CAM extraction (libtorch commands)"};
  app.name("pseudomask");
  app.require_subcommand(1);
  int exit_code = 0;
  pm::cli::add_train_cls_command(app, exit_code);
  pm::cli::add_cam_command(app, exit_code);
  pm::cli::add_train_seg_command(app, exit_code);
  pm::cli::add_predict_command(app, exit_code);
  pm::cli::add_orandnet_command(app, exit_code);
  pm::cli::add_train_irn_command(app, exit_code);
  pm::cli::add_irn_labels_net_command(app, exit_code);
  const std::string unknown = pm::cli::unknown_command_error(app, argc, argv);
  if (!unknown.empty()) {  // e.g. `pseudomask orandnet tain`
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
  } catch (const c10::Error& e) {
    std::fprintf(
        stderr, "pseudomask: error: torch: %s\n", first_line(e.what_without_backtrace()).c_str());
    return pm::cli::kExitBadInput;
  } catch (const std::exception& e) {
    const std::string resource = pm::cli::resource_error_message(e);
    if (!resource.empty()) {
      std::fprintf(stderr, "pseudomask: error: %s\n", resource.c_str());
      return pm::cli::kExitBadInput;
    }
    std::fprintf(stderr, "pseudomask: internal error: %s\n", first_line(e.what()).c_str());
    return pm::cli::kExitInternal;
  }
  return exit_code;
}
