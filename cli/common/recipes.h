// SPDX-License-Identifier: MIT
#pragma once

// `--recipe NAME`: the hyper-parameters of a published run (URN's, ORANDNet's) as one named set
// of command-line values per command, each with its source. The table in recipes.cpp is the one
// place they live; docs/recipes.md holds the same tables, generated from it
// (recipes_markdown(), checked by cli/tests/test_recipes.cpp). A recipe's value is applied only to
// an option the user did not give, so explicit flags override it.

#include <CLI/CLI.hpp>

#include <string>
#include <utility>
#include <vector>

namespace pm::cli {

/// One value a recipe sets: a flag of the command, its value as typed on the command line
/// ("true"/"false" for a flag without argument), and where the value comes from.
struct RecipeValue {
  std::string flag;
  std::string value;
  std::string source;
};

/// A recipe's values for one command. train-cls has two variants in orandnet-voc (the ResNet
/// and the ViT classifier), chosen by --arch: "vit" when the given --arch names a ViT (deit-*,
/// vit-*), else "" (the default, whose values set --arch).
struct RecipePart {
  std::string command;  ///< "train-cls", "cam", "orandnet train", "train-seg", "predict"
  std::string variant;  ///< "" or "vit"
  std::string title;    ///< what the part trains or runs, for the doc ("ResNet-50 classifier")
  std::vector<RecipeValue> values;
  /// Flags the recipe cannot fill (input files) that the published run used: a note is printed
  /// when the user does not give them.
  std::vector<std::pair<std::string, std::string>> expects;
};

/// A named recipe.
struct Recipe {
  std::string name;
  std::string summary;  ///< one line: the paper and the run
  std::vector<RecipePart> parts;
};

/// Every recipe, in the order docs/recipes.md lists them.
const std::vector<Recipe>& recipes();

/// The recipe called `name`; throws one line naming it and listing the known recipes.
const Recipe& find_recipe(const std::string& name);

/// The part of `recipe` for `command` and `variant`; throws when the recipe has none for the
/// command, naming the commands it covers.
const RecipePart& recipe_part(const Recipe& recipe,
                              const std::string& command,
                              const std::string& variant = "");

/// The variant of train-cls a given --arch value selects ("vit" for deit-*/vit-*, else "").
std::string classifier_variant(const std::string& arch);

/// What apply_recipe did: the values set and the flags the user's own values kept.
struct AppliedRecipe {
  std::vector<RecipeValue> set;
  std::vector<std::string> kept;   ///< flags given on the command line (the recipe's skipped)
  std::vector<std::string> notes;  ///< "--init: ..." for expected inputs not given
};

/// Applies part `part` to the parsed options of `sub`: every value goes to its option unless
/// that option (or one that excludes it, e.g. --epochs for --iterations) was given. Throws one
/// line when `sub` lacks a flag the recipe sets (e.g. a build without --norm-eval).
AppliedRecipe apply_recipe_part(CLI::App* sub, const RecipePart& part, const std::string& recipe);

/// Adds `--recipe NAME` to `sub`.
CLI::Option* add_recipe_flag(CLI::App* sub, std::string& name);

/// With a non-empty `name`: resolves the recipe for `command` (the variant from the parsed
/// --arch where the command has variants), applies it to `sub` and prints one line saying what
/// it set and kept. Call at the start of the command's callback, before the options are used.
void apply_named_recipe(CLI::App* sub, const std::string& command, const std::string& name);

/// docs/recipes.md's generated part: per recipe and command a table value | flag | source.
std::string recipes_markdown();

}  // namespace pm::cli
