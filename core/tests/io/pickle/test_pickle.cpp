// SPDX-License-Identifier: MIT
// Tests of the restricted unpickler on files written by real numpy 1.24 / torch 1.13
// (tests/fixtures/make_cam_fixtures.py; the expected values are recomputed here from the same
// formulas) and on hand-written opcode sequences for the rarer opcodes and hostile inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../../support/expect_error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/pickle/torch_storage.h"
#include "pseudomask/core/io/pickle/unpickler.h"
#include "pseudomask/core/io/torch/legacy.h"

namespace pm {
namespace {

using Kind = PickleValue::Kind;

std::string cams_dir() {
  return std::string(PM_FIXTURE_DIR) + "/cams/";
}

std::vector<uint8_t> fixture(const std::string& name) {
  return read_file_bytes(cams_dir() + name);
}

PickleValue load_fixture(const std::string& name, const PickleOptions& options = {}) {
  const std::vector<uint8_t> bytes = fixture(name);
  return load_pickle(bytes.data(), bytes.size(), name, options);
}

PickleValue load_text(const std::string& pickle, const PickleOptions& options = {}) {
  return load_pickle(
      reinterpret_cast<const uint8_t*>(pickle.data()), pickle.size(), "mem.pkl", options);
}

/// A string literal with embedded NUL bytes: "X\x01\x00\x00\x00"_b.
std::string operator""_b(const char* text, size_t size) {
  return std::string(text, size);
}

using test::error_of;

using test::ramp;

const PickleValue& at(const PickleValue& dict, const std::string& key) {
  const PickleValue* v = dict.find(key);
  EXPECT_NE(v, nullptr) << key;
  static const PickleValue kNone;
  return v != nullptr ? *v : kNone;
}

void expect_array(const PickleValue& v,
                  DType dtype,
                  const std::vector<int64_t>& shape,
                  const std::vector<float>& values) {
  ASSERT_EQ(v.kind(), Kind::kArray) << v.type_name();
  const NDArray& a = v.array();
  EXPECT_EQ(a.dtype(), dtype) << a.describe();
  EXPECT_EQ(a.shape(), shape) << a.describe();
  EXPECT_EQ(a.to_float_vector(), values) << a.describe();
}

// ---------------------------------------------------------------------------------------------
// numpy pickles of every protocol.

class PickleNumpyProtocol : public ::testing::TestWithParam<int> {};

TEST_P(PickleNumpyProtocol, DecodesEveryValueExactly) {
  const int proto = GetParam();
  const PickleValue d = load_fixture("numpy_p" + std::to_string(proto) + ".pkl");
  ASSERT_EQ(d.kind(), Kind::kDict);

  expect_array(at(d, "f4"), DType::kF32, {2, 3}, ramp(6, 0.5));
  EXPECT_EQ(at(d, "f4").array_origin(), ArrayOrigin::kNumpy);
  expect_array(at(d, "be_i2"), DType::kI16, {2, 3}, ramp(6, 1, -2));
  expect_array(at(d, "fortran_f8"), DType::kF64, {2, 3}, ramp(6, 0.125));
  expect_array(at(d, "u1"), DType::kU8, {6}, ramp(6, 1, 250));
  expect_array(at(d, "b1"), DType::kBool, {3}, {1, 0, 1});
  expect_array(at(d, "f2"), DType::kF16, {3}, ramp(3, 0.25));
  expect_array(at(d, "empty"), DType::kF32, {0, 3}, {});

  const PickleValue& si = at(d, "scalar_i8");
  expect_array(si, DType::kI64, {}, {-7});
  EXPECT_TRUE(si.is_int_like());
  EXPECT_EQ(si.as_int(), -7);
  EXPECT_EQ(at(d, "scalar_f4").as_float(), 2.5);

  EXPECT_EQ(at(d, "int").kind(), Kind::kInt);
  EXPECT_EQ(at(d, "int").as_int(), 12345678901);
  EXPECT_EQ(at(d, "neg").as_int(), -5);
  EXPECT_EQ(at(d, "float").as_float(), 0.125);
  EXPECT_EQ(at(d, "str").as_str(), "h\xc3\xa9llo \xe2\x82\xac");
  EXPECT_EQ(at(d, "bytes").as_bytes(), std::string("\x00\xff", 2));

  const PickleValue& list = at(d, "list");
  ASSERT_EQ(list.kind(), Kind::kList);
  ASSERT_EQ(list.items().size(), 5u);
  EXPECT_EQ(list.items()[0].as_int(), 1);
  EXPECT_EQ(list.items()[1].as_float(), 2.5);
  EXPECT_TRUE(list.items()[2].is_none());
  EXPECT_TRUE(list.items()[3].as_bool());
  EXPECT_FALSE(list.items()[4].as_bool());

  const PickleValue& tk = at(d, "tuple_key");
  ASSERT_EQ(tk.dict_items().size(), 1u);
  const PickleValue& key = tk.dict_items()[0].first;
  ASSERT_EQ(key.kind(), Kind::kTuple);
  EXPECT_EQ(key.items()[0].as_int(), 1);
  EXPECT_EQ(key.items()[1].as_str(), "a");
  EXPECT_EQ(tk.dict_items()[0].second.as_str(), "x");

  const PickleValue& od = at(d, "od");
  ASSERT_EQ(od.dict_items().size(), 2u);
  EXPECT_EQ(od.dict_items()[0].first.as_str(), "b");
  EXPECT_EQ(od.dict_items()[0].second.as_int(), 1);
  EXPECT_EQ(od.dict_items()[1].first.as_str(), "a");

  const PickleValue& set = at(d, "set");
  ASSERT_EQ(set.kind(), Kind::kSet);
  ASSERT_EQ(set.items().size(), 1u);
  EXPECT_EQ(set.items()[0].as_int(), 3);

  const PickleValue& big = at(d, "big");  // 2**70
  ASSERT_EQ(big.kind(), Kind::kBigInt);
  EXPECT_EQ(big.bigint_bytes(), std::string("\0\0\0\0\0\0\0\0\x40", 9));
  EXPECT_NE(error_of([&] { big.as_int(); }).find("64 bits"), std::string::npos);
}

TEST(PickleNumpy, Protocol0EscapedBytes) {
  expect_array(load_fixture("numpy_p0_bytes.pkl"), DType::kU8, {256}, ramp(256, 1));
}

INSTANTIATE_TEST_SUITE_P(Pickle, PickleNumpyProtocol, ::testing::Values(0, 2, 3, 4, 5));

// ---------------------------------------------------------------------------------------------
// torch.

TEST(PickleTorch, PlainTensorsThroughLegacyStorageBytes) {
  const PickleValue d = load_fixture("torch_tensors.pkl");
  ASSERT_EQ(d.kind(), Kind::kDict);
  expect_array(at(d, "f32"), DType::kF32, {3, 4}, ramp(12, 0.5));
  EXPECT_EQ(at(d, "f32").array_origin(), ArrayOrigin::kTorch);
  // base.t(): (4, 3), element (r, c) = base(c, r) = (4c + r) / 2.
  std::vector<float> transposed;
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 3; ++c)
      transposed.push_back((4 * c + r) * 0.5f);
  }
  expect_array(at(d, "transposed"), DType::kF32, {4, 3}, transposed);
  // base[1:, 1:3]: storage offset 5, element (r, c) = base(r + 1, c + 1).
  std::vector<float> sliced;
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 2; ++c)
      sliced.push_back((4 * (r + 1) + c + 1) * 0.5f);
  }
  expect_array(at(d, "sliced"), DType::kF32, {2, 2}, sliced);
}

TEST(PickleTorch, PlainTensorsOfEveryDType) {
  const PickleValue d = load_fixture("torch_tensors_dtypes.pkl");
  expect_array(at(d, "f16"), DType::kF16, {3, 4}, ramp(12, 0.5));
  expect_array(at(d, "bool"), DType::kBool, {2}, {1, 0});
  expect_array(at(d, "u8"), DType::kU8, {2}, {0, 255});
  const NDArray& i64 = at(d, "i64").array();
  ASSERT_EQ(i64.dtype(), DType::kI64);
  EXPECT_EQ(std::vector<int64_t>(i64.data<int64_t>(), i64.data<int64_t>() + 3),
            (std::vector<int64_t>{-1, 0, int64_t{1} << 40}));

  const PickleValue m = load_fixture("torch_tensors_misc.pkl");
  expect_array(at(m, "scalar"), DType::kF32, {}, {2.5f});
  expect_array(at(m, "empty"), DType::kF32, {0, 3}, {});
  expect_array(at(m, "param"), DType::kF32, {2}, {1, 1});  // nn.Parameter
  expect_array(at(m, "bf16"), DType::kF32, {2}, {1.5f, -2.0f});
}

TEST(PickleTorch, LegacyTorchSaveStateDict) {
  const std::vector<uint8_t> bytes = fixture("torch_legacy.pt");
  const PickleValue sd = load_torch_legacy(bytes.data(), bytes.size(), "torch_legacy.pt");
  ASSERT_EQ(sd.kind(), Kind::kDict);
  ASSERT_EQ(sd.dict_items().size(), 3u);
  EXPECT_EQ(sd.dict_items()[0].first.as_str(), "weight");
  EXPECT_EQ(sd.dict_items()[1].first.as_str(), "bias");
  expect_array(at(sd, "weight"), DType::kF32, {3, 4}, ramp(12, 0.5));
  expect_array(at(sd, "bias"), DType::kF32, {2}, {1, -1});
  EXPECT_EQ(at(sd, "steps").as_int(), 3);

  // The same bytes are not a plain pickle of anything useful, and a cut file fails cleanly.
  EXPECT_NE(error_of([&] {
              load_torch_legacy(bytes.data(), bytes.size() - 3, "cut.pt");
            }).find("cut.pt: "),
            std::string::npos);
}

TEST(PickleTorch, ZipDataPklWithPersistentLoadHook) {
  std::vector<std::string> keys_seen;
  PickleOptions options;
  options.persistent_load = [&](const PickleValue& pid) {
    const TorchStorageRef ref = parse_torch_storage_ref(pid, "data.pkl");
    EXPECT_EQ(ref.location, "cpu");
    keys_seen.push_back(ref.key);
    const std::vector<uint8_t> raw = fixture("torch_zip/data_" + ref.key);
    return PickleValue::make_storage(torch_storage_elements(ref, raw.data(), raw.size(), "zip"));
  };
  const PickleValue sd = load_fixture("torch_zip/data.pkl", options);
  EXPECT_EQ(keys_seen, (std::vector<std::string>{"0", "1", "2"}));
  expect_array(at(sd, "weight"), DType::kF32, {3, 4}, ramp(12, 0.5));
  expect_array(at(sd, "bias"), DType::kF32, {2}, {1, -1});
  EXPECT_EQ(at(sd, "steps").as_int(), 3);

  const std::string msg = error_of([] { load_fixture("torch_zip/data.pkl"); });
  EXPECT_NE(msg.find("data.pkl: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("persistent id"), std::string::npos) << msg;
}

// A handmade data.pkl: _rebuild_tensor_v2(storage '0' of 1 float, 0, (n,), (stride,), ...).
std::string tensor_over_one_float(const std::string& size_op, const std::string& stride_op) {
  return "\x80\x02"_b + "ctorch._utils\n_rebuild_tensor_v2\n(" +                    //
         "(X\x07\x00\x00\x00"_b + "storage" + "ctorch\nFloatStorage\n" +            // pid
         "X\x01\x00\x00\x00"_b + "0" + "X\x03\x00\x00\x00"_b + "cpu" + "K\x01tQ" +  //
         "K\x00"_b + size_op + "\x85" + stride_op + "\x85" + "\x89" +               //
         "ccollections\nOrderedDict\n)RtR.";
}

TEST(PickleTorch, ViewsMustStayInsideStorageAndBudget) {
  PickleOptions options;
  options.persistent_load = [](const PickleValue&) {
    return PickleValue::make_storage(NDArray::from<float>({4.5f}, {1}));
  };
  const PickleValue ok = load_text(tensor_over_one_float("K\x03", "K\x00"_b), options);
  expect_array(ok, DType::kF32, {3}, {4.5f, 4.5f, 4.5f});  // an expanded (stride 0) view

  const std::string past =
      error_of([&] { load_text(tensor_over_one_float("K\x02", "K\x01"), options); });
  EXPECT_NE(past.find("reaches past its storage"), std::string::npos) << past;
  // 100 million elements of stride 0 over one float: refused before allocating.
  const std::string huge = error_of(
      [&] { load_text(tensor_over_one_float("J\x00\xe1\xf5\x05"_b, "K\x00"_b), options); });
  EXPECT_NE(huge.find("more memory"), std::string::npos) << huge;
}

// ---------------------------------------------------------------------------------------------
// Refusals.

TEST(PickleRefuses, GlobalsOutsideTheWhitelistByName) {
  std::string msg = error_of([] { load_fixture("malicious_os_system.pkl"); });
  EXPECT_EQ(msg,
            "malicious_os_system.pkl: refusing to load global 'os.system' (not a CAM/checkpoint "
            "type)");
  msg = error_of([] { load_fixture("malicious_eval.pkl"); });
  EXPECT_NE(msg.find("refusing to load global 'builtins.eval'"), std::string::npos) << msg;
  msg = error_of([] { load_text("cnumpy\nload\n."); });
  EXPECT_NE(msg.find("'numpy.load'"), std::string::npos) << msg;
  // Control characters in the name are escaped, so the message stays on one line.
  msg = error_of([] { load_text("cos\nsys\rtem\n."); });
  EXPECT_EQ(msg.find('\r'), std::string::npos) << msg;
}

TEST(PickleRefuses, UnsupportedMechanisms) {
  EXPECT_NE(error_of([] { load_text("\x82\x01."); }).find("extension codes"), std::string::npos);
  EXPECT_NE(error_of([] { load_text("\x80\x05\x97."); }).find("out-of-band"), std::string::npos);
  EXPECT_NE(error_of([] { load_text("\x80\x06N."); }).find("protocol 6"), std::string::npos);
  // Calling something that is not a global, and calling a type that is not callable here.
  EXPECT_NE(error_of([] { load_text("K\x01)R."); }).find("only whitelisted globals"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_text("ctorch\nFloatStorage\n)R."); }).find("cannot be called"),
            std::string::npos);
  const std::string utf8 = "c_codecs\nencode\n" + "X\x01\x00\x00\x00"_b + "a" +
                           "X\x04\x00\x00\x00"_b + "utf8" + "\x86R.";
  EXPECT_NE(error_of([&] { load_text(utf8); }).find("latin1"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Opcodes that the fixtures do not exercise.

TEST(PickleOpcodes, Python2Strings) {
  // STRING with escapes, SHORT_BINSTRING and BINSTRING (latin-1), UNICODE (raw-unicode-escape).
  const PickleValue v = load_text("(S'a\\n\\x41\\'\\101'\n" + "U\x02\xe9"_b + "z" +
                                  "T\x01\x00\x00\x00"_b + "b" + "V\\u20ac\xe9\nl.");
  ASSERT_EQ(v.kind(), Kind::kList);
  ASSERT_EQ(v.items().size(), 4u);
  EXPECT_EQ(v.items()[0].as_str(), "a\nA'A");
  EXPECT_EQ(v.items()[1].as_str(), "\xc3\xa9z");  // latin-1 decoded
  EXPECT_EQ(v.items()[2].as_str(), "b");
  EXPECT_EQ(v.items()[3].as_str(), "\xe2\x82\xac\xc3\xa9");  // raw-unicode-escape
}

TEST(PickleOpcodes, NumbersInEveryEncoding) {
  const PickleValue v = load_text(                                       //
      "(I01\nI00\nI-12\nL123L\nF0.5\n" +                                 // text
      "G\x3f\xf8\x00\x00\x00\x00\x00\x00"_b +                            // BINFLOAT 1.5
      "\x8a\x01\xff"_b + "\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80"_b +  // LONG1 -1, min
      "\x8a\x00"_b + "\x8b\x02\x00\x00\x00\x00\x01"_b +                  // LONG1 0, LONG4 256
      "M\xff\xff" + "J\xfe\xff\xff\xff" + "t.");                         // 65535, -2
  ASSERT_EQ(v.kind(), Kind::kTuple);
  const auto& it = v.items();
  ASSERT_EQ(it.size(), 12u);
  EXPECT_EQ(it[0].kind(), Kind::kBool);
  EXPECT_TRUE(it[0].as_bool());
  EXPECT_FALSE(it[1].as_bool());
  EXPECT_EQ(it[2].as_int(), -12);
  EXPECT_EQ(it[3].as_int(), 123);
  EXPECT_EQ(it[4].as_float(), 0.5);
  EXPECT_EQ(it[5].as_float(), 1.5);
  EXPECT_EQ(it[6].as_int(), -1);
  EXPECT_EQ(it[7].as_int(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(it[8].as_int(), 0);
  EXPECT_EQ(it[9].as_int(), 256);
  EXPECT_EQ(it[10].as_int(), 65535);
  EXPECT_EQ(it[11].as_int(), -2);
  // Text longs beyond 64 bits become big-int tokens; text ints beyond 64 bits are refused.
  EXPECT_EQ(load_text("L-18446744073709551617L\n.").bigint_bytes(),
            "\xff\xff\xff\xff\xff\xff\xff\xff\xfe"_b);
  EXPECT_NE(error_of([] { load_text("I99999999999999999999\n."); }).find("64-bit"),
            std::string::npos);
}

TEST(PickleOpcodes, StackMemoAndContainers) {
  // POP, POP_MARK, DUP, text PUT/GET, LONG_BINPUT/GET, MEMOIZE, DICT, LIST, APPENDS.
  const PickleValue v = load_text(  //
      "((K\x01K\x02"
      "1"
      "K\x07"
      "0"_b +  // dropped values
      "N(K\x09"
      "0"
      "l"
      "p5\n"
      "0"
      "g5\n"
      "2" +  // None, l, l
      "r\x00\x01\x00\x00"_b +
      "0" + "j\x00\x01\x00\x00"_b + "\x94" +  // memo 256, 2
      "(K\x03K\x04"
      "e" +  // l.extend([3, 4])
      "(X\x01\x00\x00\x00"_b +
      "aK\x01"
      "d"
      "t.");  // {'a': 1}
  ASSERT_EQ(v.kind(), Kind::kTuple) << v.type_name();
  // (None, l, l, {'a': 1}): one list l, extended to [3, 4] after it was memoized and fetched.
  const auto& it = v.items();
  ASSERT_EQ(it.size(), 4u);
  EXPECT_TRUE(it[0].is_none());
  ASSERT_EQ(it[1].items().size(), 2u);
  EXPECT_EQ(it[1].items()[1].as_int(), 4);
  EXPECT_EQ(it[2].items().size(), 2u);
  EXPECT_EQ(it[3].find("a")->as_int(), 1);
}

TEST(PickleOpcodes, SetsAndDictsFollowPythonEquality) {
  // {1, True, 1.0} is one element; {'a': 1, 'a': 2} keeps the first key with the last value.
  const PickleValue set =
      load_text("\x80\x04\x8f(K\x01\x88" + "G\x3f\xf0\x00\x00\x00\x00\x00\x00"_b + "\x90.");
  ASSERT_EQ(set.kind(), Kind::kSet);
  EXPECT_EQ(set.items().size(), 1u);
  const PickleValue fs = load_text("\x80\x04(K\x01K\x02K\x01\x91.");
  EXPECT_EQ(fs.items().size(), 2u);
  const std::string key_a = "X\x01\x00\x00\x00"_b + "a";
  const PickleValue d = load_text("}(" + key_a + "K\x01" + key_a + "K\x02u.");
  ASSERT_EQ(d.dict_items().size(), 1u);
  EXPECT_EQ(d.find("a")->as_int(), 2);
  const PickleValue od = load_text("ccollections\nOrderedDict\n)\x81}b.");
  EXPECT_EQ(od.kind(), Kind::kDict);
  EXPECT_NE(error_of([] { load_text("}]K\x01s."); }).find("unhashable"), std::string::npos);
}

TEST(PickleOpcodes, ConsumedBytesAllowPicklesInSequence) {
  const std::string two = "K\x05.K\x06.";
  size_t used = 0;
  const PickleValue a =
      load_pickle(reinterpret_cast<const uint8_t*>(two.data()), two.size(), "two", {}, &used);
  EXPECT_EQ(a.as_int(), 5);
  EXPECT_EQ(used, 3u);
}

// ---------------------------------------------------------------------------------------------
// Hostile structure.

TEST(PickleHostile, MalformedStreams) {
  EXPECT_NE(error_of([] { load_text(""); }).find("truncated"), std::string::npos);
  EXPECT_NE(error_of([] { load_text("."); }).find("stack underflow"), std::string::npos);
  EXPECT_NE(error_of([] { load_text("]a."); }).find("stack underflow"), std::string::npos);
  EXPECT_NE(error_of([] {
              load_text(
                  "(K\x01"
                  "a.");
            }).find("stack underflow"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_text("\xff"); }).find("unknown opcode 0xff"), std::string::npos);
  EXPECT_NE(error_of([] { load_text("X\x05\x00\x00\x00"_b + "ab"); }).find("exceeds"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_text("h\x03."); }).find("memo key 3"), std::string::npos);
  EXPECT_NE(error_of([] { load_text("K\x00K\x01K\x02s."_b); }).find("not a dict"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_text("t."); }).find("MARK expected"), std::string::npos);
  const std::string msg = error_of([] { load_text("N\xfe"); });
  EXPECT_EQ(msg, "mem.pkl: malformed pickle at byte 1: unknown opcode 0xfe");
}

TEST(PickleHostile, SelfReferenceIsRefusedWithoutLeaking) {
  // l = []; l.append(l)   and   d = {}; d['k'] = (d,)
  EXPECT_NE(error_of([] { load_text("]q\x00h\x00"_b + "a."); }).find("self-referencing"),
            std::string::npos);
  const std::string dict_cycle = "}q\x00"_b + "X\x01\x00\x00\x00"_b + "kh\x00\x85s."_b;
  EXPECT_NE(error_of([&] { load_text(dict_cycle); }).find("self-referencing"), std::string::npos);
}

TEST(PickleHostile, NestingIsBounded) {
  auto nested = [](size_t depth) {
    return std::string(depth, ']') + std::string(depth - 1, 'a') + ".";
  };
  EXPECT_NO_THROW(load_text(nested(200)));
  EXPECT_NE(error_of([&] { load_text(nested(300)); }).find("more than 256 deep"),
            std::string::npos);
  // A chain far deeper than the C++ stack could destroy recursively: refused and freed flat.
  EXPECT_NE(error_of([&] { load_text(nested(100000)); }).find("deep"), std::string::npos);
  PickleOptions wide;
  wide.limits.max_nesting = 1000;
  EXPECT_NO_THROW(load_text(nested(300), wide));
}

TEST(PickleHostile, StackMarksAndMemoAreBounded) {
  PickleOptions small;
  small.limits.max_stack = 100;
  small.limits.max_marks = 10;
  small.limits.max_memo = 10;
  EXPECT_NE(error_of([&] { load_text(std::string(101, 'N'), small); }).find("stack exceeds"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_text(std::string(11, '('), small); }).find("MARKs"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_text("N" + std::string(11, '\x94'), small); }).find("memo"),
            std::string::npos);
}

// numpy array from a payload: _reconstruct(ndarray, (0,), b'b') + BUILD (1, shape, u1, F, data).
std::string numpy_array_op(const std::string& shape_op, const std::string& payload_op) {
  return "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + "K\x00\x85"_b + "C\x01" +
         "b\x87R" + "(K\x01" + shape_op + "cnumpy\ndtype\n" + "X\x02\x00\x00\x00"_b + "u1" +
         "\x89\x88\x87R" + "\x89" + payload_op + "tb";
}

TEST(PickleHostile, ArrayPayloadsMustBePresent) {
  EXPECT_EQ(load_text(numpy_array_op("K\x02\x85",
                                     "C\x02"
                                     "ab") +
                      ".")
                .array()
                .nbytes(),
            2u);
  // A shape that claims 2**40 bytes over a 4-byte payload: refused without allocating.
  const std::string huge = numpy_array_op("\x8a\x06\x00\x00\x00\x00\x00\x01\x85"_b,
                                          "C\x04"
                                          "abcd") +
                           ".";
  EXPECT_NE(error_of([&] { load_text(huge); }).find("bytes"), std::string::npos);
  // One 64 KiB payload reused (through the memo) by 64 arrays would need 4 MiB.
  std::string reuse = "(B" + "\x00\x00\x01\x00"_b + std::string(65536, 'x') + "q\x00"_b + "0";
  for (int i = 0; i < 64; ++i)
    reuse += numpy_array_op("J\x00\x00\x01\x00\x85"_b, "h\x00"_b);
  reuse += "l.";
  PickleOptions small;
  small.limits.tensor_slack_bytes = 1024;
  EXPECT_NE(error_of([&] { load_text(reuse, small); }).find("more array data"), std::string::npos);
}

TEST(PickleValueAccess, WrongTypesThrow) {
  const PickleValue v = load_text("K\x01.");
  EXPECT_THROW(v.as_str(), Error);
  EXPECT_THROW(v.items(), Error);
  EXPECT_THROW(v.array(), Error);
  EXPECT_THROW(v.dict_items(), Error);
  EXPECT_EQ(v.type_name(), "int");
  EXPECT_EQ(PickleValue().type_name(), "None");
  EXPECT_EQ(PickleValue::make_str("x").as_str(), "x");
  EXPECT_EQ(PickleValue::make_storage(NDArray::from<int64_t>({1, 2}, {2})).storage().numel(), 2);
}

}  // namespace
}  // namespace pm
