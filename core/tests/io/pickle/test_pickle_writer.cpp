// SPDX-License-Identifier: MIT
// Tests of the pickle writer: its opcodes against CPython's encoding (pickle.dumps of the same
// values, protocol 2/3), and every value read back by the restricted unpickler.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "../../support/expect_error.h"
#include "pseudomask/core/io/pickle/opcodes.h"
#include "pseudomask/core/io/pickle/unpickler.h"
#include "pseudomask/core/io/pickle/writer.h"

namespace pm {
namespace {

using Kind = PickleValue::Kind;

std::vector<uint8_t> bytes_of(const std::string& text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

PickleValue load(const std::vector<uint8_t>& pickle) {
  return load_pickle(pickle.data(), pickle.size(), "writer.pkl");
}

/// pickle.dumps(value, protocol=2) of one int, as CPython writes it.
TEST(PickleWriter, IntegersAreEncodedAsCPythonEncodesThem) {
  struct Case {
    int64_t value;
    std::string cpython;
  };
  const std::vector<Case> cases = {
      {0, std::string("\x80\x02K\x00.", 5)},
      {255, "\x80\x02K\xff."},
      {256, std::string("\x80\x02M\x00\x01.", 6)},
      {65535, "\x80\x02M\xff\xff."},
      {65536, std::string("\x80\x02J\x00\x00\x01\x00.", 8)},
      {-1, "\x80\x02J\xff\xff\xff\xff."},
      {int64_t{1} << 31, std::string("\x80\x02\x8a\x05\x00\x00\x00\x80\x00.", 10)},
      {-(int64_t{1} << 31) - 1, "\x80\x02\x8a\x05\xff\xff\xff\x7f\xff."},
      {std::numeric_limits<int64_t>::max(), "\x80\x02\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f."},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value);
    PickleWriter w(2);
    w.integer(c.value);
    const std::vector<uint8_t> pickle = w.finish();
    EXPECT_EQ(pickle, bytes_of(c.cpython));
    const PickleValue v = load(pickle);
    ASSERT_EQ(v.kind(), Kind::kInt);
    EXPECT_EQ(v.as_int(), c.value);
  }
}

/// pickle.dumps(('ab', b'\x00\x01', None, True), protocol=3) with the memo CPython writes,
/// then the tuple once more through BINGET: [t, t].
TEST(PickleWriter, MemoizedValuesComeBackShared) {
  PickleWriter w(3);
  w.op(pickle_op::kEmptyList);
  w.memoize();
  w.mark();  // the list's items
  w.mark();  // the tuple's items
  w.str("ab");
  w.memoize();
  const uint8_t raw[] = {0, 1};
  w.bytes(raw, sizeof(raw));
  w.memoize();
  w.none();
  w.boolean(true);
  w.small_tuple(4);
  const uint32_t tuple = w.memoize();
  w.get(tuple);
  w.op(pickle_op::kAppends);
  const std::vector<uint8_t> pickle = w.finish();
  EXPECT_EQ(pickle,
            bytes_of(std::string("\x80\x03]q\x00((X\x02\x00\x00\x00"
                                 "abq\x01"
                                 "C\x02\x00\x01q\x02N\x88tq\x03h\x03\x65.",
                                 31)));
  const PickleValue list = load(pickle);
  ASSERT_EQ(list.kind(), Kind::kList);
  ASSERT_EQ(list.items().size(), 2u);
  for (const PickleValue& t : list.items()) {
    ASSERT_EQ(t.kind(), Kind::kTuple);
    ASSERT_EQ(t.items().size(), 4u);
    EXPECT_EQ(t.items()[0].as_str(), "ab");
    EXPECT_EQ(t.items()[1].as_bytes(), std::string("\x00\x01", 2));
    EXPECT_TRUE(t.items()[2].is_none());
    EXPECT_TRUE(t.items()[3].as_bool());
  }
}

TEST(PickleWriter, SmallTuplesAndLongBytes) {
  PickleWriter w(3);
  w.integer(7);
  w.small_tuple(1);
  const std::vector<uint8_t> payload(300, 0xab);
  w.bytes(payload.data(), payload.size());
  w.small_tuple(2);
  const std::vector<uint8_t> pickle = w.finish();
  EXPECT_EQ(pickle[2], pickle_op::kBinInt1);
  EXPECT_EQ(pickle[4], pickle_op::kTuple1);
  EXPECT_EQ(pickle[5], pickle_op::kBinBytes);
  const PickleValue v = load(pickle);
  ASSERT_EQ(v.kind(), Kind::kTuple);
  EXPECT_EQ(v.items()[0].items()[0].as_int(), 7);
  EXPECT_EQ(v.items()[1].as_bytes(), std::string(300, '\xab'));
}

/// pickle.dumps(collections.OrderedDict(), protocol=2) without its memo (torch.save's data.pkl
/// as the checkpoint writer writes it).
TEST(PickleWriter, GlobalsAreWrittenAsText) {
  PickleWriter w(2);
  w.global("collections", "OrderedDict");
  w.small_tuple(0);
  w.op(pickle_op::kReduce);
  const std::vector<uint8_t> pickle = w.finish();
  EXPECT_EQ(pickle, bytes_of("\x80\x02\x63\x63ollections\nOrderedDict\n)R."));
  const PickleValue v = load(pickle);
  EXPECT_EQ(v.kind(), Kind::kDict);
  EXPECT_TRUE(v.dict_items().empty());
}

TEST(PickleWriter, RefusesUnknownProtocols) {
  EXPECT_NE(test::error_of([] { PickleWriter w(1); }).find("protocol 1"), std::string::npos);
  EXPECT_NE(test::error_of([] { PickleWriter w(6); }).find("protocol 6"), std::string::npos);
}

}  // namespace
}  // namespace pm
