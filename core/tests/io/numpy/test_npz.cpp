// SPDX-License-Identifier: MIT
// Tests of .npz reading and writing: numpy's savez / savez_compressed archives, data
// descriptors and ZIP64 records (damaged archives: io/zip/test_zip.cpp).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "../../support/expect_error.h"
#include "../../support/zip_bytes.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/core/io/zip/zip.h"

namespace pm {
namespace {

namespace fs = std::filesystem;

std::string fixture(const std::string& name) {
  return std::string(PM_FIXTURE_DIR) + "/npy/" + name;
}

using test::expect_error;

using test::find_signature;
using test::kCentralSig;
using test::kZip64LocatorSig;
using test::rd32;

/// Checks the members np.savez(a=..., half=..., mask=..., scalar=...) wrote in
/// make_npy_fixtures.py.
void check_savez_members(const std::map<std::string, NDArray>& arrays) {
  ASSERT_EQ(arrays.size(), 4u);
  const NDArray& a = arrays.at("a");
  ASSERT_EQ(a.shape(), (std::vector<int64_t>{2, 3}));
  const std::vector<int32_t> a_values = {
      std::numeric_limits<int32_t>::min(), -1, 0, 258, 70000, 2147483647};
  EXPECT_EQ(std::vector<int32_t>(a.data<int32_t>(), a.data<int32_t>() + 6), a_values);

  const NDArray& half = arrays.at("half");
  ASSERT_EQ(half.dtype(), DType::kF16);
  ASSERT_EQ(half.shape(), (std::vector<int64_t>{8}));
  uint16_t bits[8];
  std::memcpy(bits, half.raw(), sizeof(bits));
  EXPECT_EQ(bits[0], 0x7C00);
  EXPECT_EQ(bits[3], 0x0001);
  EXPECT_EQ(bits[4], 0x8000);
  EXPECT_EQ(bits[7], 0x03FF);

  const NDArray& mask = arrays.at("mask");
  ASSERT_EQ(mask.dtype(), DType::kBool);
  EXPECT_EQ(std::vector<uint8_t>(mask.raw(), mask.raw() + 6),
            (std::vector<uint8_t>{1, 0, 1, 1, 0, 0}));

  const NDArray& scalar = arrays.at("scalar");
  EXPECT_EQ(scalar.ndim(), 0u);
  EXPECT_EQ(scalar.data<double>()[0], 3.5);
}

/// One array of every dtype, plus 0-d and empty ones.
std::map<std::string, NDArray> sample_arrays() {
  std::map<std::string, NDArray> arrays;
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
  for (DType dtype : dtypes) {
    NDArray a(dtype, {3, 5, 7});
    for (size_t i = 0; i < a.nbytes(); ++i)
      a.raw()[i] = static_cast<uint8_t>(i % 13 == 0 ? i : 0);
    if (dtype == DType::kBool) {
      for (size_t i = 0; i < a.nbytes(); ++i)
        a.raw()[i] = a.raw()[i] != 0;
    }
    arrays.emplace(dtype_name(dtype), std::move(a));
  }
  arrays.emplace("scalar", NDArray::from<double>({-2.25}, {}));
  arrays.emplace("empty", NDArray(DType::kF32, {0, 4}));
  arrays.emplace("cams/2007_000032", NDArray::from<float>({1, 2, 3, 4}, {2, 2}));
  return arrays;
}

void expect_same_arrays(const std::map<std::string, NDArray>& a,
                        const std::map<std::string, NDArray>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, array] : a) {
    SCOPED_TRACE(key);
    ASSERT_EQ(b.count(key), 1u);
    const NDArray& other = b.at(key);
    EXPECT_EQ(array.dtype(), other.dtype());
    EXPECT_EQ(array.shape(), other.shape());
    ASSERT_EQ(array.nbytes(), other.nbytes());
    if (array.nbytes() > 0) {
      EXPECT_EQ(std::memcmp(array.raw(), other.raw(), array.nbytes()), 0);
    }
  }
}

std::map<std::string, NDArray> decode(const std::vector<uint8_t>& bytes,
                                      const std::string& name = "t.npz") {
  return decode_npz(bytes.data(), bytes.size(), name);
}

// ---- numpy's archives ----

TEST(NpzRead, NumpySavezStoredArchive) {
  const std::vector<uint8_t> bytes = read_file_bytes(fixture("stored.npz"));
  for (const zip::ZipMember& m : zip::list_members(bytes.data(), bytes.size(), "stored")) {
    EXPECT_EQ(m.method, 0) << m.name;
  }
  // numpy forces ZIP64 on every member: the first local header carries a 20-byte extra field.
  EXPECT_EQ(bytes[28], 20);
  check_savez_members(read_npz(fixture("stored.npz")));
}

TEST(NpzRead, NumpySavezCompressedArchive) {
  const std::vector<uint8_t> bytes = read_file_bytes(fixture("compressed.npz"));
  for (const zip::ZipMember& m : zip::list_members(bytes.data(), bytes.size(), "compressed")) {
    EXPECT_EQ(m.method, 8) << m.name;
    EXPECT_LT(m.compressed_size, m.size) << m.name;
  }
  check_savez_members(read_npz(fixture("compressed.npz")));
}

TEST(NpzRead, MembersWithDataDescriptors) {
  const std::vector<uint8_t> bytes = read_file_bytes(fixture("descriptor.npz"));
  const auto members = zip::list_members(bytes.data(), bytes.size(), "descriptor");
  ASSERT_EQ(members.size(), 3u);
  for (const zip::ZipMember& m : members)
    EXPECT_EQ(m.flags & 8, 8) << m.name;
  EXPECT_EQ(rd32(bytes, 18), 0u);  // the local header of a.npy has no size
  const auto arrays = read_npz(fixture("descriptor.npz"));
  ASSERT_EQ(arrays.size(), 3u);
  EXPECT_EQ(arrays.at("a").data<int32_t>()[3], 258);
  EXPECT_EQ(arrays.at("mask").raw()[2], 1);
  const NDArray& f = arrays.at("f");
  ASSERT_EQ(f.shape(), (std::vector<int64_t>{2, 3, 4}));
  for (int i = 0; i < 24; ++i)
    EXPECT_EQ(f.data<float>()[i], static_cast<float>(i));
}

TEST(NpzRead, ObjectMemberIsRefusedWithArchiveAndMemberNamed) {
  const std::string path = fixture("object.npz");
  expect_error([&] { read_npz(path); },
               {path + " (cams.npy): holds pickled Python objects", "read_cam_file"});
}

TEST(NpzRead, NpyFileIsNotAnArchive) {
  const std::string path = fixture("le_f4.npy");
  expect_error([&] { read_npz(path); }, {path + ": is a .npy file", "read_npy"});
}

TEST(NpzRead, MissingFileIsNamed) {
  expect_error([] { read_npz("/nonexistent/pm/cams.npz"); }, {"/nonexistent/pm/cams.npz"});
}

TEST(NpzRead, SkipsNonNpyMembersAndRefusesDuplicates) {
  const std::vector<uint8_t> npy = encode_npy(NDArray::from<int16_t>({7, -7}, {2}));
  zip::ZipWriter writer(false);
  writer.add("readme.txt", reinterpret_cast<const uint8_t*>("hello"), 5);
  writer.add("x.npy", npy.data(), npy.size());
  writer.add("folder/", nullptr, 0);
  const auto arrays = decode(writer.finish());
  ASSERT_EQ(arrays.size(), 1u);
  EXPECT_EQ(arrays.at("x").data<int16_t>()[1], -7);

  writer.add("x.npy", npy.data(), npy.size());
  writer.add("x.npy", npy.data(), npy.size());
  const std::vector<uint8_t> twice = writer.finish();
  expect_error([&] { decode(twice, "d.npz"); }, {"d.npz (x.npy): duplicate member"});
}

TEST(NpzRead, MemberErrorsNameArchiveAndMember) {
  std::vector<uint8_t> npy = encode_npy(NDArray::from<float>({1, 2, 3}, {3}));
  npy.pop_back();
  zip::ZipWriter writer(true);
  writer.add("cam\n.npy", npy.data(), npy.size());  // control bytes are escaped in messages
  const std::vector<uint8_t> bytes = writer.finish();
  expect_error([&] { decode(bytes, "m.npz"); },
               {"m.npz (cam\\x0a.npy): truncated .npy data: expected 12 bytes, found 11"});
}

// ---- writing ----

TEST(NpzWrite, RoundTripStoredAndCompressed) {
  const auto arrays = sample_arrays();
  const std::vector<uint8_t> stored = encode_npz(arrays, false);
  const std::vector<uint8_t> compressed = encode_npz(arrays, true);
  EXPECT_LT(compressed.size(), stored.size());
  expect_same_arrays(decode(stored), arrays);
  expect_same_arrays(decode(compressed), arrays);
  for (const auto* bytes : {&stored, &compressed}) {
    const auto members = zip::list_members(bytes->data(), bytes->size(), "w");
    ASSERT_EQ(members.size(), arrays.size());
    EXPECT_EQ(members.front().name, "bool.npy");  // keys in map order, with the suffix
    EXPECT_EQ(members.front().method, bytes == &compressed ? 8 : 0);
  }
}

TEST(NpzWrite, OutputIsReproducible) {
  const auto arrays = sample_arrays();
  EXPECT_EQ(encode_npz(arrays, true), encode_npz(arrays, true));
  EXPECT_EQ(encode_npz(arrays, false), encode_npz(arrays, false));
}

TEST(NpzWrite, MembersAreByteIdenticalNpy) {
  const NDArray a = NDArray::from<float>({0.5f, -1.0f}, {1, 2});
  const std::vector<uint8_t> bytes = encode_npz({{"cam", a}}, false);
  const auto members = zip::list_members(bytes.data(), bytes.size(), "w");
  ASSERT_EQ(members.size(), 1u);
  const zip::MemberBytes member = zip::read_member(bytes.data(), bytes.size(), members[0], "w");
  EXPECT_EQ(std::vector<uint8_t>(member.data, member.data + member.size), encode_npy(a));
}

TEST(NpzWrite, Utf8NamesAreFlagged) {
  const std::map<std::string, NDArray> arrays = {{"caf\xc3\xa9", NDArray(DType::kU8, {2})},
                                                 {"plain", NDArray(DType::kU8, {1})}};
  const std::vector<uint8_t> bytes = encode_npz(arrays);
  const auto members = zip::list_members(bytes.data(), bytes.size(), "w");
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].flags, 0x800);  // bit 11: UTF-8 name
  EXPECT_EQ(members[1].flags, 0);
  expect_same_arrays(decode(bytes), arrays);
}

TEST(NpzWrite, EmptyArchive) {
  const std::vector<uint8_t> bytes = encode_npz({}, false);
  EXPECT_EQ(bytes.size(), 22u);  // just the end record
  EXPECT_TRUE(decode(bytes).empty());
}

TEST(NpzWrite, ForcedZip64RecordsAreRead) {
  const auto arrays = sample_arrays();
  for (bool compress : {false, true}) {
    zip::ZipWriter writer(compress, /*force_zip64=*/true);
    for (const auto& [key, array] : arrays) {
      const std::vector<uint8_t> npy = encode_npy(array);
      writer.add(key + ".npy", npy.data(), npy.size());
    }
    const std::vector<uint8_t> bytes = writer.finish();
    find_signature(bytes, kZip64LocatorSig);
    const size_t central = find_signature(bytes, kCentralSig);
    EXPECT_EQ(rd32(bytes, central + 20), 0xFFFFFFFFu);  // sizes live in the ZIP64 extra field
    EXPECT_EQ(rd32(bytes, central + 42), 0xFFFFFFFFu);  // and so does the offset
    expect_same_arrays(decode(bytes), arrays);
  }
}

TEST(NpzWrite, FilesRoundTripAndBadKeysAreRefused) {
  const fs::path dir = fs::temp_directory_path() / ("pm_npz_test_" + std::to_string(::getpid()));
  const std::string path = (dir / "out" / "cams.npz").string();
  const auto arrays = sample_arrays();
  write_npz(path, arrays, true);
  expect_same_arrays(read_npz(path), arrays);
  expect_error(
      [&] {
        write_npz(path, {{"", NDArray(DType::kU8, {1})}});
      },
      {path + ": bad array name ''"});
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace pm
