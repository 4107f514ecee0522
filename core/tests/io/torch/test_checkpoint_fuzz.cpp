// SPDX-License-Identifier: MIT
// Fuzz-style robustness tests of the checkpoint reader: every truncation of small zip and legacy
// checkpoints, random byte mutations of whole files, and mutations of data.pkl and of the
// storage records re-wrapped in a valid archive (valid CRCs, so they reach the unpickler and
// the state-dict code). Each must end in a Checkpoint or a one-line pm::Error: never a crash,
// another exception type, a hang or (under ASan) a bad access. Fixed seeds, repeatable runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../../support/test_paths.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/core/io/zip/zip.h"

namespace pm {
namespace {

// Debug (and sanitizer) builds are ~10x slower; they run fewer mutations to stay near seconds.
#ifdef NDEBUG
constexpr int kMutationsPerFile = 3000;
#else
constexpr int kMutationsPerFile = 200;
#endif

struct Sample {
  std::string name;
  std::vector<uint8_t> bytes;
};

/// Small zip and legacy checkpoints torch wrote, plus one of our writer's (with metadata).
/// `all` adds more legacy files (the truncation test keeps to the smaller set: under ASan each
/// of its ~6000 decodes throws, which is what costs time).
std::vector<Sample> samples(bool all) {
  std::vector<std::string> names = {"tiny_zip.pth", "tiny_legacy.pth", "views_legacy.pth"};
  if (all) {
    names.insert(names.end(), {"views.pth", "dtypes_legacy.pth", "module_prefix_legacy.pth"});
  }
  std::vector<Sample> out;
  for (const std::string& name : names)
    out.push_back({name, read_file_bytes(test::fixture("checkpoints/" + name))});
  Checkpoint ours;
  ours.tensors.emplace_back("w", NDArray::from<float>({1, 2, 3, 4}, {2, 2}));
  ours.tensors.emplace_back("n", NDArray::from<int64_t>({5}, {}));
  ours.metadata = {{"epoch", "2"}};
  out.push_back({"ours.pth", encode_checkpoint(ours)});
  return out;
}

/// Decodes; returns 1 for a checkpoint, 0 for a pm::Error, and records a failure (returning
/// -1) for any other exception, a message of more than one line or a slow decode.
int try_decode(const std::vector<uint8_t>& bytes, const std::string& name) {
  const auto start = std::chrono::steady_clock::now();
  int result = 1;
  try {
    decode_checkpoint(bytes.data(), bytes.size(), name);
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.find('\n') != std::string::npos || msg.rfind(name, 0) != 0) {
      ADD_FAILURE() << name << ": message is not one line starting with the name: " << msg;
      return -1;
    }
    result = 0;
  } catch (const std::exception& e) {
    ADD_FAILURE() << name << " (" << bytes.size() << " bytes): non-pm exception: " << e.what();
    return -1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (seconds > 2.0) {
    ADD_FAILURE() << name << ": decode took " << seconds << " s";
    return -1;
  }
  return result;
}

TEST(CheckpointFuzz, EveryTruncationFailsCleanly) {
  for (const Sample& s : samples(/*all=*/false)) {
    ASSERT_EQ(try_decode(s.bytes, s.name), 1) << s.name;
    for (size_t n = 0; n < s.bytes.size(); ++n) {
      const std::vector<uint8_t> prefix(s.bytes.begin(), s.bytes.begin() + n);
      // Storages are read exactly and a zip ends in its directory: no proper prefix is valid.
      const int r = try_decode(prefix, s.name + "[:" + std::to_string(n) + "]");
      ASSERT_EQ(r, 0) << s.name << " cut at " << n;
    }
  }
}

/// One to four random edits: overwrite, a bit flip, an "interesting" byte, a deletion, an
/// insertion or a duplicated chunk.
std::vector<uint8_t> mutate(const std::vector<uint8_t>& in, std::mt19937& rng) {
  static const uint8_t kInteresting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, '(', ')', '.', 'q', 'h',
                                         'R',  't',  'u',  'Q',  'K',  'J', 'X', 'c', '}', 0x8a};
  std::vector<uint8_t> out = in;
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !out.empty(); ++e) {
    const size_t pos = rng() % out.size();
    const auto at = out.begin() + static_cast<std::ptrdiff_t>(pos);
    switch (rng() % 6) {
      case 0:
        out[pos] = static_cast<uint8_t>(rng());
        break;
      case 1:
        out[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 2:
        out[pos] = kInteresting[rng() % sizeof(kInteresting)];
        break;
      case 3:
        out.erase(
            at,
            at + static_cast<std::ptrdiff_t>(std::min<size_t>(out.size() - pos, 1 + rng() % 8)));
        break;
      case 4:
        out.insert(at, static_cast<uint8_t>(rng()));
        break;
      default: {
        const size_t len = std::min<size_t>(out.size() - pos, 1 + rng() % 32);
        const std::vector<uint8_t> chunk(at, at + static_cast<std::ptrdiff_t>(len));
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(rng() % out.size()),
                   chunk.begin(),
                   chunk.end());
      }
    }
  }
  return out;
}

TEST(CheckpointFuzz, RandomMutationsOfWholeFiles) {
  std::mt19937 rng(20240611);
  for (const Sample& s : samples(/*all=*/true)) {
    for (int i = 0; i < kMutationsPerFile; ++i) {
      if (try_decode(mutate(s.bytes, rng), s.name + " mutation " + std::to_string(i)) < 0)
        return;
    }
  }
}

using Records = std::vector<std::pair<std::string, std::vector<uint8_t>>>;

Records unzip(const std::vector<uint8_t>& archive) {
  Records records;
  for (const zip::ZipMember& m : zip::list_members(archive.data(), archive.size(), "fuzz")) {
    const zip::MemberBytes b = zip::read_member(archive.data(), archive.size(), m, "fuzz");
    records.emplace_back(m.name, std::vector<uint8_t>(b.data, b.data + b.size));
  }
  return records;
}

std::vector<uint8_t> rezip(const Records& records) {
  zip::ZipWriter w(/*compress=*/false);
  for (const auto& [name, bytes] : records)
    w.add(name, bytes.data(), bytes.size());
  return w.finish();
}

TEST(CheckpointFuzz, MutatedRecordsInsideValidArchives) {
  // data.pkl (record 0) gets most mutations; storage records the rest. Valid CRCs carry the
  // damage past the zip layer into the unpickler, the storage and the state-dict code.
  std::mt19937 rng(31337);
  int decoded = 0, total = 0;
  for (const char* name : {"tiny_zip.pth", "views.pth", "wrapped_other.pth", "dtypes.pth"}) {
    const Records records =
        unzip(read_file_bytes(test::fixture(std::string("checkpoints/") + name)));
    for (int i = 0; i < kMutationsPerFile; ++i, ++total) {
      Records m = records;
      const size_t which = i % 4 == 3 ? 1 + rng() % (records.size() - 1) : 0;
      m[which].second = mutate(m[which].second, rng);
      const int r =
          try_decode(rezip(m), std::string(name) + " record mutation " + std::to_string(i));
      if (r < 0)
        return;
      decoded += r;
    }
  }
  // Some mutations leave a loadable file (a changed value or name): the fuzzing reached past
  // the first checks.
  EXPECT_GT(decoded, total / 50);  // about 12% decode in practice
}

}  // namespace
}  // namespace pm
