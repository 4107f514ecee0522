// SPDX-License-Identifier: MIT
// Zip bombs (issue 17, item 3): a member declaring more uncompressed bytes than the per-member
// limit fails before anything is inflated, with one line naming the file and the member, in
// .npz archives and .pth checkpoints alike; PSEUDOMASK_MAX_MEMBER_BYTES raises the limit.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "../../support/expect_error.h"
#include "../../support/zip_bytes.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/core/io/zip/zip.h"

namespace pm {
namespace {

using test::expect_error;
using test::find_signature;
using test::kCentralSig;
using test::put32;
using test::rd32;

constexpr uint32_t kThreeGiB = 0xC0000000u;
constexpr size_t kPadBytes = 3'300'000;  // enough compressed bytes to be able to hold 3 GiB

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

// Incompressible bytes, so that a deflated member holding them stays as large.
std::vector<uint8_t> noise(size_t n) {
  std::vector<uint8_t> out(n);
  uint64_t x = 88172645463325252ull;
  for (uint8_t& b : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  return out;
}

// A deflated archive of `members` (in order) followed by a "pad.bin" member of noise; then the
// central entry of member `target` is made to declare `declared` uncompressed bytes and to span
// the pad's bytes as compressed data, as a real 3 GiB bomb of zeros (3.1 MB) would.
std::vector<uint8_t> bomb(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& members,
                          size_t target,
                          uint32_t declared) {
  zip::ZipWriter writer(/*compress=*/true);
  for (const auto& [name, bytes] : members)
    writer.add(name, bytes.data(), bytes.size());
  const std::vector<uint8_t> pad = noise(kPadBytes);
  writer.add("pad.bin", pad.data(), pad.size());
  std::vector<uint8_t> out = writer.finish();
  const size_t central = find_signature(out, kCentralSig, static_cast<int>(target));
  put32(out, central + 20, static_cast<uint32_t>(kPadBytes));  // compressed size
  put32(out, central + 24, declared);                          // uncompressed size
  return out;
}

std::vector<uint8_t> small_npy() {
  NDArray a(DType::kF32, {2, 3});
  for (int i = 0; i < 6; ++i)
    a.data<float>()[i] = static_cast<float>(i);
  return encode_npy(a);
}

TEST(ZipBombs, NpzMemberDeclaringThreeGiBIsRefusedBeforeInflating) {
  const std::vector<uint8_t> bytes = bomb({{"a.npy", small_npy()}}, 0, kThreeGiB);
  const auto start = std::chrono::steady_clock::now();
  expect_error([&] { decode_npz(bytes.data(), bytes.size(), "bomb.npz"); },
               {"bomb.npz (a.npy): declares 3221225472 bytes uncompressed, more than the "
                "1073741824 allowed per member (set PSEUDOMASK_MAX_MEMBER_BYTES to allow more)"});
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.0);
}

TEST(ZipBombs, TheLimitCanBeRaisedAndLowered) {
  const std::vector<uint8_t> bytes = bomb({{"a.npy", small_npy()}}, 0, kThreeGiB);
  {
    // Raised: the member is inflated and found to be far smaller than it declares.
    ScopedEnv env("PSEUDOMASK_MAX_MEMBER_BYTES", "4000000000");
    expect_error([&] { decode_npz(bytes.data(), bytes.size(), "bomb.npz"); },
                 {"bomb.npz (a.npy): inflates to 152 bytes, the directory says 3221225472"});
  }
  const std::vector<uint8_t> npy = small_npy();
  zip::ZipWriter writer(/*compress=*/true);
  writer.add("a.npy", npy.data(), npy.size());
  const std::vector<uint8_t> fine = writer.finish();
  {
    ScopedEnv env("PSEUDOMASK_MAX_MEMBER_BYTES", "100");  // lowered below the 152 bytes
    expect_error([&] { decode_npz(fine.data(), fine.size(), "a.npz"); },
                 {"a.npz (a.npy): declares 152 bytes uncompressed, more than the 100 allowed"});
  }
  {
    ScopedEnv env("PSEUDOMASK_MAX_MEMBER_BYTES", "12x");
    expect_error([&] { decode_npz(fine.data(), fine.size(), "a.npz"); },
                 {"PSEUDOMASK_MAX_MEMBER_BYTES=12x: expected a number of bytes > 0"});
  }
  const auto arrays = decode_npz(fine.data(), fine.size(), "a.npz");  // the default: fine
  ASSERT_EQ(arrays.count("a"), 1u);
  EXPECT_EQ(arrays.at("a").data<float>()[5], 5.0f);
}

TEST(ZipBombs, PthRecordDeclaringThreeGiBIsRefusedBeforeInflating) {
  Checkpoint ckpt;
  NDArray w(DType::kF32, {4});
  ckpt.tensors.emplace_back("w", w);
  const std::vector<uint8_t> stored = encode_checkpoint(ckpt);
  // The same records, deflated (torch.save stores them, but a hostile file need not).
  std::vector<std::pair<std::string, std::vector<uint8_t>>> records;
  size_t storage_record = 0, pickle_record = 0;
  for (const zip::ZipMember& m : zip::list_members(stored.data(), stored.size(), "x")) {
    const zip::MemberBytes b = zip::read_member(stored.data(), stored.size(), m, "x");
    if (m.name == "archive/data/0")
      storage_record = records.size();
    if (m.name == "archive/data.pkl")
      pickle_record = records.size();
    records.emplace_back(m.name, std::vector<uint8_t>(b.data, b.data + b.size));
  }
  ASSERT_EQ(records[storage_record].first, "archive/data/0");
  const std::vector<uint8_t> bytes = bomb(records, storage_record, kThreeGiB);
  expect_error([&] { decode_checkpoint(bytes.data(), bytes.size(), "bomb.pth"); },
               {"bomb.pth (archive/data/0): declares 3221225472 bytes uncompressed, more than"});
  const std::vector<uint8_t> pickle_bomb = bomb(records, pickle_record, kThreeGiB);
  expect_error([&] { decode_checkpoint(pickle_bomb.data(), pickle_bomb.size(), "bomb.pth"); },
               {"bomb.pth (archive/data.pkl): declares 3221225472 bytes uncompressed"});
}

TEST(ZipBombs, DeflatedCheckpointRecordsStillLoad) {
  Checkpoint ckpt;
  NDArray w(DType::kF32, {3});
  w.data<float>()[0] = 1.5f;
  w.data<float>()[2] = -2.0f;
  ckpt.tensors.emplace_back("w", w);
  const std::vector<uint8_t> stored = encode_checkpoint(ckpt);
  zip::ZipWriter writer(/*compress=*/true);
  for (const zip::ZipMember& m : zip::list_members(stored.data(), stored.size(), "x")) {
    const zip::MemberBytes b = zip::read_member(stored.data(), stored.size(), m, "x");
    writer.add(m.name, b.data, b.size);
  }
  const std::vector<uint8_t> bytes = writer.finish();
  const Checkpoint back = decode_checkpoint(bytes.data(), bytes.size(), "d.pth");
  ASSERT_EQ(back.tensors.size(), 1u);
  EXPECT_EQ(back.tensors[0].second.data<float>()[0], 1.5f);
  EXPECT_EQ(back.tensors[0].second.data<float>()[2], -2.0f);
}

}  // namespace
}  // namespace pm
