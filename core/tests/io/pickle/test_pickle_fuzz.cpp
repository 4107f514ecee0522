// SPDX-License-Identifier: MIT
// Fuzz-style robustness tests of the restricted unpickler and the CAM / cls_labels decoders:
// every truncation of every fixture, random byte mutations and random opcode sequences must
// end in a value or a pm::Error: never a crash, another exception type, a hang or (under ASan)
// an out-of-bounds access, a leak or a huge allocation. Fixed seeds, so runs are repeatable.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/datasets/cls_labels.h"
#include "pseudomask/core/io/pickle/torch_storage.h"
#include "pseudomask/core/io/pickle/unpickler.h"
#include "pseudomask/core/io/torch/legacy.h"

namespace pm {
namespace {

namespace fs = std::filesystem;

struct Sample {
  std::string name;
  std::vector<uint8_t> bytes;
};

/// Every file under tests/fixtures/cams plus files from our own writer, sorted by name.
std::vector<Sample> samples() {
  std::vector<Sample> out;
  const std::string dir = std::string(PM_FIXTURE_DIR) + "/cams";
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file())
      continue;
    out.push_back(
        {fs::relative(entry.path(), dir).string(), read_file_bytes(entry.path().string())});
  }
  std::sort(
      out.begin(), out.end(), [](const Sample& a, const Sample& b) { return a.name < b.name; });
  CamFile cams;
  cams.keys = {2, 7};
  cams.cam = Planes(2, 2, 2, std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8});
  cams.high_res = Planes(2, 3, 3);
  out.push_back({"ours.npy", encode_cam_file(cams)});
  return out;
}

/// A string literal with embedded NUL bytes.
std::string operator""_b(const char* text, size_t size) {
  return std::string(text, size);
}

/// A persistent-id hook for fuzzing: small storages of zeros, anything else refused.
PickleValue fuzz_storage(const PickleValue& pid) {
  const TorchStorageRef ref = parse_torch_storage_ref(pid, "fuzz");
  PM_CHECK(ref.numel <= 4096, "fuzz: storage too large");
  return PickleValue::make_storage(NDArray(ref.dtype, {ref.numel}));
}

/// Which decoders a sample goes through.
enum Decoders : unsigned { kCam = 1, kLabels = 2, kPickle = 4, kLegacy = 8 };

/// The decoder a fixture is meant for (a raw pickle read by decode_cam_file runs the same
/// machine as load_pickle, so one decoder per file covers it).
unsigned decoders_for(const std::string& name) {
  if (name.rfind("cls_labels", 0) == 0)
    return kLabels;
  if (name.find(".pt") != std::string::npos)
    return kLegacy;
  if (name.find(".pkl") != std::string::npos || name.find("torch_zip") != std::string::npos)
    return kPickle;
  return kCam;
}

/// Runs the chosen decoders on the bytes; returns false (after recording a failure) if anything
/// but pm::Error escaped or one decode took too long.
bool decode_all(const std::string& name, unsigned which, const uint8_t* data, size_t size) {
  PickleOptions with_hook;
  with_hook.persistent_load = fuzz_storage;
  const std::vector<std::pair<unsigned, std::function<void()>>> decoders = {
      {kCam, [&] { decode_cam_file(data, size, name); }},
      {kLabels, [&] { decode_cls_labels(data, size, name); }},
      {kPickle, [&] { load_pickle(data, size, name, with_hook); }},
      {kLegacy, [&] { load_torch_legacy(data, size, name); }},
  };
  for (const auto& [bit, decode] : decoders) {
    if ((which & bit) == 0)
      continue;
    const auto start = std::chrono::steady_clock::now();
    try {
      decode();
    } catch (const Error&) {
      // expected for broken input
    } catch (const std::exception& e) {
      ADD_FAILURE() << name << " (" << size << " bytes): non-pm exception: " << e.what();
      return false;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds > 2.0) {
      ADD_FAILURE() << name << " (" << size << " bytes): decode took " << seconds << " s";
      return false;
    }
  }
  return true;
}

TEST(PickleFuzz, EveryTruncationOfEveryFixture) {
  for (const Sample& s : samples()) {
    for (size_t n = 0; n < s.bytes.size(); ++n) {
      const std::string name = s.name + "[:" + std::to_string(n) + "]";
      if (!decode_all(name, decoders_for(s.name), s.bytes.data(), n))
        break;
    }
  }
}

/// One to four random edits: overwrite, an "interesting" byte, a bit flip, a deletion, an
/// insertion or a duplicated chunk.
std::vector<uint8_t> mutate(const std::vector<uint8_t>& in, std::mt19937& rng) {
  static const uint8_t kInteresting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, '(', ')', '.', 'q', 'h',
                                         'R',  'b',  't',  'u',  's',  'a', ']', '}', 'K', 'J'};
  std::vector<uint8_t> out = in;
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !out.empty(); ++e) {
    const size_t pos = rng() % out.size();
    switch (rng() % 6) {
      case 0:
        out[pos] = static_cast<uint8_t>(rng());
        break;
      case 1:
        out[pos] = kInteresting[rng() % sizeof(kInteresting)];
        break;
      case 2:
        out[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 3:
        out.erase(
            out.begin() + static_cast<std::ptrdiff_t>(pos),
            out.begin() + static_cast<std::ptrdiff_t>(std::min(out.size(), pos + 1 + rng() % 8)));
        break;
      case 4:
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(pos), static_cast<uint8_t>(rng()));
        break;
      default: {
        const size_t len = std::min<size_t>(out.size() - pos, 1 + rng() % 32);
        const std::vector<uint8_t> chunk(out.begin() + static_cast<std::ptrdiff_t>(pos),
                                         out.begin() + static_cast<std::ptrdiff_t>(pos + len));
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(rng() % out.size()),
                   chunk.begin(),
                   chunk.end());
      }
    }
  }
  return out;
}

// Debug (and sanitizer) builds are ~10x slower; they run fewer mutations to stay near 10 s.
#ifdef NDEBUG
constexpr int kMutationsPerFixture = 3000;
constexpr int kOpcodeSequences = 40000;
#else
constexpr int kMutationsPerFixture = 200;
constexpr int kOpcodeSequences = 5000;
#endif

TEST(PickleFuzz, RandomMutationsOfEveryFixture) {
  std::mt19937 rng(20240611);
  for (const Sample& s : samples()) {
    for (int i = 0; i < kMutationsPerFixture; ++i) {
      const std::vector<uint8_t> m = mutate(s.bytes, rng);
      const std::string name = s.name + " mutation " + std::to_string(i);
      if (!decode_all(name, decoders_for(s.name), m.data(), m.size()))
        break;
    }
  }
}

/// Random sequences of well-formed opcodes (with plausible arguments) reach much deeper into
/// the machine than byte noise does.
std::string random_opcodes(std::mt19937& rng) {
  static const std::vector<std::string> kTokens = {"(",
                                                   ")",
                                                   "]",
                                                   "}",
                                                   "N",
                                                   "\x88",
                                                   "\x89",
                                                   "K\x01",
                                                   "K\x00"_b,
                                                   "J\xff\xff\xff\xff",
                                                   "M\x00\x01"_b,
                                                   "\x8a\x01\x05",
                                                   "G\x3f\xf0\x00\x00\x00\x00\x00\x00"_b,
                                                   "a",
                                                   "e",
                                                   "s",
                                                   "u",
                                                   "t",
                                                   "l",
                                                   "d",
                                                   "0",
                                                   "1",
                                                   "2",
                                                   "\x85",
                                                   "\x86",
                                                   "\x87",
                                                   "R",
                                                   "b",
                                                   "\x81",
                                                   "Q",
                                                   "q\x00"_b,
                                                   "q\x01",
                                                   "h\x00"_b,
                                                   "h\x01",
                                                   "\x94",
                                                   "\x8f",
                                                   "\x90",
                                                   "\x91",
                                                   "C\x01"
                                                   "b",
                                                   "C\x04"
                                                   "abcd",
                                                   "X\x01\x00\x00\x00"
                                                   "k"_b,
                                                   "X\x02\x00\x00\x00"
                                                   "f4"_b,
                                                   "X\x02\x00\x00\x00"
                                                   "O8"_b,
                                                   "X\x01\x00\x00\x00"
                                                   "<"_b,
                                                   "X\x07\x00\x00\x00"
                                                   "storage"_b,
                                                   "cnumpy.core.multiarray\n_reconstruct\n",
                                                   "cnumpy\nndarray\n",
                                                   "cnumpy\ndtype\n",
                                                   "cnumpy.core.multiarray\nscalar\n",
                                                   "cnumpy.core.numeric\n_frombuffer\n",
                                                   "ccollections\nOrderedDict\n",
                                                   "ctorch._utils\n_rebuild_tensor_v2\n",
                                                   "ctorch\nFloatStorage\n",
                                                   "ctorch\nLongStorage\n",
                                                   "ctorch.storage\n_load_from_bytes\n",
                                                   "ctorch\nSize\n",
                                                   "c_codecs\nencode\n",
                                                   "cbuiltins\nset\n",
                                                   "cbuiltins\nbytes\n",
                                                   "X\x06\x00\x00\x00"
                                                   "latin1"_b,
                                                   "X\x01\x00\x00\x00"
                                                   "C"_b,
                                                   "X\x03\x00\x00\x00"
                                                   "cpu"_b};
  std::string out = "\x80\x04";
  const int n = 1 + static_cast<int>(rng() % 48);
  for (int i = 0; i < n; ++i) {
    const std::string& t = kTokens[rng() % kTokens.size()];
    out += t;
  }
  return out + ".";
}

TEST(PickleFuzz, RandomOpcodeSequences) {
  std::mt19937 rng(7);
  for (int i = 0; i < kOpcodeSequences; ++i) {
    const std::string p = random_opcodes(rng);
    const auto* data = reinterpret_cast<const uint8_t*>(p.data());
    if (!decode_all("opcodes " + std::to_string(i), kPickle | kCam, data, p.size())) {
      break;
    }
  }
}

}  // namespace
}  // namespace pm
