// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/unknown_command.h"

namespace pm::cli {
namespace {

std::string error_for(const CLI::App& app, const std::vector<const char*>& args) {
  std::vector<const char*> argv{"pseudomask"};
  argv.insert(argv.end(), args.begin(), args.end());
  return unknown_command_error(app, static_cast<int>(argv.size()), argv.data(), {"cam"});
}

TEST(UnknownCommand, NamesTheWordAndListsTheCommands) {
  CLI::App app;
  app.add_subcommand("eval");
  app.add_subcommand("inspect");
  CLI::App* orandnet = app.add_subcommand("orandnet");
  orandnet->add_subcommand("train");
  orandnet->add_subcommand("infer");
  EXPECT_EQ(error_for(app, {"train-irn", "--help"}),
            "unknown command 'train-irn' (commands: eval, inspect, orandnet, cam)");
  EXPECT_EQ(error_for(app, {"orandnet", "tain", "--help"}),
            "unknown command 'orandnet tain' (commands: train, infer)");
  EXPECT_EQ(error_for(app, {"eval", "--gt", "x"}), "");
  EXPECT_EQ(error_for(app, {"inspect", "a.npy", "b.npy"}), "");  // a leaf command's arguments
  EXPECT_EQ(error_for(app, {"orandnet", "infer", "--out", "x"}), "");
  EXPECT_EQ(error_for(app, {"cam", "--help"}), "");  // run by the libtorch module
  EXPECT_EQ(error_for(app, {"--help"}), "");
  EXPECT_EQ(error_for(app, {}), "");
}

}  // namespace
}  // namespace pm::cli
