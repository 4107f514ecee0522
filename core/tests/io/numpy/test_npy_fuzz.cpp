// SPDX-License-Identifier: MIT
// Fuzz-style robustness tests of the .npy and .npz decoders: every truncation of every fixture,
// random byte mutations and random buffers must end in a value or a pm::Error, never a crash,
// another exception type or (under ASan) an out-of-bounds access or a huge allocation.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/core/io/zip/zip.h"

namespace pm {
namespace {

namespace fs = std::filesystem;

struct Sample {
  std::string name;
  std::vector<uint8_t> bytes;
  bool is_npz = false;
};

/// Every fixture of tests/fixtures/npy plus archives from our own writer (with and without
/// forced ZIP64 records), sorted by name so the run is deterministic.
std::vector<Sample> samples() {
  std::vector<Sample> out;
  for (const auto& entry : fs::directory_iterator(std::string(PM_FIXTURE_DIR) + "/npy")) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".npy" && ext != ".npz")
      continue;
    out.push_back(
        {entry.path().filename().string(), read_file_bytes(entry.path().string()), ext == ".npz"});
  }
  std::sort(
      out.begin(), out.end(), [](const Sample& a, const Sample& b) { return a.name < b.name; });
  const std::map<std::string, NDArray> arrays = {
      {"f", NDArray::from<float>({1.5f, -2.0f, 3.0f, 0.0f}, {2, 2})},
      {"m", NDArray::from<uint8_t>({1, 0, 1}, {3})}};
  out.push_back({"ours_stored.npz", encode_npz(arrays, false), true});
  out.push_back({"ours_deflated.npz", encode_npz(arrays, true), true});
  for (bool compress : {false, true}) {
    zip::ZipWriter writer(compress, /*force_zip64=*/true);
    for (const auto& [key, array] : arrays) {
      const std::vector<uint8_t> npy = encode_npy(array);
      writer.add(key + ".npy", npy.data(), npy.size());
    }
    out.push_back({compress ? "ours_zip64_deflated.npz" : "ours_zip64.npz", writer.finish(), true});
  }
  return out;
}

/// Decodes `bytes` as .npz or .npy; true if it succeeded. Any exception other than pm::Error
/// is a test failure.
bool decodes(const std::vector<uint8_t>& bytes, bool is_npz, const std::string& what) {
  try {
    if (is_npz) {
      decode_npz(bytes.data(), bytes.size(), "fuzz.npz");
    } else {
      decode_npy(bytes.data(), bytes.size(), "fuzz.npy");
    }
    return true;
  } catch (const Error&) {
    return false;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": non-pm::Error exception: " << e.what();
  } catch (...) {
    ADD_FAILURE() << what << ": unknown exception";
  }
  return false;
}

/// Whether the intact sample decodes (object/complex/... fixtures are meant to fail).
bool intact_decodes(const Sample& s) {
  try {
    if (s.is_npz) {
      decode_npz(s.bytes.data(), s.bytes.size(), s.name);
    } else {
      decode_npy(s.bytes.data(), s.bytes.size(), s.name);
    }
    return true;
  } catch (const Error&) {
    return false;
  }
}

TEST(NpyFuzz, EveryTruncationFailsCleanly) {
  const std::vector<Sample> all = samples();
  ASSERT_GT(all.size(), 30u);
  for (const Sample& s : all) {
    for (size_t len = 0; len < s.bytes.size(); ++len) {
      const std::vector<uint8_t> prefix(s.bytes.begin(), s.bytes.begin() + len);
      // Sizes are checked exactly, so no proper prefix of a file is a valid file.
      EXPECT_FALSE(decodes(prefix, s.is_npz, s.name + " cut at " + std::to_string(len)))
          << s.name << " cut at " << len;
      decodes(prefix, !s.is_npz, s.name + " cut at " + std::to_string(len) + " (other format)");
    }
  }
}

TEST(NpyFuzz, RandomByteMutations) {
  std::mt19937 rng(20240611);
  int decoded = 0, total = 0;
  for (const Sample& s : samples()) {
    if (intact_decodes(s))
      ++decoded;
    std::uniform_int_distribution<size_t> pos(0, s.bytes.size() - 1);
    std::uniform_int_distribution<int> byte(0, 255), count(1, 4);
    const int rounds = s.is_npz ? 1000 : 500;
    for (int r = 0; r < rounds; ++r, ++total) {
      std::vector<uint8_t> bytes = s.bytes;
      const int n = r % 4 == 0 ? count(rng) : 1;  // mostly single-byte mutations
      for (int k = 0; k < n; ++k)
        bytes[pos(rng)] = static_cast<uint8_t>(byte(rng));
      decodes(bytes, s.is_npz, s.name + " mutation " + std::to_string(r));
    }
  }
  EXPECT_GT(decoded, 25);  // most intact fixtures are valid
  EXPECT_GT(total, 20000);
}

TEST(NpyFuzz, MutatedMembersInsideValidArchives) {
  // Mutated .npy bytes wrapped in a well-formed archive (valid CRC), so that they get past the
  // zip layer into the member decoder.
  std::vector<Sample> npys;
  for (Sample& s : samples()) {
    if (!s.is_npz)
      npys.push_back(std::move(s));
  }
  std::mt19937 rng(31337);
  std::uniform_int_distribution<size_t> which(0, npys.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int r = 0; r < 1000; ++r) {
    std::vector<uint8_t> npy = npys[which(rng)].bytes;
    std::uniform_int_distribution<size_t> pos(0, npy.size() - 1);
    npy[pos(rng)] = static_cast<uint8_t>(byte(rng));
    if (r % 5 == 0)
      npy.resize(pos(rng));
    zip::ZipWriter writer(/*compress=*/r % 2 == 1);
    writer.add("m.npy", npy.data(), npy.size());
    decodes(writer.finish(), true, "member mutation " + std::to_string(r));
  }
}

TEST(NpyFuzz, HeaderTextMutations) {
  // Mutations aimed at the header dict: digits, quotes, brackets and letters that steer the
  // parser into its rarer paths (huge shapes, odd dtypes, bad syntax).
  const std::string alphabet = "0123456789(),:'\" {}<>|=TrueFalsbifuOcU9L";
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  for (const std::string name : {"le_f4.npy", "fortran_f4.npy", "v2_f8.npy", "scalar_f8.npy"}) {
    const std::vector<uint8_t> original =
        read_file_bytes(std::string(PM_FIXTURE_DIR) + "/npy/" + name);
    const size_t header_end = std::min<size_t>(original.size(), 128);
    std::uniform_int_distribution<size_t> pos(10, header_end - 1);
    for (int r = 0; r < 2000; ++r) {
      std::vector<uint8_t> bytes = original;
      const int n = 1 + r % 3;
      for (int k = 0; k < n; ++k)
        bytes[pos(rng)] = static_cast<uint8_t>(alphabet[pick(rng)]);
      decodes(bytes, false, name + " header mutation " + std::to_string(r));
    }
  }
}

TEST(NpyFuzz, RandomBuffers) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 300);
  const std::vector<std::vector<uint8_t>> prefixes = {
      {},
      {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0},
      {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0},
      {'P', 'K', 3, 4},
  };
  for (int r = 0; r < 4000; ++r) {
    std::vector<uint8_t> bytes = prefixes[r % prefixes.size()];
    const size_t n = length(rng);
    for (size_t i = 0; i < n; ++i)
      bytes.push_back(static_cast<uint8_t>(byte(rng)));
    if (r % 8 == 3) {  // an end record pointing into the random bytes
      const std::vector<uint8_t> end = {'P',
                                        'K',
                                        5,
                                        6,
                                        0,
                                        0,
                                        0,
                                        0,
                                        1,
                                        0,
                                        1,
                                        0,
                                        static_cast<uint8_t>(byte(rng)),
                                        0,
                                        0,
                                        0,
                                        static_cast<uint8_t>(byte(rng)),
                                        0,
                                        0,
                                        0,
                                        0,
                                        0};
      bytes.insert(bytes.end(), end.begin(), end.end());
    }
    decodes(bytes, false, "random npy " + std::to_string(r));
    decodes(bytes, true, "random npz " + std::to_string(r));
  }
}

TEST(NpyFuzz, RandomHeadersDecodeExactlyWhenSizesMatch) {
  // Well-formed headers with random dtypes, shapes and data lengths: decoding must succeed
  // exactly when the data length equals numel * itemsize.
  std::mt19937 rng(1234);
  const std::vector<std::pair<std::string, size_t>> dtypes = {{"|b1", 1},
                                                              {"|u1", 1},
                                                              {">i2", 2},
                                                              {"<u2", 2},
                                                              {"<f2", 2},
                                                              {">f4", 4},
                                                              {"<i4", 4},
                                                              {">u8", 8},
                                                              {"<f8", 8}};
  std::uniform_int_distribution<int> ndim(0, 4), extent(0, 5), slack(-3, 3), coin(0, 1);
  std::uniform_int_distribution<size_t> which(0, dtypes.size() - 1);
  for (int r = 0; r < 3000; ++r) {
    const auto& [descr, itemsize] = dtypes[which(rng)];
    std::vector<int64_t> shape(ndim(rng));
    for (int64_t& d : shape)
      d = extent(rng);
    const bool fortran = coin(rng) == 1;
    const size_t expected = static_cast<size_t>(shape_numel(shape)) * itemsize;
    const int delta = r % 2 == 0 ? 0 : slack(rng);
    if (delta < 0 && expected < static_cast<size_t>(-delta))
      continue;
    const std::string dict = "{'descr': '" + descr +
                             "', 'fortran_order': " + (fortran ? "True" : "False") +
                             ", 'shape': " + shape_string(shape) + ", }\n";
    std::vector<uint8_t> bytes = {
        0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(dict.size()), 0};
    bytes.insert(bytes.end(), dict.begin(), dict.end());
    bytes.resize(bytes.size() + expected + delta, 0xA5);
    const bool ok = decodes(bytes, false, dict);
    EXPECT_EQ(ok, delta == 0) << dict << " delta " << delta;
    if (ok) {
      const NDArray a = decode_npy(bytes.data(), bytes.size(), "r");
      EXPECT_EQ(a.shape(), shape);
      EXPECT_EQ(a.nbytes(), expected);
    }
  }
}

}  // namespace
}  // namespace pm
