// SPDX-License-Identifier: MIT
// Fuzz-style robustness tests of decode_image and decode_label_png: truncations, byte
// mutations (raw, and with the PNG chunk CRC repaired so that libpng parses the damage) and
// random buffers. Whatever the input, the decoders must return a consistent image or throw
// pm::Error; nothing else may escape, and nothing may crash (run under ASan/UBSan too).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"

namespace {

std::vector<uint8_t> fixture_bytes(const std::string& name) {
  return pm::read_file_bytes(std::string(PM_FIXTURE_DIR) + "/images/" + name);
}

uint32_t crc32(const uint8_t* data, size_t size) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    c ^= data[i];
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

/// Counts what the decoders did with the inputs of one test.
struct Outcomes {
  int decoded = 0;
  int refused = 0;    // pm::Error
  int escaped = 0;    // any other exception: a bug
  int malformed = 0;  // a returned image whose size is inconsistent: a bug
  std::string first_bug;

  void bug(const std::string& what) {
    if (first_bug.empty())
      first_bug = what;
  }
};

template <typename Fn>
void run_one(Outcomes& out, const std::string& what, Fn&& fn) {
  try {
    if (fn()) {
      ++out.decoded;
    } else {
      ++out.malformed;
      out.bug(what + ": inconsistent result");
    }
  } catch (const pm::Error&) {
    ++out.refused;
  } catch (const std::exception& e) {
    ++out.escaped;
    out.bug(what + ": " + e.what());
  } catch (...) {
    ++out.escaped;
    out.bug(what + ": unknown exception");
  }
}

/// Runs both decoders on `bytes`.
void decode_both(Outcomes& out, const std::vector<uint8_t>& bytes, const std::string& what) {
  run_one(out, what + " (decode_image)", [&] {
    const pm::RgbImage image = pm::decode_image(bytes.data(), bytes.size(), "fuzz");
    return image.width > 0 && image.height > 0 && image.pixels.size() == image.num_pixels() * 3;
  });
  run_one(out, what + " (decode_label_png)", [&] {
    const pm::LabelMap labels = pm::decode_label_png(bytes.data(), bytes.size(), "fuzz");
    return labels.width > 0 && labels.height > 0 && labels.labels.size() == labels.num_pixels();
  });
}

void expect_no_bugs(const Outcomes& out) {
  EXPECT_EQ(out.escaped, 0) << out.first_bug;
  EXPECT_EQ(out.malformed, 0) << out.first_bug;
}

/// Overwrites 1..4 random bytes (random values or single-bit flips).
void mutate(std::vector<uint8_t>& bytes, std::mt19937& rng) {
  const int count = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < count; ++i) {
    const size_t pos = rng() % bytes.size();
    if (rng() % 2) {
      bytes[pos] = static_cast<uint8_t>(rng());
    } else {
      bytes[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
  }
}

/// The [begin, end) byte ranges of the type+data of each chunk of a PNG.
std::vector<std::array<size_t, 2>> png_chunk_spans(const std::vector<uint8_t>& png) {
  std::vector<std::array<size_t, 2>> spans;
  size_t pos = 8;
  while (pos + 12 <= png.size()) {
    const size_t n = (size_t(png[pos]) << 24) | (size_t(png[pos + 1]) << 16) |
                     (size_t(png[pos + 2]) << 8) | png[pos + 3];
    if (pos + 12 + n > png.size())
      break;
    spans.push_back({pos + 4, pos + 8 + n});
    pos += 12 + n;
  }
  return spans;
}

/// Mutates the data of one random chunk and rewrites its CRC, so libpng gets past the CRC
/// check and has to cope with the damaged content.
void mutate_png_chunk(std::vector<uint8_t>& png,
                      const std::vector<std::array<size_t, 2>>& spans,
                      std::mt19937& rng) {
  const auto& span = spans[rng() % spans.size()];
  const size_t data_begin = span[0] + 4;
  if (span[1] > data_begin) {
    const int count = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < count; ++i) {
      png[data_begin + rng() % (span[1] - data_begin)] = static_cast<uint8_t>(rng());
    }
  }
  const uint32_t c = crc32(png.data() + span[0], span[1] - span[0]);
  for (int k = 0; k < 4; ++k)
    png[span[1] + k] = static_cast<uint8_t>(c >> (24 - 8 * k));
}

}  // namespace

TEST(ImageFuzz, EveryTruncationIsRefused) {
  for (const char* name :
       {"pil_rgb_16x12.png", "pil_pal4_13x7.png", "pil_rgb_16x12.jpg", "pil_prog_16x12.jpg"}) {
    SCOPED_TRACE(name);
    const std::vector<uint8_t> full = fixture_bytes(name);
    Outcomes out;
    for (size_t n = 0; n < full.size(); ++n) {
      decode_both(out, std::vector<uint8_t>(full.begin(), full.begin() + n), std::to_string(n));
    }
    expect_no_bugs(out);
    EXPECT_EQ(out.decoded, 0) << "a truncated file was accepted";
    // The whole file decodes (the label decoder only accepts the palette PNG).
    Outcomes whole;
    decode_both(whole, full, "whole");
    EXPECT_EQ(whole.decoded, std::string(name) == "pil_pal4_13x7.png" ? 2 : 1);
  }
}

TEST(ImageFuzz, RandomMutations) {
  std::mt19937 rng(20240611);
  Outcomes out;
  for (const char* name :
       {"pil_rgb_16x12.png", "pil_pal4_13x7.png", "pil_rgb_16x12.jpg", "pil_prog_16x12.jpg"}) {
    const std::vector<uint8_t> original = fixture_bytes(name);
    for (int i = 0; i < 1000; ++i) {
      std::vector<uint8_t> bytes = original;
      mutate(bytes, rng);
      decode_both(out, bytes, std::string(name) + " mutation " + std::to_string(i));
    }
  }
  expect_no_bugs(out);
  EXPECT_GT(out.refused, 0);
  EXPECT_GT(out.decoded, 0);  // JPEGs survive many mutations of their entropy-coded data
}

TEST(ImageFuzz, PngMutationsWithValidCrc) {
  std::mt19937 rng(77);
  Outcomes out;
  for (const char* name : {"pil_rgb_16x12.png", "pil_pal4_13x7.png", "hw_pal4_adam7_9x7.png"}) {
    const std::vector<uint8_t> original = fixture_bytes(name);
    const auto spans = png_chunk_spans(original);
    ASSERT_GE(spans.size(), 3u) << name;
    for (int i = 0; i < 1000; ++i) {
      std::vector<uint8_t> bytes = original;
      mutate_png_chunk(bytes, spans, rng);
      decode_both(out, bytes, std::string(name) + " chunk mutation " + std::to_string(i));
    }
  }
  expect_no_bugs(out);
  EXPECT_GT(out.refused, 0);
}

TEST(ImageFuzz, RandomBuffers) {
  std::mt19937 rng(5);
  const std::vector<uint8_t> png_signature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  const std::vector<uint8_t> jpeg_soi = {0xff, 0xd8, 0xff};
  const std::vector<uint8_t> empty;
  Outcomes out;
  for (int i = 0; i < 1500; ++i) {
    std::vector<uint8_t> bytes(i % 3 == 1 ? png_signature : i % 3 == 2 ? jpeg_soi : empty);
    const size_t extra = rng() % 400;
    for (size_t k = 0; k < extra; ++k)
      bytes.push_back(static_cast<uint8_t>(rng()));
    decode_both(out, bytes, "random buffer " + std::to_string(i));
  }
  expect_no_bugs(out);
  EXPECT_EQ(out.decoded, 0);
}
