// SPDX-License-Identifier: MIT
#include "common/unknown_command.h"

#include <algorithm>
#include <string>
#include <vector>

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

/// Edit distance (insertions, deletions, substitutions, swaps of neighbours) between a and b.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t change = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + change});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

/// "; did you mean 'eval'?" naming the commands nearest to `word` (at most a third of its
/// letters changed, at least one), or "" when none is that near.
std::string suggestion(const std::string& word, const std::vector<std::string>& names) {
  const size_t limit = std::max<size_t>(1, word.size() / 3);
  size_t best = limit + 1;
  std::vector<std::string> nearest;
  for (const std::string& name : names) {
    const size_t d = edit_distance(word, name);
    if (d < best)
      nearest.clear();
    if (d <= std::min(best, limit)) {
      best = d;
      nearest.push_back(name);
    }
  }
  std::string text;
  for (size_t i = 0; i < nearest.size(); ++i)
    text += (i == 0                    ? "; did you mean '"
             : i + 1 == nearest.size() ? " or '"
                                       : ", '") +
            nearest[i] + "'";
  return text.empty() ? "" : text + "?";
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
    if (found == subs.end()) {
      std::vector<std::string> names;
      for (const CLI::App* sub : subs)
        names.push_back(sub->get_name());
      names.insert(names.end(), more.begin(), more.end());
      return "unknown command '" + named + argv[i] + "'" + suggestion(argv[i], names) +
             " (commands: " + name_list(subs, more) + ")";
    }
    named += std::string(argv[i]) + " ";
    parent = *found;
  }
  return "";
}

}  // namespace pm::cli
