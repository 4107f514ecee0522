// SPDX-License-Identifier: MIT
// The CLI's flag parsers (strings to core's typed options) and its map from option fields to
// flags.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/flags.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/synth/synth.h"
#include "support/expect_error.h"

namespace pm::cli {
namespace {

TEST(FlagNames, CoreFieldsBecomeTheFlagsThatSetThem) {
  EXPECT_EQ(with_flag_names("SynthOptions::size 8: expected 32 to 1024 pixels"),
            "--size 8: expected 32 to 1024 pixels");
  EXPECT_EQ(with_flag_names("SynthOptions::train 0 SynthOptions::val 0: nothing to generate"),
            "--train 0 --val 0: nothing to generate");
  EXPECT_EQ(with_flag_names("a.png: not a PNG"), "a.png: not a PNG");
  SynthOptions o;
  o.max_objects = 9;
  const std::string core = test::error_of([&] { o.validate(); });
  EXPECT_NE(core.find("SynthOptions::max_objects 9"), std::string::npos) << core;
  EXPECT_EQ(with_flag_names(core).rfind("--max-objects 9", 0), 0u) << core;
}

TEST(FlagNames, UrnAndCrfFieldsBecomeTheirFlags) {
  UrnOptions urn = UrnOptions::preset(UrnDataset::kVoc);
  urn.threshold = 2;
  const std::string core = test::error_of([&] { urn.validate(); });
  EXPECT_EQ(with_flag_names(core).rfind("--threshold must be in [0, 1]", 0), 0u) << core;
  CrfParams crf = CrfParams::preset(CrfPreset::kDeepLab);
  crf.iterations = -1;
  EXPECT_EQ(with_flag_names(test::error_of([&] { crf.validate(); })).rfind("--iters must", 0), 0u);
}

TEST(ParseShard, IndexOfCount) {
  EXPECT_EQ(parse_shard("").count, 1u);
  const ShardSpec s = parse_shard("1/3");
  EXPECT_EQ(s.index, 1u);
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(take_shard({"a", "b", "c", "d", "e"}, s), (std::vector<std::string>{"b", "e"}));
  test::expect_error([] { parse_shard("3"); }, {"--shard 3: expected INDEX/COUNT"});
  test::expect_error([] { parse_shard("x/2"); }, {"--shard x/2: expected INDEX/COUNT"});
  test::expect_error([] { parse_shard("2/2"); }, {"--shard 2/2: need 0 <= INDEX < COUNT"});
  test::expect_error([] { take_shard({"a"}, ShardSpec{2, 2}); }, {"ShardSpec 2/2"});
}

TEST(ParseShard, DecimalDigitsOnlyNothingAfter) {
  // "0/-2" read as 0 of 2^64 - 2 shards, "0/2abc" as 0/2: both ran silently before.
  for (const std::string spec : {"0/-2",
                                 "0/2abc",
                                 "-1/2",
                                 "+0/2",
                                 " 0/2",
                                 "0/ 2",
                                 "0/",
                                 "/2",
                                 "0/2/3",
                                 "0/99999999999999999999"}) {
    test::expect_error([&] { parse_shard(spec); },
                       {"--shard " + spec + ": expected INDEX/COUNT in decimal digits"});
  }
  test::expect_error([] { parse_shard("0/0"); }, {"--shard 0/0: need 0 <= INDEX < COUNT"});
  EXPECT_EQ(parse_shard("007/10").index, 7u);
}

TEST(ParseThresholds, SweepOrList) {
  EXPECT_EQ(parse_thresholds("0.1:0.3:0.1"), (std::vector<float>{0.1f, 0.2f, 0.3f}));
  EXPECT_EQ(parse_thresholds("0.3,0.1"), (std::vector<float>{0.1f, 0.3f}));
  EXPECT_EQ(parse_thresholds("0:1:0.01").size(), 101u);
  EXPECT_THROW(parse_thresholds("0.1:0.3"), Error);
  EXPECT_THROW(parse_thresholds("a,b"), Error);
  test::expect_error([] { parse_thresholds("0.1:0.3:0"); }, {"--thresholds 0.1:0.3:0"});
  EXPECT_EQ(with_flag_names(test::error_of([] { parse_thresholds("0:1:0.000001"); })),
            "--thresholds 0:1:1e-06: too many thresholds");
}

TEST(ParseDatasetLayout, NamesAndUnknownOnes) {
  EXPECT_EQ(parse_dataset_layout("voc"), DatasetLayout::kVoc);
  EXPECT_EQ(parse_dataset_layout("coco"), DatasetLayout::kCoco);
  EXPECT_EQ(parse_dataset_layout("coco91"), DatasetLayout::kCoco91);
  EXPECT_EQ(parse_dataset_layout("generic"), DatasetLayout::kGeneric);
  test::expect_error([] { parse_dataset_layout("coco80"); }, {"--layout coco80"});
}

// Whatever a message quotes (a file name with an escape sequence, a huge value), the line that
// reaches the terminal holds no control byte and has a bounded length; escapes made earlier stay.
TEST(FlagNames, MessagesAreMadeSafeForTheTerminal) {
  EXPECT_EQ(with_flag_names("a\x1b]0;title\x07.png: not a PNG"),
            "a\\x1b]0;title\\x07.png: not a PNG");
  EXPECT_EQ(with_flag_names("line\nbreak \\x1b kept"), "line\\x0abreak \\x1b kept");
  const std::string huge = with_flag_names(std::string(100000, 'x'));
  EXPECT_LT(huge.size(), 4200u);
  EXPECT_NE(huge.find("... (100000 bytes)"), std::string::npos);
}

// Every enum word round-trips through core's name, and a bad one names the flag and the choices.
TEST(EnumFlags, WordsBecomeCoresEnums) {
  EXPECT_EQ(ensemble_mode_flag("--mode", "and"), EnsembleMode::kAnd);
  EXPECT_EQ(ensemble_mode_flag("--mode", "mean"), EnsembleMode::kMean);
  EXPECT_EQ(low_res_policy_flag("--low-res", "downsample"), LowResPolicy::kDownsample);
  EXPECT_EQ(background_model_flag("--background", "constant"), BackgroundModel::kConstant);
  EXPECT_EQ(uncertain_rule_flag("--uncertain", "disagree"), UncertainRule::kAnyDisagreement);
  EXPECT_EQ(crf_preset_flag("--preset", "irn"), CrfPreset::kIrn);
  EXPECT_EQ(urn_dataset_flag("--preset", "coco"), UrnDataset::kCoco);
  test::expect_error([] { ensemble_mode_flag("--mode", "xor"); },
                     {"--mode xor: expected or, and or mean"});
  test::expect_error([] { low_res_policy_flag("--low-res", "half"); },
                     {"--low-res half: expected combine, downsample or none"});
  test::expect_error([] { background_model_flag("--background", "linear"); },
                     {"--background linear: expected power or constant"});
  test::expect_error([] { uncertain_rule_flag("--uncertain", "all"); },
                     {"--uncertain all: expected irn or disagree"});
}

}  // namespace
}  // namespace pm::cli
