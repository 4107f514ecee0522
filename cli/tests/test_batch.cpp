// SPDX-License-Identifier: MIT
// The batch helper every batch command runs through: ids, shards, resume, keep-going, the
// summary and the exit status.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "common/batch.h"
#include "pseudomask/core/common/error.h"
#include "support/expect_error.h"
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

TEST(BatchIds, EveryIdIsAPlainFileName) {
  // Whatever their source, ids reach no path outside the folders given.
  test::expect_error(
      [] {
        batch_ids({"a", "../../victim/target"}, quiet_options());
      },
      {"image id '../../victim/target'", "path separator"});
  EXPECT_THROW(run_batch(
                   "test",
                   {"/etc/passwd"},
                   quiet_options(),
                   [](const std::string&) { return false; },
                   [](const std::string&) { FAIL() << "an invalid id reached the work"; }),
               Error);
}

TEST(BatchOut, SamePathAfterNormalising) {
  test::TempDir dir("same_path");
  EXPECT_TRUE(same_path(dir.str(), dir / "." + "/"));
  EXPECT_TRUE(same_path("r.csv", "./r.csv"));
  EXPECT_FALSE(same_path("r.csv", "r.json"));
  EXPECT_FALSE(same_path("", ""));
}

TEST(ResourceErrors, OutOfMemoryAndFilesystemErrorsAreBadInputNotBugs) {
  EXPECT_EQ(resource_error_message(std::bad_alloc()), "out of memory (std::bad_alloc)");
  const std::filesystem::filesystem_error loop(
      "x", "in/loop", std::make_error_code(std::errc::too_many_symbolic_link_levels));
  EXPECT_EQ(resource_error_message(loop), "in/loop: Too many levels of symbolic links");
  EXPECT_EQ(resource_error_message(std::logic_error("bug")), "");
}

/// Writes `text` to `path` and dates it `age` before now.
void write_aged(const std::string& path, const std::string& text, std::chrono::seconds age) {
  std::ofstream(path) << text;
  std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now() - age);
}

TEST(ResumeRecord, TrustsOnlyCompleteOutputsOfTheSameSettings) {
  test::TempDir dir("resume_record");
  BatchOptions o = quiet_options();
  const nlohmann::json hard = {{"mode", "hard"}}, prob = {{"mode", "prob"}};
  {
    const ResumeRecord record(dir.str(), "urn", hard, o);
    EXPECT_EQ(record.path(), dir / "urn_settings.json");
    write_aged(dir / "a.png", "png", std::chrono::seconds(0));
    write_aged(dir / "empty.png", "", std::chrono::seconds(0));
    write_aged(dir / "old.png", "png", std::chrono::seconds(60));  // before the record
    EXPECT_TRUE(record.complete({dir / "a.png"}));
    EXPECT_FALSE(record.complete({dir / "a.png", dir / "missing.npy"}));
    EXPECT_FALSE(record.complete({dir / "empty.png"}));
    EXPECT_FALSE(record.complete({dir / "old.png"}));
  }
  o.resume = true;
  // The same settings: the record is kept and its outputs trusted.
  EXPECT_TRUE(ResumeRecord(dir.str(), "urn", hard, o).complete({dir / "a.png"}));
  // Other settings: --resume refuses, naming what differs.
  test::expect_error([&] { ResumeRecord(dir.str(), "urn", prob, o); },
                     {"--resume: the outputs in " + dir.str() + " were made with other settings",
                      "mode: \"hard\" -> \"prob\""});
  // A run without --resume records its settings; outputs from before count as stale.
  write_aged(dir / "a.png", "png", std::chrono::seconds(60));
  o.resume = false;
  ResumeRecord(dir.str(), "urn", prob, o);
  o.resume = true;
  const ResumeRecord now(dir.str(), "urn", prob, o);
  EXPECT_FALSE(now.complete({dir / "a.png"}));
}

TEST(BatchFooter, EveryBatchHelpEndsWithTheExitStatus) {
  const std::string footer = batch_footer("Example:\n  pseudomask crf ...");
  EXPECT_EQ(footer.rfind("Example:", 0), 0u);
  EXPECT_NE(footer.find(kExitStatusHelp), std::string::npos);
  EXPECT_NE(footer.find("3 --keep-going skipped some inputs"), std::string::npos);
}

}  // namespace
}  // namespace pm::cli
