// SPDX-License-Identifier: MIT
// Tests of .npy decoding and encoding against fixtures written by real numpy
// (tests/fixtures/make_npy_fixtures.py; the values below mirror VALUES there).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "../../support/expect_error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/half.h"
#include "pseudomask/core/io/numpy/npy.h"

namespace pm {
namespace {

namespace fs = std::filesystem;

std::string fixture(const std::string& name) {
  return std::string(PM_FIXTURE_DIR) + "/npy/" + name;
}

using test::expect_error;

template <class T>
void expect_values(const NDArray& a, const std::vector<T>& expected, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(a.dtype(), DTypeOf<T>::value);
  ASSERT_EQ(a.shape(), (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(a.nbytes(), expected.size() * sizeof(T));
  const T* p = a.data<T>();
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(p[i], expected[i]) << "element " << i;
}

std::vector<uint16_t> half_bits(const NDArray& a) {
  EXPECT_EQ(a.dtype(), DType::kF16);
  std::vector<uint16_t> bits(a.nbytes() / 2);
  if (!bits.empty())
    std::memcpy(bits.data(), a.raw(), a.nbytes());
  return bits;
}

/// Checks the fixture "<prefix>_<code>.npy" against the values make_npy_fixtures.py wrote.
void check_fixture_values(const std::string& prefix, const std::string& code) {
  const std::string file = prefix + "_" + code + ".npy";
  const NDArray a = read_npy(fixture(file));
  if (code == "u1")
    expect_values<uint8_t>(a, {0, 1, 2, 127, 128, 255}, file);
  if (code == "i1")
    expect_values<int8_t>(a, {-128, -1, 0, 1, 100, 127}, file);
  if (code == "u2")
    expect_values<uint16_t>(a, {0, 1, 258, 1000, 40000, 65535}, file);
  if (code == "i2")
    expect_values<int16_t>(a, {-32768, -1, 0, 258, 1000, 32767}, file);
  if (code == "u4")
    expect_values<uint32_t>(a, {0, 1, 258, 70000, 3000000000u, 4294967295u}, file);
  if (code == "i4") {
    expect_values<int32_t>(
        a, {std::numeric_limits<int32_t>::min(), -1, 0, 258, 70000, 2147483647}, file);
  }
  if (code == "u8") {
    expect_values<uint64_t>(
        a,
        {0, 1, 258, uint64_t{1} << 40, uint64_t{1} << 63, std::numeric_limits<uint64_t>::max()},
        file);
  }
  if (code == "i8") {
    expect_values<int64_t>(a,
                           {std::numeric_limits<int64_t>::min(),
                            -1,
                            0,
                            258,
                            int64_t{1} << 40,
                            std::numeric_limits<int64_t>::max()},
                           file);
  }
  if (code == "f4")
    expect_values<float>(a, {-1.5f, 0.0f, 0.1f, 1e30f, 3.25f, -7.0f}, file);
  if (code == "f8")
    expect_values<double>(a, {-1.5, 0.0, 0.1, 1e300, 3.25, -7.0}, file);
  if (code == "f2") {
    ASSERT_EQ(a.shape(), (std::vector<int64_t>{2, 3})) << file;
    // -1.5, 0, 0.25, 1, 2048, 65504 as IEEE binary16 bits.
    EXPECT_EQ(half_bits(a), (std::vector<uint16_t>{0xBE00, 0x0000, 0x3400, 0x3C00, 0x6800, 0x7BFF}))
        << file;
  }
  if (code == "b1") {
    ASSERT_EQ(a.dtype(), DType::kBool) << file;
    ASSERT_EQ(a.shape(), (std::vector<int64_t>{2, 3})) << file;
    EXPECT_EQ(std::vector<uint8_t>(a.raw(), a.raw() + 6), (std::vector<uint8_t>{1, 0, 1, 1, 0, 0}))
        << file;
  }
}

const std::vector<std::string> kAllCodes = {
    "b1", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8"};
const std::vector<std::string> kMultiByteCodes = {
    "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8"};

/// A scratch folder removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("pm_npy_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

/// An array of `dtype` and `shape` whose bytes follow a simple deterministic pattern.
NDArray patterned(DType dtype, std::vector<int64_t> shape) {
  NDArray a(dtype, std::move(shape));
  for (size_t i = 0; i < a.nbytes(); ++i)
    a.raw()[i] = static_cast<uint8_t>(i * 37 + 11);
  if (dtype == DType::kBool) {
    for (size_t i = 0; i < a.nbytes(); ++i)
      a.raw()[i] &= 1;
  }
  return a;
}

void expect_same_array(const NDArray& a, const NDArray& b) {
  EXPECT_EQ(a.dtype(), b.dtype());
  EXPECT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.nbytes(), b.nbytes());
  if (a.nbytes() > 0) {
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0);
  }
}

std::vector<uint8_t> to_bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

/// A .npy (version 1.0) with the given header dict and data bytes, built by hand.
std::vector<uint8_t> handmade_npy(const std::string& dict, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out = to_bytes(std::string("\x93NUMPY\x01\x00", 8));
  const std::string header = dict + "\n";
  out.push_back(static_cast<uint8_t>(header.size()));
  out.push_back(static_cast<uint8_t>(header.size() >> 8));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// ---- reading numpy's files ----

TEST(NpyRead, LittleEndianFixturesHoldNumpyValues) {
  for (const std::string& code : kAllCodes)
    check_fixture_values("le", code);
}

TEST(NpyRead, BigEndianFixturesAreConvertedToNative) {
  for (const std::string& code : kMultiByteCodes) {
    const std::string file = fixture("be_" + code + ".npy");
    const std::vector<uint8_t> bytes = read_file_bytes(file);
    ASSERT_EQ(parse_npy_header(bytes.data(), bytes.size(), file).descr[0], '>') << file;
    check_fixture_values("be", code);
  }
}

TEST(NpyRead, FortranOrderBecomesCOrder) {
  const std::vector<uint8_t> bytes = read_file_bytes(fixture("fortran_f4.npy"));
  ASSERT_TRUE(parse_npy_header(bytes.data(), bytes.size(), "fortran_f4").fortran_order);
  const NDArray f = read_npy(fixture("fortran_f4.npy"));
  ASSERT_EQ(f.shape(), (std::vector<int64_t>{2, 3, 4}));
  for (int i = 0; i < 24; ++i)
    EXPECT_EQ(f.data<float>()[i], static_cast<float>(i)) << i;

  const NDArray be = read_npy(fixture("fortran_be_i2.npy"));
  ASSERT_EQ(be.shape(), (std::vector<int64_t>{3, 4}));
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(be.data<int16_t>()[i], i * 300 - 1000) << i;

  const NDArray b = read_npy(fixture("fortran_b1.npy"));
  ASSERT_EQ(b.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(std::vector<uint8_t>(b.raw(), b.raw() + 6), (std::vector<uint8_t>{1, 0, 1, 1, 0, 0}));
}

TEST(NpyRead, FormatVersions2And3) {
  for (const auto& [file, version] :
       std::vector<std::pair<std::string, int>>{{"v2_f8.npy", 2}, {"v3_i2.npy", 3}}) {
    const std::vector<uint8_t> bytes = read_file_bytes(fixture(file));
    EXPECT_EQ(parse_npy_header(bytes.data(), bytes.size(), file).major_version, version);
  }
  expect_values<double>(read_npy(fixture("v2_f8.npy")), {-1.5, 0.0, 0.1, 1e300, 3.25, -7.0}, "v2");
  expect_values<int16_t>(read_npy(fixture("v3_i2.npy")), {-32768, -1, 0, 258, 1000, 32767}, "v3");
}

TEST(NpyRead, ZeroDimensionalArrays) {
  const NDArray f = read_npy(fixture("scalar_f8.npy"));
  EXPECT_EQ(f.ndim(), 0u);
  EXPECT_EQ(f.numel(), 1);
  EXPECT_EQ(f.data<double>()[0], 3.5);
  const NDArray i = read_npy(fixture("scalar_be_i4.npy"));
  EXPECT_EQ(i.ndim(), 0u);
  EXPECT_EQ(i.data<int32_t>()[0], -123456);
}

TEST(NpyRead, EmptyArrays) {
  const NDArray f = read_npy(fixture("empty_f4.npy"));
  EXPECT_EQ(f.dtype(), DType::kF32);
  EXPECT_EQ(f.shape(), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(f.nbytes(), 0u);
  const NDArray u = read_npy(fixture("empty_u1.npy"));
  EXPECT_EQ(u.dtype(), DType::kU8);
  EXPECT_EQ(u.shape(), (std::vector<int64_t>{0}));
}

TEST(NpyRead, Float16SpecialValuesKeepTheirBits) {
  const NDArray a = read_npy(fixture("f16_special.npy"));
  ASSERT_EQ(a.shape(), (std::vector<int64_t>{8}));
  const std::vector<uint16_t> bits = half_bits(a);
  EXPECT_EQ(bits[0], 0x7C00);           // inf
  EXPECT_EQ(bits[1], 0xFC00);           // -inf
  EXPECT_EQ(bits[2] & 0x7C00, 0x7C00);  // nan: all-ones exponent...
  EXPECT_NE(bits[2] & 0x03FF, 0);       // ...and a nonzero mantissa
  EXPECT_EQ(bits[3], 0x0001);           // smallest subnormal
  EXPECT_EQ(bits[4], 0x8000);           // -0
  EXPECT_EQ(bits[5], 0x7BFF);           // 65504
  EXPECT_EQ(bits[6], 0x0400);           // smallest normal
  EXPECT_EQ(bits[7], 0x03FF);           // largest subnormal
  EXPECT_EQ(half_to_float(bits[3]), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isnan(a.value_at(2)));
  EXPECT_TRUE(std::signbit(a.value_at(4)));
}

TEST(NpyRead, RefusesObjectArraysPointingToTheCamReader) {
  const std::string path = fixture("object.npy");
  expect_error([&] { read_npy(path); },
               {path + ": holds pickled Python objects", "CAM dictionary", "read_cam_file"});
}

TEST(NpyRead, RefusesUnsupportedDtypes) {
  expect_error([] { read_npy(fixture("complex.npy")); },
               {"complex.npy", "unsupported dtype '<c8'"});
  expect_error([] { read_npy(fixture("unicode.npy")); },
               {"unicode.npy", "unsupported dtype '<U2'"});
  expect_error([] { read_npy(fixture("structured.npy")); }, {"structured.npy", "structured"});
}

TEST(NpyRead, MissingFileIsNamed) {
  expect_error([] { read_npy("/nonexistent/pm/cam.npy"); }, {"/nonexistent/pm/cam.npy"});
}

// ---- decoding edge cases ----

TEST(NpyDecode, TruncatedDataNamesBothSizes) {
  std::vector<uint8_t> bytes = read_file_bytes(fixture("le_f4.npy"));
  bytes.pop_back();
  expect_error([&] { decode_npy(bytes.data(), bytes.size(), "cam.npy"); },
               {"cam.npy: truncated .npy data: expected 24 bytes, found 23"});
}

TEST(NpyDecode, TrailingBytesAreRejected) {
  std::vector<uint8_t> bytes = read_file_bytes(fixture("le_f4.npy"));
  bytes.push_back(0);
  expect_error([&] { decode_npy(bytes.data(), bytes.size(), "cam.npy"); },
               {"cam.npy", "1 trailing bytes", "expected 24 bytes, found 25"});
}

TEST(NpyDecode, ForgedHugeShapesFailBeforeAllocating) {
  // Under ASan a huge allocation would abort the test; the size check must come first.
  const std::vector<uint8_t> data(16, 0);
  const auto big = handmade_npy(
      "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 1000), }", data);
  expect_error([&] { decode_npy(big.data(), big.size(), "big.npy"); },
               {"big.npy: truncated .npy data: expected 8000000000000000 bytes, found 16"});
  const auto overflow = handmade_npy(
      "{'descr': '<f8', 'fortran_order': True, 'shape': (999999999999999999, 9), }", data);
  expect_error([&] { decode_npy(overflow.data(), overflow.size(), "overflow.npy"); },
               {"overflow.npy: truncated .npy data: expected 8999999999999999991 items of 8 bytes, "
                "found 16"});
}

TEST(NpyDecode, EveryNonzeroBoolByteReadsAsTrue) {
  const auto bytes =
      handmade_npy("{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }", {0, 1, 2, 255});
  const NDArray a = decode_npy(bytes.data(), bytes.size(), "mask.npy");
  EXPECT_EQ(std::vector<uint8_t>(a.raw(), a.raw() + 4), (std::vector<uint8_t>{0, 1, 1, 1}));
}

TEST(NpyDecode, NotAnNpyFile) {
  const std::vector<uint8_t> png = to_bytes("\x89PNG\r\n\x1a\n0000000000000000");
  expect_error([&] { decode_npy(png.data(), png.size(), "x.png"); }, {"x.png", "not a .npy file"});
}

TEST(NpyParseDescr, AcceptsNumericTypesInEitherByteOrder) {
  struct Case {
    std::string descr;
    DType dtype;
    bool big_endian;
  };
  const std::vector<Case> cases = {
      {"|b1", DType::kBool, false},
      {"|u1", DType::kU8, false},
      {">u1", DType::kU8, false},
      {"|i1", DType::kI8, false},
      {"<u2", DType::kU16, false},
      {">i2", DType::kI16, true},
      {"<u4", DType::kU32, false},
      {">i4", DType::kI32, true},
      {">u8", DType::kU64, true},
      {"<i8", DType::kI64, false},
      {"<f2", DType::kF16, false},
      {">f2", DType::kF16, true},
      {"=f4", DType::kF32, false},
      {"f8", DType::kF64, false},
      {">f8", DType::kF64, true},
  };
  for (const Case& c : cases) {
    const NpyDType t = parse_npy_descr(c.descr, "x.npy");
    EXPECT_EQ(t.dtype, c.dtype) << c.descr;
    EXPECT_EQ(t.big_endian, c.big_endian) << c.descr;
  }
}

TEST(NpyParseDescr, RefusesEverythingElse) {
  for (const std::string descr : {"<c8",
                                  "|O",
                                  "<U2",
                                  "|S3",
                                  "|V4",
                                  "<M8[ns]",
                                  "<f3",
                                  "<b2",
                                  "<i16",
                                  "<f16",
                                  "",
                                  "<",
                                  "f",
                                  "<q8",
                                  "<<f4"}) {
    expect_error([&] { parse_npy_descr(descr, "x.npy"); },
                 {"x.npy: unsupported dtype '" + descr + "'"});
  }
}

TEST(NpyArrayFromRaw, FortranOrderOf4dArrays) {
  // Element (i, j, k, l) of a C-order (2, 3, 1, 4) array holds 100i + 10j + k + l/10; lay it
  // out column-major by hand and check that array_from_raw puts it back.
  const std::vector<int64_t> shape = {2, 3, 1, 4};
  std::vector<double> c_order, f_order(24);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int l = 0; l < 4; ++l) {
        const double v = 100 * i + 10 * j + l / 10.0;
        c_order.push_back(v);
        f_order[i + 2 * j + 6 * l] = v;
      }
    }
  }
  std::vector<uint8_t> raw(24 * 8);
  std::memcpy(raw.data(), f_order.data(), raw.size());
  const NDArray a = array_from_raw(raw.data(), raw.size(), {DType::kF64, false}, shape, true, "f");
  ASSERT_EQ(a.shape(), shape);
  for (int n = 0; n < 24; ++n)
    EXPECT_EQ(a.data<double>()[n], c_order[n]) << n;
}

TEST(NpyArrayFromRaw, BigEndianFortranUint16) {
  // (2, 3) column-major, big-endian: columns (1, 2), (3, 4), (0x0102, 0xFFFE).
  const std::vector<uint8_t> raw = {0, 1, 0, 2, 0, 3, 0, 4, 1, 2, 0xFF, 0xFE};
  const NDArray a = array_from_raw(raw.data(), raw.size(), {DType::kU16, true}, {2, 3}, true, "u");
  expect_values<uint16_t>(a, {1, 3, 0x0102, 2, 4, 0xFFFE}, "be fortran");
}

TEST(NpyArrayFromRaw, SizeMustMatchExactly) {
  const std::vector<uint8_t> raw(12, 0);
  expect_error(
      [&] {
        array_from_raw(raw.data(), 12, {DType::kF32, false}, {2, 2}, false, "m");
      },
      {"m", "expected 16 bytes, found 12"});
  expect_error(
      [&] {
        array_from_raw(raw.data(), 12, {DType::kF32, false}, {2}, false, "m");
      },
      {"m", "expected 8 bytes, found 12"});
  EXPECT_EQ(array_from_raw(raw.data(), 12, {DType::kF32, false}, {3}, false, "m").numel(), 3);
}

TEST(NpyArrayFromRaw, BadShapesAreNamed) {
  const uint8_t byte = 0;
  expect_error(
      [&] {
        array_from_raw(&byte, 1, {DType::kU8, false}, {-1}, false, "neg.npy");
      },
      {"neg.npy: ", "negative extent"});
}

// ---- encoding ----

TEST(NpyEncode, IsByteIdenticalToNumpySave) {
  std::vector<std::string> files = {
      "scalar_f8.npy", "empty_f4.npy", "empty_u1.npy", "f16_special.npy"};
  for (const std::string& code : kAllCodes)
    files.push_back("le_" + code + ".npy");
  for (const std::string& file : files) {
    const std::vector<uint8_t> numpy_bytes = read_file_bytes(fixture(file));
    EXPECT_EQ(encode_npy(read_npy(fixture(file))), numpy_bytes) << file;
  }
}

TEST(NpyEncode, HeaderIsPaddedTo64Bytes) {
  for (size_t nd = 0; nd <= 12; ++nd) {
    for (int64_t extent : {1, 7, 123456789}) {
      if (extent > 7 && nd < 2)
        continue;
      std::vector<int64_t> shape(nd, 1);
      if (nd > 0)
        shape[0] = extent;
      if (extent > 7)
        shape[1] = 0;  // a long first axis, but no data
      const NDArray a(DType::kU8, shape);
      const std::vector<uint8_t> bytes = encode_npy(a);
      const NpyHeader h = parse_npy_header(bytes.data(), bytes.size(), "enc");
      EXPECT_EQ(h.major_version, 1);
      EXPECT_EQ(h.data_offset % 64, 0u) << nd;
      EXPECT_EQ(bytes[h.data_offset - 1], '\n');
      EXPECT_EQ(h.shape, shape);
      EXPECT_EQ(bytes.size(), h.data_offset + a.nbytes());
    }
  }
}

TEST(NpyEncode, UsesVersion2ForHeadersOver64KiB) {
  // 22000 axes of extent 1: the shape text alone is 66000 bytes.
  const NDArray a(DType::kU8, std::vector<int64_t>(22000, 1));
  const std::vector<uint8_t> bytes = encode_npy(a);
  ASSERT_GT(bytes.size(), 12u);
  EXPECT_EQ(std::memcmp(bytes.data(), "\x93NUMPY\x02\x00", 8), 0);
  const size_t header_len = bytes[8] | bytes[9] << 8 | static_cast<size_t>(bytes[10]) << 16 |
                            static_cast<size_t>(bytes[11]) << 24;
  EXPECT_GT(header_len, 65535u);
  EXPECT_EQ((12 + header_len) % 64, 0u);
  EXPECT_EQ(bytes[12 + header_len - 1], '\n');
  EXPECT_EQ(bytes.size(), 12 + header_len + 1);
  const std::string dict(bytes.begin() + 12, bytes.begin() + 40);
  EXPECT_EQ(dict, "{'descr': '|u1', 'fortran_or");
}

TEST(NpyRoundTrip, EveryDtypeAndShapeThroughFiles) {
  TempDir dir;
  const std::vector<DType> dtypes = {DType::kBool,
                                     DType::kU8,
                                     DType::kI8,
                                     DType::kU16,
                                     DType::kI16,
                                     DType::kU32,
                                     DType::kI32,
                                     DType::kU64,
                                     DType::kI64,
                                     DType::kF16,
                                     DType::kF32,
                                     DType::kF64};
  const std::vector<std::vector<int64_t>> shapes = {
      {}, {0}, {5}, {3, 4, 5}, {2, 0, 3}, {1, 1, 1, 7}};
  for (DType dtype : dtypes) {
    for (const auto& shape : shapes) {
      SCOPED_TRACE(std::string(dtype_name(dtype)) + " " + shape_string(shape));
      const NDArray a = patterned(dtype, shape);
      const std::string path = dir.file(std::string("sub/") + dtype_name(dtype) + ".npy");
      write_npy(path, a);
      expect_same_array(read_npy(path), a);
    }
  }
}

TEST(NpyRoundTrip, LargeFortranArrayMatchesElementwise) {
  // A (37, 53, 3) float32 array written column-major and read back into C order.
  const std::vector<int64_t> shape = {37, 53, 3};
  std::vector<float> f(37 * 53 * 3);
  for (int i = 0; i < 37; ++i) {
    for (int j = 0; j < 53; ++j) {
      for (int k = 0; k < 3; ++k)
        f[i + 37 * (j + 53 * k)] = static_cast<float>(i * 1000 + j * 10 + k);
    }
  }
  const NDArray a = array_from_raw(reinterpret_cast<const uint8_t*>(f.data()),
                                   f.size() * 4,
                                   {DType::kF32, false},
                                   shape,
                                   true,
                                   "f");
  const std::vector<uint8_t> bytes = encode_npy(a);
  const NDArray back = decode_npy(bytes.data(), bytes.size(), "rt");
  for (int i = 0; i < 37; ++i) {
    for (int j = 0; j < 53; ++j) {
      for (int k = 0; k < 3; ++k) {
        ASSERT_EQ(back.data<float>()[(i * 53 + j) * 3 + k], i * 1000 + j * 10 + k);
      }
    }
  }
}

}  // namespace
}  // namespace pm
