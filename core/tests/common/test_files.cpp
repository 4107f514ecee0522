// SPDX-License-Identifier: MIT
// Listing an input folder and finding inputs in it: an entry that cannot be read (a symbolic
// link loop) is an input that fails when read, naming the file, and never stops the listing.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../support/expect_error.h"
#include "../support/test_paths.h"
#include "pseudomask/core/common/files.h"

namespace fs = std::filesystem;

namespace pm {
namespace {

TEST(ListFiles, ASymlinkLoopIsListedAndFailsWhenReadNamingIt) {
  test::TempDir dir("list_loop");
  { std::ofstream(dir / "a.png") << "x"; }
  fs::create_symlink("loop.png", dir / "loop.png");         // a link to itself
  fs::create_symlink("nowhere.png", dir / "dangling.png");  // a missing file, as before
  fs::create_directory(dir / "folder.png");
  EXPECT_EQ(list_files(dir.str(), {".png"}),
            (std::vector<std::string>{dir / "a.png", dir / "loop.png"}));
  EXPECT_EQ(find_by_stem(dir.str(), "loop", {".png"}), dir / "loop.png");
  EXPECT_EQ(find_by_stem(dir.str(), "dangling", {".png"}), "");
  EXPECT_EQ(find_by_stem(dir.str(), "folder", {".png"}), "");
  test::expect_error([&] { read_file_bytes(dir / "loop.png"); },
                     {dir / "loop.png", "cannot read (Too many levels of symbolic links)"});
  test::expect_error([&] { read_file_bytes(dir / "dangling.png"); }, {"no such file"});
}

TEST(ListFiles, AFolderThatIsALinkLoopIsNoFolder) {
  test::TempDir dir("list_loop_dir");
  fs::create_symlink("self", dir / "self");
  test::expect_error([&] { list_files(dir / "self", {".png"}); }, {dir / "self"});
}

TEST(ReadFileBytes, AFifoIsRefusedNotWaitedOn) {
  test::TempDir dir("fifo");
  ASSERT_EQ(::mkfifo((dir / "pipe.npy").c_str(), 0600), 0);
  test::expect_error([&] { read_file_bytes(dir / "pipe.npy"); },
                     {dir / "pipe.npy", "not a regular file"});
}

}  // namespace
}  // namespace pm
