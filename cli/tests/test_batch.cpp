// SPDX-License-Identifier: MIT
// The batch helper every batch command runs through: ids, shards, resume, keep-going, the
// summary and the exit status.
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/batch.h"
#include "pseudomask/core/common/error.h"
#include "support/test_paths.h"

namespace pm::cli {
namespace {

BatchOptions quiet_options() {
  BatchOptions o;
  o.jobs = 2;
  o.quiet = true;
  return o;
}

TEST(BatchIds, RepeatsAreDroppedBeforeSharding) {
  const std::vector<std::string> ids{"a", "b", "a", "c", "b", "d"};
  EXPECT_EQ(unique_ids(ids), (std::vector<std::string>{"a", "b", "c", "d"}));
  BatchOptions o = quiet_options();
  o.shard = "1/2";
  EXPECT_EQ(batch_ids(ids, o), (std::vector<std::string>{"b", "d"}));
}

TEST(RunBatch, EachIdOnceResumeSkipsAndKeepGoingExitsThree) {
  BatchOptions o = quiet_options();
  o.resume = true;
  o.keep_going = true;
  std::mutex mutex;
  std::multiset<std::string> worked;
  const BatchReport r = run_batch(
      "test",
      {"a", "b", "a", "bad", "done"},
      o,
      [](const std::string& id) { return id == "done"; },
      [&](const std::string& id) {
        PM_CHECK(id != "bad", "{}.png: not a PNG", id);
        std::lock_guard<std::mutex> lock(mutex);
        worked.insert(id);
      });
  EXPECT_EQ(worked, (std::multiset<std::string>{"a", "b"}));
  EXPECT_EQ(r.done, 2u);
  EXPECT_EQ(r.skipped, 1u);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].id, "bad");
  EXPECT_EQ(r.exit_status(), kExitSkipped);
}

TEST(RunBatch, WithoutKeepGoingTheFirstBadInputStopsTheRun) {
  EXPECT_THROW(run_batch(
                   "test",
                   {"bad"},
                   quiet_options(),
                   [](const std::string&) { return false; },
                   [](const std::string& id) { PM_FAIL("{}.png: not a PNG", id); }),
               Error);
  const BatchReport ok = run_batch(
      "test", {"a"}, quiet_options(), [](const std::string&) { return false; }, [](auto&) {});
  EXPECT_EQ(ok.exit_status(), kExitDone);
}

TEST(BatchSummary, OnePathPerShardAndTheCommonCounts) {
  BatchOptions o = quiet_options();
  EXPECT_EQ(summary_path("out", "crf", o), "out/crf_summary.json");
  o.shard = "2/4";
  EXPECT_EQ(summary_path("out", "crf", o), "out/crf_summary.shard2-4.json");
  test::TempDir dir("batch_summary");
  BatchReport r;
  r.done = 3;
  r.skipped = 1;
  r.failures.push_back({"x", "x.png: not a PNG"});
  write_batch_summary(dir / "s.json", r, {{"mode", "or"}});
  const nlohmann::json j = nlohmann::json::parse(std::ifstream(dir / "s.json"));
  EXPECT_EQ(j["mode"], "or");
  EXPECT_EQ(j["images_done"], 3);
  EXPECT_EQ(j["images_skipped"], 1);
  EXPECT_EQ(j["failures"], 1);
  EXPECT_TRUE(j.contains("seconds"));
}

TEST(BatchOut, NeverAnInputFolder) {
  test::TempDir dir("batch_out");
  EXPECT_NO_THROW(check_out_is_no_input(dir / "out", {dir.str(), ""}));
  EXPECT_THROW(check_out_is_no_input(dir.str(), {dir / "other", dir.str()}), Error);
}

TEST(BatchFooter, EveryBatchHelpEndsWithTheExitStatus) {
  const std::string footer = batch_footer("Example:\n  pseudomask crf ...");
  EXPECT_EQ(footer.rfind("Example:", 0), 0u);
  EXPECT_NE(footer.find(kExitStatusHelp), std::string::npos);
  EXPECT_NE(footer.find("3 --keep-going skipped some inputs"), std::string::npos);
}

}  // namespace
}  // namespace pm::cli
