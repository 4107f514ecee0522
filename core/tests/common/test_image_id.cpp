// SPDX-License-Identifier: MIT
// Image ids: one rule for every source (lists, folders, --ids), so no id reaches outside the
// folders a command is given.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "../support/expect_error.h"
#include "../support/test_paths.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/image_id.h"

namespace pm {
namespace {

TEST(ImageId, PlainFileNamesOnly) {
  for (const std::string id : {"2007_000032", "a.b", ".hidden", "...", "café", "x y"})
    EXPECT_EQ(image_id_problem(id), "") << id;
  EXPECT_EQ(image_id_problem(""), "is empty");
  EXPECT_NE(image_id_problem(".."), "");
  EXPECT_NE(image_id_problem("."), "");
  for (const std::string id : {"../../victim/target", "/etc/passwd", "a/b", "a\\b"})
    EXPECT_NE(image_id_problem(id).find("path separator"), std::string::npos) << id;
  EXPECT_NE(image_id_problem(std::string("a\0b", 3)).find("control"), std::string::npos);
  EXPECT_NE(image_id_problem("a\x1b]0;title\x07").find("control"), std::string::npos);
}

TEST(ImageId, TheErrorNamesTheSourceAndEscapesTheId) {
  test::expect_error([] { check_image_id("../../victim/target", "--ids"); },
                     {"--ids: image id '../../victim/target'", "path separator"});
  const std::string msg = test::error_of([] { check_image_id("a\x1b[2Jb\n", "--ids"); });
  EXPECT_NE(msg.find("a\\x1b[2Jb\\x0a"), std::string::npos) << msg;
}

TEST(ReadIdList, RefusesParentReferencesAndBadIdsNamingTheLine) {
  test::TempDir dir("id_list");
  const std::string list = dir / "list.txt";
  {
    std::ofstream(list) << "# VOC and IRN lists\n2007_000032\n/JPEGImages/2007_000039.jpg "
                           "/SegmentationClassAug/2007_000039.png\nx.png\n";
  }
  EXPECT_EQ(read_id_list(list), (std::vector<std::string>{"2007_000032", "2007_000039", "x"}));
  { std::ofstream(list) << "2007_000032\n../../victim/target\n"; }
  test::expect_error([&] { read_id_list(list); }, {list + ":2:", "'../../victim/target'", "'..'"});
  { std::ofstream(list) << "..\n"; }
  test::expect_error([&] { read_id_list(list); }, {list + ":1:"});
  { std::ofstream(list) << "ok\nbad\x1b[2J\n"; }
  test::expect_error([&] { read_id_list(list); }, {list + ":2:", "bad\\x1b[2J", "control"});
}

}  // namespace
}  // namespace pm
