// SPDX-License-Identifier: MIT
#include "common/unknown_command.h"

#include <algorithm>

namespace pm::cli {
namespace {

std::vector<const CLI::App*> subcommands_of(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App*) { return true; });
}

/// "a, b, c": the names of `subs`, then `more`.
std::string name_list(const std::vector<const CLI::App*>& subs,
                      const std::vector<std::string>& more) {
  std::string list;
  for (const CLI::App* sub : subs)
    list += (list.empty() ? "" : ", ") + sub->get_name();
  for (const std::string& name : more)
    list += (list.empty() ? "" : ", ") + name;
  return list;
}

}  // namespace

std::string unknown_command_error(const CLI::App& app,
                                  int argc,
                                  const char* const* argv,
                                  const std::vector<std::string>& more_commands) {
  const CLI::App* parent = &app;
  std::string named;  // the commands followed so far, "orandnet "
  for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
    const std::vector<const CLI::App*> subs = subcommands_of(*parent);
    if (subs.empty())
      return "";  // the words after a leaf command are its arguments (inspect FILE...)
    const std::vector<std::string>& more =
        parent == &app ? more_commands : std::vector<std::string>{};
    if (std::find(more.begin(), more.end(), argv[i]) != more.end())
      return "";
    const auto found = std::find_if(
        subs.begin(), subs.end(), [&](const CLI::App* sub) { return sub->check_name(argv[i]); });
    if (found == subs.end())
      return "unknown command '" + named + argv[i] + "' (commands: " + name_list(subs, more) + ")";
    named += std::string(argv[i]) + " ";
    parent = *found;
  }
  return "";
}

}  // namespace pm::cli
