// SPDX-License-Identifier: MIT
// Tests of the cls_labels.npy reader on files written by real numpy 1.24
// (tests/fixtures/make_cam_fixtures.py).
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "../support/expect_error.h"
#include "pseudomask/core/datasets/cls_labels.h"

namespace pm {
namespace {

using test::error_of;

std::string cam_path(const std::string& name) {
  return std::string(PM_FIXTURE_DIR) + "/cams/" + name;
}

std::vector<uint8_t> hot(size_t n, std::initializer_list<size_t> classes) {
  std::vector<uint8_t> v(n, 0);
  for (size_t c : classes)
    v[c] = 1;
  return v;
}

TEST(CamClsLabels, StringAndIrnIntegerIds) {
  for (const char* name : {"cls_labels_str.npy", "cls_labels_int.npy"}) {
    SCOPED_TRACE(name);
    const ClsLabels labels = read_cls_labels(cam_path(name));
    EXPECT_EQ(labels.num_classes, 20);
    ASSERT_EQ(labels.multi_hot.size(), 2u);
    EXPECT_EQ(labels.multi_hot.at("2007_000032"), hot(20, {0, 14}));
    EXPECT_EQ(labels.multi_hot.at("2008_000002"), hot(20, {19}));
  }
}

TEST(CamClsLabels, CocoSizedUint8AndBoolVectors) {
  const ClsLabels labels = read_cls_labels(cam_path("cls_labels_coco.npy"));
  EXPECT_EQ(labels.num_classes, 80);
  EXPECT_EQ(labels.multi_hot.at("000000000009"), hot(80, {0, 79}));
  EXPECT_EQ(labels.multi_hot.at("000000000025"), hot(80, {23}));
}

TEST(CamClsLabels, Errors) {
  std::string msg = error_of([] { read_cls_labels(cam_path("cls_labels_mixed.npy")); });
  EXPECT_NE(msg.find("cls_labels_mixed.npy: label of '2007_000033' has 80 entries, others have 20"),
            std::string::npos)
      << msg;
  msg = error_of([] { read_cls_labels(cam_path("irn_numpy.npy")); });
  // Any vector length is a valid class count (synth has 10), so the values give it away.
  EXPECT_NE(msg.find("label of 'keys' has value 3 at 0, expected 0 or 1"), std::string::npos)
      << msg;
  msg = error_of([] { read_cls_labels(cam_path("plain_f8.npy")); });
  EXPECT_NE(msg.find("plain_f8.npy: not a pickled label dict"), std::string::npos) << msg;
}

}  // namespace
}  // namespace pm
