// SPDX-License-Identifier: MIT
// for_each_item: a batch's per-item errors, including running out of memory and filesystem
// errors, which are the item's error (named), never an internal error that ends the batch.
#include <gtest/gtest.h>

#include <filesystem>
#include <new>
#include <string>
#include <system_error>
#include <vector>

#include "../support/expect_error.h"
#include "pseudomask/core/common/parallel.h"

namespace pm {
namespace {

void fail_like_a_bad_file(const std::string& id) {
  if (id == "huge")
    throw std::bad_alloc();
  if (id == "loop") {
    throw std::filesystem::filesystem_error(
        "cannot get file status",
        "in/loop.png",
        std::make_error_code(std::errc::too_many_symbolic_link_levels));
  }
  PM_CHECK(id != "bad", "in/{}.png: not a PNG", id);
}

TEST(ForEachItem, OutOfMemoryAndFilesystemErrorsAreTheItemsError) {
  const std::vector<std::string> ids{"a", "huge", "b", "loop", "bad", "c"};
  std::vector<int> worked(ids.size(), 0);
  const std::vector<ItemFailure> failures =
      for_each_item(ids, 2, /*keep_going=*/true, {}, [&](size_t i) {
        fail_like_a_bad_file(ids[i]);
        worked[i] = 1;
      });
  EXPECT_EQ(worked, (std::vector<int>{1, 0, 1, 0, 0, 1}));
  ASSERT_EQ(failures.size(), 3u);
  EXPECT_EQ(failures[0].id, "huge");
  EXPECT_EQ(failures[0].message,
            "image 'huge': out of memory while processing it (std::bad_alloc)");
  EXPECT_EQ(failures[1].id, "loop");
  EXPECT_EQ(failures[1].message, "in/loop.png: Too many levels of symbolic links (image 'loop')");
  EXPECT_EQ(failures[2].message, "in/bad.png: not a PNG");
}

TEST(ForEachItem, WithoutKeepGoingTheyStopTheRunAsOneLineErrors) {
  for (const std::string id : {"huge", "loop"}) {
    test::expect_error(
        [&] {
          for_each_item(
              {id}, 1, /*keep_going=*/false, {}, [&](size_t) { fail_like_a_bad_file(id); });
        },
        {"image '" + id + "'"});
  }
}

}  // namespace
}  // namespace pm
