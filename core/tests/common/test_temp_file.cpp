// SPDX-License-Identifier: MIT
// write_file_atomic's temp files (issue 17, item 6): created exclusively, never through a planted
// symlink; target names up to 255 bytes work; temp files of dead processes are cleaned up.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/temp_file.h"

namespace pm {
namespace {

namespace fs = std::filesystem;

class TempFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pm_temp_file_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string contents(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Names in the folder that start with the temp prefix.
  size_t temp_files_left() const {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir_))
      n += e.path().filename().string().rfind(".pm-tmp-", 0) == 0;
    return n;
  }

  fs::path dir_;
};

// A pid that is certainly not running: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0)
    ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

TEST_F(TempFiles, PlantedSymlinksAtTheNextTempNamesAreNeverFollowed) {
  const std::string victim = path("victim.txt");
  std::ofstream(victim) << "precious";
  // Learn where the name counter stands, then plant links at the next 50 names.
  const TempFile probe = create_temp_file(dir_.string(), "probe");
  ::close(probe.fd);
  const std::string stem = probe.path.substr(0, probe.path.rfind('-') + 1);
  const unsigned next = static_cast<unsigned>(std::stoul(probe.path.substr(stem.size()))) + 1;
  for (unsigned n = next; n < next + 50; ++n)
    fs::create_symlink(victim, stem + std::to_string(n));
  fs::remove(probe.path);

  write_file_atomic(path("out.txt"), std::string("new data"));
  EXPECT_EQ(contents(victim), "precious");
  EXPECT_EQ(contents(path("out.txt")), "new data");
  for (unsigned n = next; n < next + 50; ++n)
    EXPECT_TRUE(fs::is_symlink(stem + std::to_string(n))) << n;
}

TEST_F(TempFiles, ASymlinkAtTheTargetIsReplacedNotWrittenThrough) {
  const std::string victim = path("victim.txt");
  std::ofstream(victim) << "precious";
  fs::create_symlink(victim, path("out.txt"));
  write_file_atomic(path("out.txt"), std::string("new data"));
  EXPECT_EQ(contents(victim), "precious");
  EXPECT_FALSE(fs::is_symlink(path("out.txt")));
  EXPECT_EQ(contents(path("out.txt")), "new data");
}

TEST_F(TempFiles, NamesOf241To255BytesWork) {
  for (size_t length : {241, 250, 255}) {
    const std::string name = std::string(length - 4, 'n') + ".png";
    write_file_atomic(path(name), std::string("x"));
    EXPECT_EQ(contents(path(name)), "x") << length;
  }
  EXPECT_EQ(temp_files_left(), 0u);
}

TEST_F(TempFiles, OrphansOfDeadProcessesAreRemovedByTheNextWrite) {
  const std::string prefix = temp_file_prefix();
  const std::string dead = std::to_string(dead_pid());
  const std::string alive = std::to_string(::getppid());
  const std::vector<std::string> orphans = {prefix + dead + "-0", prefix + dead + "-17"};
  const std::vector<std::string> kept = {
      prefix + alive + "-3",              // a running process's file in progress
      ".pm-tmp-00000000-" + dead + "-0",  // another machine's (unless ours hashes to 0)
      prefix + dead + "-0x",              // not our exact pattern
      prefix + dead,                      // no counter
      "out.png.tmp." + dead + ".0",       // the old pattern: not ours to judge
      "notes.txt",
  };
  for (const std::string& n : orphans)
    std::ofstream(path(n)) << "orphan";
  for (const std::string& n : kept)
    std::ofstream(path(n)) << "keep";
  fs::create_directory(path(prefix + dead + "-99"));  // a folder is never removed

  write_file_atomic(path("out.png"), std::string("x"));
  for (const std::string& n : orphans)
    EXPECT_FALSE(fs::exists(path(n))) << n;
  if (prefix != ".pm-tmp-00000000-") {  // (our host could hash to the other machine's tag)
    for (const std::string& n : kept)
      EXPECT_TRUE(fs::exists(path(n))) << n;
  }
  EXPECT_TRUE(fs::is_directory(path(prefix + dead + "-99")));
  EXPECT_EQ(remove_orphaned_temp_files(dir_.string()), 0u);  // nothing left to remove
}

TEST_F(TempFiles, ACreateFailureNamesTheTarget) {
  try {
    create_temp_file(path("no/such/folder"), "labels/x.png");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("labels/x.png: cannot create a temporary file in ", 0), 0u) << msg;
    EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace pm
