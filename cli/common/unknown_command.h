// SPDX-License-Identifier: MIT
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace pm::cli {

/// The error for a command line that names a command `app` does not have: "unknown command
/// 'train-irn' (commands: eval, eval-cam, ...)", or "" if every command it names is known. The
/// words before the first flag are followed down the subcommands (`orandnet infer`), so
/// `pseudomask train-irn --help` fails instead of printing the main help. `more_commands` are
/// top-level commands run elsewhere (the libtorch module's): known, and listed.
std::string unknown_command_error(const CLI::App& app,
                                  int argc,
                                  const char* const* argv,
                                  const std::vector<std::string>& more_commands = {});

}  // namespace pm::cli
