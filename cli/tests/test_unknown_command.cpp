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
            "unknown command 'orandnet tain'; did you mean 'train'? (commands: train, infer)");
  EXPECT_EQ(error_for(app, {"eval", "--gt", "x"}), "");
  EXPECT_EQ(error_for(app, {"inspect", "a.npy", "b.npy"}), "");  // a leaf command's arguments
  EXPECT_EQ(error_for(app, {"orandnet", "infer", "--out", "x"}), "");
  EXPECT_EQ(error_for(app, {"cam", "--help"}), "");  // run by the libtorch module
  EXPECT_EQ(error_for(app, {"--help"}), "");
  EXPECT_EQ(error_for(app, {}), "");
}

TEST(UnknownCommand, SuggestsTheNearestCommands) {
  CLI::App app;
  for (const char* name : {"eval", "eval-cam", "inspect", "train-cls", "train-seg", "crf"})
    app.add_subcommand(name);
  EXPECT_EQ(error_for(app, {"evl"}),
            "unknown command 'evl'; did you mean 'eval'? (commands: eval, eval-cam, inspect, "
            "train-cls, train-seg, crf, cam)");
  auto first_part = [](const std::string& error) { return error.substr(0, error.find(" (")); };
  EXPECT_EQ(first_part(error_for(app, {"evalcam"})),
            "unknown command 'evalcam'; did you mean 'eval-cam'?");
  EXPECT_EQ(first_part(error_for(app, {"insepct", "x.png"})),
            "unknown command 'insepct'; did you mean 'inspect'?");  // swapped letters
  EXPECT_EQ(first_part(error_for(app, {"train-sag"})),
            "unknown command 'train-sag'; did you mean 'train-seg'?");
  EXPECT_EQ(first_part(error_for(app, {"train-irn"})),
            "unknown command 'train-irn'; did you mean 'train-cls' or 'train-seg'?");
  EXPECT_EQ(first_part(error_for(app, {"cma"})), "unknown command 'cma'; did you mean 'cam'?");
  EXPECT_EQ(first_part(error_for(app, {"segment"})), "unknown command 'segment'");  // none near
}

}  // namespace
}  // namespace pm::cli
