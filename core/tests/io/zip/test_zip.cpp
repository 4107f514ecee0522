// SPDX-License-Identifier: MIT
// Tests of the zip reader on damaged archives (numpy's .npz fixtures with bytes changed): every
// damage fails with one line naming the archive, the member and the problem, and nothing is
// allocated from a size the archive merely claims.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "../../support/expect_error.h"
#include "../../support/zip_bytes.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/numpy/npz.h"

namespace pm {
namespace {

using test::expect_error;
using test::find_signature;
using test::kCentralSig;
using test::put32;
using test::rd32;

std::string fixture(const std::string& name) {
  return std::string(PM_FIXTURE_DIR) + "/npy/" + name;
}

std::map<std::string, NDArray> decode(const std::vector<uint8_t>& bytes,
                                      const std::string& name = "t.npz") {
  return decode_npz(bytes.data(), bytes.size(), name);
}

TEST(ZipRead, CorruptDataFailsTheCrcCheck) {
  std::vector<uint8_t> bytes = read_file_bytes(fixture("stored.npz"));
  bytes[55 + 128 + 7] ^= 0x40;  // inside the data of a.npy (local header 55 bytes, npy header 128)
  expect_error([&] { decode(bytes, "s.npz"); }, {"s.npz (a.npy): CRC-32 mismatch"});
}

TEST(ZipRead, TruncatedArchive) {
  std::vector<uint8_t> bytes = read_file_bytes(fixture("compressed.npz"));
  bytes.pop_back();
  expect_error([&] { decode(bytes, "c.npz"); }, {"c.npz: not a zip archive"});
  expect_error(
      [&] {
        decode({1, 2, 3}, "tiny.npz");
      },
      {"tiny.npz: not a zip archive (only 3 bytes)"});
}

TEST(ZipRead, ForgedUncompressedSizes) {
  const std::vector<uint8_t> original = read_file_bytes(fixture("compressed.npz"));
  const size_t central = find_signature(original, kCentralSig);  // a.npy, 152 bytes
  ASSERT_EQ(rd32(original, central + 24), 152u);
  std::vector<uint8_t> bytes = original;
  put32(bytes, central + 24, 0xFFFFFFF0u);  // would be a 4 GiB allocation
  expect_error([&] { decode(bytes, "c.npz"); },
               {"c.npz (a.npy): corrupt zip member", "cannot inflate"});
  put32(bytes, central + 24, 162);
  expect_error([&] { decode(bytes, "c.npz"); },
               {"c.npz (a.npy): inflates to 152 bytes, the directory says 162"});
  put32(bytes, central + 24, 142);
  expect_error([&] { decode(bytes, "c.npz"); },
               {"c.npz (a.npy): inflates to more than the declared 142 bytes"});
}

TEST(ZipRead, TruncatedDeflateStream) {
  // Claim fewer compressed bytes than the stream has: zlib runs out of input.
  std::vector<uint8_t> bytes = read_file_bytes(fixture("compressed.npz"));
  const size_t central = find_signature(bytes, kCentralSig);
  put32(bytes, central + 20, rd32(bytes, central + 20) - 10);
  expect_error([&] { decode(bytes, "c.npz"); }, {"c.npz (a.npy): truncated deflate data"});
}

TEST(ZipRead, UnsupportedMethodsAndEncryption) {
  std::vector<uint8_t> bytes = read_file_bytes(fixture("stored.npz"));
  const size_t central = find_signature(bytes, kCentralSig);
  bytes[central + 10] = 12;  // bzip2
  expect_error([&] { decode(bytes, "s.npz"); },
               {"s.npz (a.npy): unsupported zip compression method 12"});
  bytes[central + 10] = 0;
  bytes[central + 8] = 1;
  expect_error([&] { decode(bytes, "s.npz"); }, {"s.npz (a.npy): encrypted"});
}

TEST(ZipRead, LocalHeaderMustMatchTheDirectory) {
  std::vector<uint8_t> bytes = read_file_bytes(fixture("stored.npz"));
  bytes[30] = 'b';  // the local header now names b.npy
  expect_error([&] { decode(bytes, "s.npz"); },
               {"s.npz (a.npy): corrupt zip archive (local header"});
  bytes = read_file_bytes(fixture("stored.npz"));
  const size_t central = find_signature(bytes, kCentralSig);
  put32(bytes, central + 20, 0x7FFFFFF0u);
  put32(bytes, central + 24, 0x7FFFFFF0u);
  expect_error([&] { decode(bytes, "s.npz"); }, {"s.npz (a.npy): truncated zip member"});
  bytes = read_file_bytes(fixture("stored.npz"));
  put32(bytes, central + 42, 0x10000);  // local header offset beyond the file
  expect_error([&] { decode(bytes, "s.npz"); },
               {"s.npz (a.npy): corrupt zip archive (no local header"});
}

TEST(ZipRead, DirectoryOutsideTheFile) {
  std::vector<uint8_t> bytes = read_file_bytes(fixture("stored.npz"));
  put32(bytes, bytes.size() - 6, 0x7FFFFFFF);  // central directory offset in the end record
  expect_error([&] { decode(bytes, "s.npz"); }, {"s.npz: corrupt zip archive (central directory"});
}

}  // namespace
}  // namespace pm
