// SPDX-License-Identifier: MIT
// Tests of pseudomask/core/io/image/label_io.h. Expected values come from
// tests/fixtures/make_image_fixtures.py (PIL + numpy) and from the table of
// tests/data/voc_sample/SOURCES.md.
#include "pseudomask/core/io/image/label_io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/image/image_io.h"

namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) {
  return std::string(PM_FIXTURE_DIR) + "/images/" + name;
}

/// A file of the repository's reference data (tests/data).
std::string data_file(const std::string& name) {
  return std::string(PM_TEST_DATA_DIR) + "/" + name;
}

std::string resolve(const std::string& name) {
  const std::string prefix = "data:";
  return name.rfind(prefix, 0) == 0 ? data_file(name.substr(prefix.size())) : fixture(name);
}

/// zlib's CRC-32 (the one Python's zlib.crc32 computes).
uint32_t crc32(const uint8_t* data, size_t size) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    c ^= data[i];
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const pm::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a pm::Error";
  return "";
}

pm::LabelMap decode_bytes(const std::vector<uint8_t>& bytes, const std::string& name = "buf") {
  return pm::decode_label_png(bytes.data(), bytes.size(), name);
}

std::map<int, size_t> histogram(const pm::LabelMap& labels) {
  std::map<int, size_t> counts;
  for (uint8_t v : labels.labels)
    ++counts[v];
  return counts;
}

/// The PNG chunks of a file as (type, data), without checking CRCs.
std::vector<std::pair<std::string, std::vector<uint8_t>>> png_chunks(
    const std::vector<uint8_t>& png) {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> chunks;
  size_t pos = 8;
  while (pos + 12 <= png.size()) {
    const size_t n = (size_t(png[pos]) << 24) | (size_t(png[pos + 1]) << 16) |
                     (size_t(png[pos + 2]) << 8) | png[pos + 3];
    const std::string type(png.begin() + pos + 4, png.begin() + pos + 8);
    chunks.emplace_back(type,
                        std::vector<uint8_t>(png.begin() + pos + 8, png.begin() + pos + 8 + n));
    pos += 12 + n;
  }
  return chunks;
}

/// A fresh folder under the system temp folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("pm_label_io_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(path_);
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

/// Random VOC-like labels: 0..20 and 255.
pm::LabelMap random_labels(int w, int h, uint32_t seed) {
  std::mt19937 rng(seed);
  pm::LabelMap labels(w, h);
  for (auto& v : labels.labels) {
    const uint32_t r = rng() % 23;
    v = static_cast<uint8_t>(r >= 21 ? 255 : r);
  }
  return labels;
}

/// The rows of tests/data/voc_sample/SOURCES.md: size and the label values of each mask.
struct VocMask {
  int width;
  int height;
  std::set<int> values;
};

const std::map<std::string, VocMask>& voc_masks_from_readme() {
  static const std::map<std::string, VocMask> table = {
      {"2007_000032", {500, 281, {0, 1, 15, 255}}},
      {"2007_000061", {500, 333, {0, 4, 255}}},
      {"2007_000063", {500, 375, {0, 9, 12, 255}}},
      {"2007_000129", {334, 500, {0, 2, 15, 255}}},
      {"2007_000175", {500, 332, {0, 17, 255}}},
      {"2007_000363", {500, 333, {0, 3, 255}}},
      {"2007_000648", {500, 333, {0, 1, 6, 7, 15, 255}}},
      {"2007_001311", {500, 319, {0, 2, 15, 255}}},
  };
  return table;
}

/// voc_label_histograms.txt: id -> (W, H, value -> count), as PIL + numpy counted them.
struct Histogram {
  int width = 0;
  int height = 0;
  std::map<int, size_t> counts;
};

std::map<std::string, Histogram> read_histograms() {
  std::ifstream in(fixture("voc_label_histograms.txt"));
  EXPECT_TRUE(in.good());
  std::map<std::string, Histogram> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    std::istringstream fields(line);
    std::string id, pair;
    Histogram h;
    fields >> id >> h.width >> h.height;
    while (fields >> pair) {
      const size_t colon = pair.find(':');
      h.counts[std::stoi(pair.substr(0, colon))] = std::stoul(pair.substr(colon + 1));
    }
    out[id] = h;
  }
  return out;
}

}  // namespace

TEST(LabelPalette, VocColours) {
  const pm::Palette& p = pm::voc_palette();
  using C = std::array<uint8_t, 3>;
  EXPECT_EQ(p[0], (C{0, 0, 0}));
  EXPECT_EQ(p[1], (C{128, 0, 0}));
  EXPECT_EQ(p[2], (C{0, 128, 0}));
  EXPECT_EQ(p[3], (C{128, 128, 0}));
  EXPECT_EQ(p[4], (C{0, 0, 128}));
  EXPECT_EQ(p[8], (C{64, 0, 0}));
  EXPECT_EQ(p[15], (C{192, 128, 128}));
  EXPECT_EQ(p[20], (C{0, 64, 128}));
  EXPECT_EQ(p[255], (C{224, 224, 192}));
  EXPECT_EQ(std::set<C>(p.begin(), p.end()).size(), 256u);  // a bijection
}

TEST(LabelDecode, VocMasksMatchReadmeAndPilHistograms) {
  const auto histograms = read_histograms();
  ASSERT_EQ(histograms.size(), 8u);
  const std::string folder = data_file("voc_sample/SegmentationClass");
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string id = entry.path().stem().string();
    SCOPED_TRACE(id);
    const pm::LabelMap labels = pm::read_label_png(entry.path().string());
    ASSERT_EQ(voc_masks_from_readme().count(id), 1u);
    const VocMask& want = voc_masks_from_readme().at(id);
    EXPECT_EQ(labels.width, want.width);
    EXPECT_EQ(labels.height, want.height);
    ASSERT_EQ(labels.labels.size(), labels.num_pixels());
    const auto counts = histogram(labels);
    std::set<int> values;
    for (const auto& [v, n] : counts)
      values.insert(v);
    EXPECT_EQ(values, want.values);
    ASSERT_EQ(histograms.count(id), 1u);
    EXPECT_EQ(histograms.at(id).width, want.width);
    EXPECT_EQ(counts, histograms.at(id).counts);
    ++checked;
  }
  EXPECT_EQ(checked, 8);
}

TEST(LabelDecode, FixturesAndSharedMasksMatchPil) {
  std::ifstream in(fixture("expected.txt"));
  ASSERT_TRUE(in.good());
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string kind, file, crc_hex;
    int w = 0, h = 0;
    uint64_t sum = 0;
    fields >> kind;
    if (kind != "label")
      continue;
    fields >> file >> w >> h >> sum >> crc_hex;
    SCOPED_TRACE(file);
    const pm::LabelMap labels = pm::read_label_png(resolve(file));
    EXPECT_EQ(labels.width, w);
    EXPECT_EQ(labels.height, h);
    uint64_t got_sum = 0;
    for (uint8_t v : labels.labels)
      got_sum += v;
    EXPECT_EQ(got_sum, sum);
    EXPECT_EQ(crc32(labels.labels.data(), labels.labels.size()), std::stoul(crc_hex, nullptr, 16));
    ++checked;
  }
  EXPECT_EQ(checked, 20);  // 9 fixtures, 3 CRF annotations, 8 VOC masks
}

TEST(LabelDecode, FourBitPaletteWrittenByPil) {
  const pm::LabelMap labels = pm::read_label_png(fixture("pil_pal4_13x7.png"));
  ASSERT_EQ(labels.width, 13);
  ASSERT_EQ(labels.height, 7);
  for (int y = 0; y < 7; ++y) {
    for (int x = 0; x < 13; ++x)
      EXPECT_EQ(labels.at(x, y), (x + 3 * y) % 16) << x << "," << y;
  }
}

TEST(LabelDecode, LowBitDepthsGiveRawValues) {
  const pm::LabelMap g1 = pm::read_label_png(fixture("pil_gray1_11x5.png"));  // PIL mode "1"
  ASSERT_EQ(g1.width, 11);
  ASSERT_EQ(g1.height, 5);
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 11; ++x)
      EXPECT_EQ(g1.at(x, y), (x + 2 * y) % 3 == 0 ? 1 : 0);
  }
  const pm::LabelMap g2 = pm::read_label_png(fixture("hw_gray2_7x3.png"));
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 7; ++x)
      EXPECT_EQ(g2.at(x, y), (x + y) % 4);
  }
  const pm::LabelMap p1 = pm::read_label_png(fixture("hw_pal1_9x2.png"));
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 9; ++x)
      EXPECT_EQ(p1.at(x, y), (x + y) % 2);
  }
  const pm::LabelMap adam7 = pm::read_label_png(fixture("hw_pal4_adam7_9x7.png"));  // interlaced
  for (int y = 0; y < 7; ++y) {
    for (int x = 0; x < 9; ++x)
      EXPECT_EQ(adam7.at(x, y), (3 * x + 5 * y) % 16);
  }
  const pm::LabelMap g8 = pm::read_label_png(fixture("pil_gray8_9x4.png"));
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 9; ++x)
      EXPECT_EQ(g8.at(x, y), (x * 29 + y * 7) % 256);
  }
}

TEST(LabelDecode, ShortPaletteKeepsRawIndices) {
  // A 3-entry PLTE with indices 21 and 255 in the data, as some tools write VOC masks.
  const std::string path = fixture("hw_pal8_short_4x2.png");
  const pm::LabelMap labels = pm::read_label_png(path);
  EXPECT_EQ(labels.labels, (std::vector<uint8_t>{0, 1, 2, 255, 21, 255, 1, 0}));
  // As RGB, indices past the PLTE get PIL's gray ramp (i, i, i).
  const pm::RgbImage rgb = pm::read_image(path);
  EXPECT_EQ(rgb.pixels,
            (std::vector<uint8_t>{0,  0,  0,  128, 0,   0,   0,   128, 0, 255, 255, 255,
                                  21, 21, 21, 255, 255, 255, 128, 0,   0, 0,   0,   0}));
}

TEST(LabelDecode, CrfAnnotationIsTwoBitPalette) {
  // PIL: mode P, 320x240, stored with 2 bits per pixel and a 4-entry palette
  // (64,128,0) (0,64,0) (0,0,0) (255,255,255); it carries a gAMA chunk, which must be ignored.
  const std::string path = data_file("crf/anno1.png");
  const std::vector<uint8_t> bytes = pm::read_file_bytes(path);
  ASSERT_GT(bytes.size(), 26u);
  EXPECT_EQ(bytes[24], 2);  // bit depth
  EXPECT_EQ(bytes[25], 3);  // palette
  const pm::LabelMap labels = pm::read_label_png(path);
  EXPECT_EQ(labels.width, 320);
  EXPECT_EQ(labels.height, 240);
  EXPECT_EQ(histogram(labels), (std::map<int, size_t>{{0, 55640}, {1, 12648}, {2, 8512}}));
  EXPECT_EQ(labels.at(0, 0), 0);  // PIL: water (64,128,0) at the top-left
  const pm::LabelMap anno3 = pm::read_label_png(data_file("crf/anno3.png"));  // 4-bit palette
  EXPECT_EQ(anno3.width, 240);
  EXPECT_EQ(anno3.height, 320);
  EXPECT_EQ(histogram(anno3),
            (std::map<int, size_t>{{0, 52199}, {1, 16145}, {2, 1968}, {3, 6488}}));
}

TEST(LabelDecode, RefusesNonLabelTypes) {
  const auto check = [](const std::string& name, const std::string& found) {
    const std::string path = fixture(name);
    EXPECT_EQ(error_of([&] { pm::read_label_png(path); }),
              path + ": label PNG must be 8-bit palette or grayscale, found " + found);
  };
  check("pil_rgb_16x12.png", "RGB (colour type 2)");
  check("pil_rgba_6x5.png", "RGBA (colour type 6)");
  check("pil_la_5x4.png", "grayscale+alpha (colour type 4)");
  check("hw_gray16_4x3.png", "16-bit grayscale (colour type 0)");
  check("hw_rgb16_4x3.png", "16-bit RGB (colour type 2)");
  const std::string jpeg = fixture("pil_rgb_16x12.jpg");
  EXPECT_EQ(error_of([&] { pm::read_label_png(jpeg); }),
            jpeg + ": label PNG must be a PNG file, found a JPEG");
  EXPECT_EQ(error_of([&] {
              decode_bytes({'G', 'I', 'F', '8', '9', 'a'}, "m.png");
            }),
            "m.png: not a PNG file");
  EXPECT_EQ(error_of([&] { decode_bytes({}, "m.png"); }), "m.png: empty file");
  std::vector<uint8_t> cut = pm::read_file_bytes(fixture("pil_pal4_13x7.png"));
  cut.resize(cut.size() - 5);
  EXPECT_EQ(error_of([&] { decode_bytes(cut, "m.png"); }), "m.png: truncated PNG");
}

// By default label PNGs are 8-bit grayscale (colour type 0, no PLTE): every reader (PIL,
// imageio, OpenCV) gets the raw indices, as from SegmentationClassAug and IRN's outputs.
TEST(LabelRoundTrip, DefaultIsEightBitGrayscale) {
  const pm::LabelMap labels = random_labels(37, 23, 3);
  const std::vector<uint8_t> bytes = pm::encode_label_png(labels);
  ASSERT_GT(bytes.size(), 33u);
  EXPECT_EQ(bytes[24], 8);  // bit depth
  EXPECT_EQ(bytes[25], 0);  // colour type grayscale
  for (const auto& chunk : png_chunks(bytes))
    EXPECT_NE(chunk.first, "PLTE");
  EXPECT_EQ(decode_bytes(bytes).labels, labels.labels);
  // A colour reader sees each index as a gray level (R = G = B = index).
  const pm::RgbImage rgb = pm::decode_image(bytes.data(), bytes.size(), "m.png");
  for (size_t i = 0; i < labels.num_pixels(); ++i) {
    ASSERT_EQ(rgb.pixels[i * 3], labels.labels[i]);
    ASSERT_EQ(rgb.pixels[i * 3 + 1], labels.labels[i]);
  }
  TempDir dir;
  const std::string path = dir.file("gray.png");
  pm::write_label_png(path, labels);
  EXPECT_EQ(pm::read_file_bytes(path), bytes);
}

TEST(LabelRoundTrip, VocPalettePngIsLossless) {
  const pm::LabelMap labels = random_labels(37, 23, 3);
  const std::vector<uint8_t> bytes = pm::encode_label_png(labels, pm::LabelPngColors::kVocPalette);
  ASSERT_GT(bytes.size(), 33u);
  EXPECT_EQ(bytes[24], 8);  // bit depth
  EXPECT_EQ(bytes[25], 3);  // colour type palette
  EXPECT_EQ(bytes, pm::encode_label_png(labels, pm::voc_palette()));
  const pm::LabelMap back = decode_bytes(bytes);
  EXPECT_EQ(back.width, 37);
  EXPECT_EQ(back.height, 23);
  EXPECT_EQ(back.labels, labels.labels);

  TempDir dir;
  const std::string path = dir.file("nested/mask.png");
  pm::write_label_png(path, labels, pm::LabelPngColors::kVocPalette);
  EXPECT_EQ(pm::read_file_bytes(path), bytes);
  EXPECT_EQ(pm::read_label_png(path).labels, labels.labels);
}

TEST(LabelRoundTrip, AllIndicesAndFullPaletteAreWritten) {
  pm::LabelMap labels(16, 16);
  for (int i = 0; i < 256; ++i)
    labels.labels[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
  const std::vector<uint8_t> bytes = pm::encode_label_png(labels, pm::LabelPngColors::kVocPalette);
  EXPECT_EQ(decode_bytes(bytes).labels, labels.labels);
  // The PLTE chunk carries all 256 VOC colours, so index 255 shows as (224, 224, 192).
  const auto chunks = png_chunks(bytes);
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks.front().first, "IHDR");
  EXPECT_EQ(chunks[1].first, "PLTE");
  ASSERT_EQ(chunks[1].second.size(), 768u);
  const pm::Palette& voc = pm::voc_palette();
  for (size_t i = 0; i < 256; ++i) {
    EXPECT_EQ(chunks[1].second[i * 3], voc[i][0]);
    EXPECT_EQ(chunks[1].second[i * 3 + 1], voc[i][1]);
    EXPECT_EQ(chunks[1].second[i * 3 + 2], voc[i][2]);
  }
  EXPECT_EQ(chunks.back().first, "IEND");
  // A viewer (decode_image) sees the palette colours.
  const pm::RgbImage rgb = pm::decode_image(bytes.data(), bytes.size(), "m.png");
  EXPECT_EQ(rgb.pixels[255 * 3], 224);
  EXPECT_EQ(rgb.pixels[255 * 3 + 1], 224);
  EXPECT_EQ(rgb.pixels[255 * 3 + 2], 192);
  EXPECT_EQ(rgb.pixels[15 * 3], 192);
}

TEST(LabelRoundTrip, CustomPalette) {
  pm::Palette palette{};
  for (size_t i = 0; i < 256; ++i)
    palette[i] = {uint8_t(255 - i), uint8_t(i), uint8_t(i / 2)};
  const pm::LabelMap labels = random_labels(9, 5, 11);
  const std::vector<uint8_t> bytes = pm::encode_label_png(labels, palette);
  EXPECT_EQ(decode_bytes(bytes).labels, labels.labels);
  const pm::RgbImage rgb = pm::decode_image(bytes.data(), bytes.size(), "m.png");
  for (size_t i = 0; i < labels.num_pixels(); ++i) {
    const auto& c = palette[labels.labels[i]];
    ASSERT_EQ(rgb.pixels[i * 3], c[0]);
    ASSERT_EQ(rgb.pixels[i * 3 + 1], c[1]);
    ASSERT_EQ(rgb.pixels[i * 3 + 2], c[2]);
  }
}

TEST(LabelRoundTrip, GrayPng) {
  pm::LabelMap values(32, 8);
  for (size_t i = 0; i < values.labels.size(); ++i)
    values.labels[i] = static_cast<uint8_t>(i);
  TempDir dir;
  const std::string path = dir.file("w.png");
  pm::write_gray_png(path, values);
  const std::vector<uint8_t> bytes = pm::read_file_bytes(path);
  ASSERT_GT(bytes.size(), 26u);
  EXPECT_EQ(bytes[24], 8);  // bit depth
  EXPECT_EQ(bytes[25], 0);  // colour type grayscale
  EXPECT_EQ(pm::read_label_png(path).labels, values.labels);
  const pm::RgbImage rgb = pm::read_image(path);
  for (size_t i = 0; i < values.labels.size(); ++i) {
    ASSERT_EQ(rgb.pixels[i * 3], values.labels[i]);
    ASSERT_EQ(rgb.pixels[i * 3 + 2], values.labels[i]);
  }
}

TEST(LabelWrite, RefusesBadInput) {
  TempDir dir;
  pm::LabelMap bad(4, 3);
  bad.labels.resize(11);
  const std::string path = dir.file("bad.png");
  EXPECT_EQ(error_of([&] { pm::write_label_png(path, bad); }),
            path + ": label map of 4x3 has 11 values, expected 12");
  EXPECT_THROW(pm::write_gray_png(path, bad), pm::Error);
  EXPECT_THROW(pm::encode_label_png(pm::LabelMap()), pm::Error);
  EXPECT_FALSE(fs::exists(path));
}
