// SPDX-License-Identifier: MIT
// `--recipe NAME`: the table of published hyper-parameters (cli/common/recipes.cpp), the doc
// generated from it (docs/recipes.md), and how a recipe lands on a command's parsed options
// (explicit flags win).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/recipes.h"
#include "pseudomask/core/common/error.h"
#include "support/expect_error.h"

namespace pm::cli {
namespace {

constexpr const char* kBegin = "<!-- recipes:begin (generated from cli/common/recipes.cpp) -->\n";
constexpr const char* kEnd = "<!-- recipes:end -->\n";

/// The values of a part by flag.
std::map<std::string, std::string> values_of(const std::string& recipe,
                                             const std::string& command,
                                             const std::string& variant = "") {
  std::map<std::string, std::string> out;
  for (const RecipeValue& v : recipe_part(find_recipe(recipe), command, variant).values)
    out[v.flag] = v.value;
  return out;
}

/// A command with one string option per flag the part sets (and --arch), parsed from `args`.
struct FakeCommand {
  CLI::App app{"fake"};
  std::map<std::string, std::string> values;

  FakeCommand(const RecipePart& part, std::vector<std::string> args) {
    std::vector<std::string> flags = {"--arch", "--iterations", "--epochs"};
    for (const RecipeValue& v : part.values)
      flags.push_back(v.flag);
    for (const std::string& f : flags)
      if (app.get_option_no_throw(f) == nullptr)
        app.add_option(f, values[f]);
    std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
    app.parse(args);
  }
};

TEST(Recipes, DocsRecipesMdHoldsTheGeneratedTables) {
  std::ifstream in(PM_RECIPES_DOC);
  ASSERT_TRUE(in) << PM_RECIPES_DOC;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const size_t b = doc.find(kBegin), e = doc.find(kEnd);
  ASSERT_NE(b, std::string::npos) << "docs/recipes.md has no begin marker";
  ASSERT_NE(e, std::string::npos) << "docs/recipes.md has no end marker";
  const std::string generated = recipes_markdown();
  const std::string held =
      doc.substr(b + std::string(kBegin).size(), e - b - std::string(kBegin).size());
  if (held != generated && std::getenv("PM_WRITE_RECIPES_DOC") != nullptr) {
    std::ofstream(PM_RECIPES_DOC) << doc.substr(0, b) << kBegin << generated << doc.substr(e);
    GTEST_SKIP() << "rewrote " << PM_RECIPES_DOC;
  }
  EXPECT_EQ(held, generated)
      << "docs/recipes.md is out of date: rerun this test with PM_WRITE_RECIPES_DOC=1";
}

TEST(Recipes, UrnVocIsMmsegPspnetAsUrnRanIt) {
  const auto v = values_of("urn-voc", "train-seg");
  EXPECT_EQ(v.at("--lr"), "0.005");
  EXPECT_EQ(v.at("--head-lr-mult"), "1");
  EXPECT_EQ(v.at("--momentum"), "0.9");
  EXPECT_EQ(v.at("--weight-decay"), "5e-4");
  EXPECT_EQ(v.at("--lr-schedule"), "poly");
  EXPECT_EQ(v.at("--min-lr"), "1e-4");
  EXPECT_EQ(v.at("--iterations"), "20000");
  EXPECT_EQ(v.at("--batch-size"), "16");
  EXPECT_EQ(v.at("--crop"), "512");
  EXPECT_EQ(v.at("--scale-range"), "0.5,2.0");
  EXPECT_EQ(v.at("--scale-base"), "2048x512");
  EXPECT_EQ(v.at("--cat-max-ratio"), "0.75");
  EXPECT_EQ(v.at("--no-flip"), "false");
  EXPECT_EQ(v.at("--no-photometric"), "false");
  EXPECT_EQ(v.at("--aux-weight"), "0.4");
  EXPECT_EQ(v.at("--norm-eval"), "true");
  const auto t = values_of("urn-voc", "predict");
  EXPECT_EQ(t.at("--scales"), "0.5,0.75,1.0,1.25,1.5,1.75");
  EXPECT_EQ(t.at("--scale-base"), "2048x512");
  EXPECT_EQ(t.at("--flip"), "true");
  const auto c = values_of("urn-coco", "train-seg");
  EXPECT_EQ(c.at("--iterations"), "40000");
  EXPECT_EQ(c.at("--lr"), "0.01");
  EXPECT_EQ(c.at("--min-lr"), "5e-5");
  EXPECT_EQ(c.at("--scale-base"), "2048x512");
}

TEST(Recipes, OrandnetVocIsThePapersSetUp) {
  const auto r = values_of("orandnet-voc", "train-cls");
  EXPECT_EQ(r.at("--arch"), "resnet50");
  EXPECT_EQ(r.at("--lr"), "0.01");
  EXPECT_EQ(r.at("--lr-schedule"), "poly");
  EXPECT_EQ(r.at("--weight-decay"), "5e-4");
  const auto v = values_of("orandnet-voc", "train-cls", "vit");
  EXPECT_EQ(v.count("--arch"), 0u);  // the user's --arch chose this part
  EXPECT_EQ(v.at("--lr"), "1e-3");
  EXPECT_EQ(v.at("--lr-schedule"), "cosine");
  EXPECT_EQ(v.at("--weight-decay"), "1e-5");
  const auto o = values_of("orandnet-voc", "orandnet train");
  EXPECT_EQ(o.at("--lr"), "1e-3");
  EXPECT_EQ(o.at("--weight-decay"), "0");
  EXPECT_EQ(o.at("--width"), "vgg16");
  EXPECT_EQ(o.at("--loss"), "balanced-ls");
  const auto s = values_of("orandnet-voc", "train-seg");
  EXPECT_EQ(s.at("--arch"), "deeplab-largefov-resnet38d");
  EXPECT_EQ(s.at("--scale-schedule"), "8:2,4:4,2:6");
  EXPECT_EQ(classifier_variant("deit-base"), "vit");
  EXPECT_EQ(classifier_variant("vit-tiny"), "vit");
  EXPECT_EQ(classifier_variant("resnet50"), "");
}

TEST(Recipes, EveryValueLandsOnAnOptionTheUserLeftAlone) {
  for (const Recipe& r : recipes()) {
    for (const RecipePart& part : r.parts) {
      SCOPED_TRACE(r.name + " " + part.command + " " + part.variant);
      EXPECT_FALSE(part.values.empty());
      FakeCommand cmd(part, {});
      const AppliedRecipe done = apply_recipe_part(&cmd.app, part, r.name);
      EXPECT_TRUE(done.kept.empty());
      EXPECT_EQ(done.set.size(), part.values.size());
      for (const RecipeValue& v : part.values) {
        EXPECT_EQ(cmd.values.at(v.flag), v.value) << v.flag;
        EXPECT_FALSE(v.source.empty()) << v.flag;
      }
    }
  }
}

TEST(Recipes, ExplicitFlagsOverrideAndExcludeTheirAlternatives) {
  const RecipePart& part = recipe_part(find_recipe("urn-voc"), "train-seg");
  FakeCommand cmd(part, {"--lr", "0.5", "--epochs", "3"});
  const AppliedRecipe done = apply_recipe_part(&cmd.app, part, "urn-voc");
  EXPECT_EQ(cmd.values.at("--lr"), "0.5");
  EXPECT_EQ(cmd.values.at("--epochs"), "3");
  EXPECT_EQ(cmd.values.at("--iterations"), "");  // excluded by the user's --epochs
  EXPECT_EQ(cmd.values.at("--momentum"), "0.9");
  EXPECT_EQ(done.kept, (std::vector<std::string>{"--iterations", "--lr"}));
  ASSERT_FALSE(done.notes.empty());
  EXPECT_NE(done.notes[0].find("--pretrained"), std::string::npos) << done.notes[0];
}

TEST(Recipes, BadNamesAndCommandsFailInOneLine) {
  test::expect_error([] { find_recipe("urn"); },
                     {"--recipe urn", "unknown", "urn-voc, urn-coco, orandnet-voc"});
  test::expect_error([] { recipe_part(find_recipe("urn-voc"), "train-cls"); },
                     {"urn-voc", "not a recipe for train-cls", "train-seg, predict"});
  // A build without a flag the recipe sets refuses it, naming the flag.
  const RecipePart& part = recipe_part(find_recipe("urn-voc"), "train-seg");
  CLI::App app{"fake"};
  std::string lr;
  app.add_option("--lr", lr);
  app.parse(std::vector<std::string>{});
  test::expect_error([&] { apply_recipe_part(&app, part, "urn-voc"); },
                     {"--recipe urn-voc", "train-seg has no --arch"});
  EXPECT_EQ(lr, "");  // nothing applied
}

}  // namespace
}  // namespace pm::cli
