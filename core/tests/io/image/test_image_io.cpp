// SPDX-License-Identifier: MIT
// Tests of pseudomask/core/io/image/image_io.h. Expected pixel values come from
// tests/fixtures/make_image_fixtures.py (PIL + numpy); see its docstring.
#include "pseudomask/core/io/image/image_io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/image/label_io.h"

namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) {
  return std::string(PM_FIXTURE_DIR) + "/images/" + name;
}

/// A fixture name of expected.txt: relative to the fixture folder or "data:<path>" (tests/data).
std::string resolve(const std::string& name) {
  const std::string prefix = "data:";
  if (name.rfind(prefix, 0) == 0)
    return std::string(PM_TEST_DATA_DIR) + "/" + name.substr(prefix.size());
  return fixture(name);
}

/// zlib's CRC-32 (the one Python's zlib.crc32 computes).
uint32_t crc32(const std::vector<uint8_t>& bytes) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t b : bytes)
    c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

/// One "rgb ..." line of expected.txt.
struct ExpectedRgb {
  std::string file;
  int width = 0;
  int height = 0;
  std::array<uint64_t, 3> sums{};
  uint32_t crc = 0;
};

std::vector<ExpectedRgb> read_expected_rgb() {
  std::ifstream in(fixture("expected.txt"));
  EXPECT_TRUE(in.good()) << "cannot open " << fixture("expected.txt");
  std::vector<ExpectedRgb> entries;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string kind;
    fields >> kind;
    if (kind != "rgb")
      continue;
    ExpectedRgb e;
    std::string crc_hex;
    fields >> e.file >> e.width >> e.height >> e.sums[0] >> e.sums[1] >> e.sums[2] >> crc_hex;
    e.crc = static_cast<uint32_t>(std::stoul(crc_hex, nullptr, 16));
    entries.push_back(e);
  }
  return entries;
}

std::array<uint64_t, 3> channel_sums(const pm::RgbImage& image) {
  std::array<uint64_t, 3> sums{};
  for (size_t i = 0; i < image.pixels.size(); ++i)
    sums[i % 3] += image.pixels[i];
  return sums;
}

/// Decodes the file of one expected entry and compares size, channel sums and CRC.
void expect_matches(const ExpectedRgb& e) {
  SCOPED_TRACE(e.file);
  const pm::RgbImage image = pm::read_image(resolve(e.file));
  ASSERT_EQ(image.width, e.width);
  ASSERT_EQ(image.height, e.height);
  ASSERT_EQ(image.pixels.size(), image.num_pixels() * 3);
  EXPECT_EQ(channel_sums(image), e.sums);
  EXPECT_EQ(crc32(image.pixels), e.crc);
}

std::array<uint8_t, 3> pixel(const pm::RgbImage& image, int x, int y) {
  const size_t i = (static_cast<size_t>(y) * image.width + x) * 3;
  return {image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]};
}

/// The message of the pm::Error `fn` throws ("" and a test failure if it throws none).
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

pm::RgbImage decode_bytes(const std::vector<uint8_t>& bytes, const std::string& name = "buf") {
  return pm::decode_image(bytes.data(), bytes.size(), name);
}

/// A fresh folder under the system temp folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("pm_image_io_" + std::to_string(::getpid()) + "_" + info->name());
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

pm::RgbImage random_image(int w, int h, uint32_t seed) {
  std::mt19937 rng(seed);
  pm::RgbImage image(w, h);
  for (auto& v : image.pixels)
    v = static_cast<uint8_t>(rng());
  return image;
}

/// A smooth gradient with a soft edge: JPEG reproduces it closely.
pm::RgbImage smooth_image(int w, int h) {
  pm::RgbImage image(w, h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &image.pixels[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>(x * 255 / (w - 1));
      p[1] = static_cast<uint8_t>(y * 255 / (h - 1));
      p[2] = static_cast<uint8_t>(128 + 100 * std::sin(0.1 * (x + y)));
    }
  }
  return image;
}

void put_u32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8)
    v.push_back(static_cast<uint8_t>(x >> s));
}

/// A PNG chunk with its CRC.
std::vector<uint8_t> png_chunk(const std::string& type, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> body;
  for (char c : type)
    body.push_back(static_cast<uint8_t>(c));
  for (uint8_t b : data)
    body.push_back(b);
  std::vector<uint8_t> out;
  put_u32(out, static_cast<uint32_t>(data.size()));
  for (uint8_t b : body)
    out.push_back(b);
  put_u32(out, crc32(body));
  return out;
}

/// A PNG that claims `w` x `h` RGB pixels but carries almost no image data.
std::vector<uint8_t> png_claiming(uint32_t w, uint32_t h) {
  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  put_u32(ihdr, w);
  put_u32(ihdr, h);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
  const auto a = png_chunk("IHDR", ihdr);
  const auto b = png_chunk("IDAT", {0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01});
  const auto c = png_chunk("IEND", {});
  for (const auto* chunk : {&a, &b, &c})
    out.insert(out.end(), chunk->begin(), chunk->end());
  return out;
}

/// The offset of the first FF <marker> in a JPEG after SOI, or 0.
size_t find_marker(const std::vector<uint8_t>& jpeg, uint8_t marker) {
  for (size_t i = 2; i + 1 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xff && jpeg[i + 1] == marker)
      return i;
  }
  return 0;
}

}  // namespace

TEST(ImageDecode, VocJpegsMatchPilExactly) {
  int checked = 0;
  for (const ExpectedRgb& e : read_expected_rgb()) {
    if (e.file.find("JPEGImages/") == std::string::npos)
      continue;
    expect_matches(e);
    ++checked;
  }
  EXPECT_EQ(checked, 8);
}

TEST(ImageDecode, FixturesMatchPil) {
  int checked = 0;
  for (const ExpectedRgb& e : read_expected_rgb()) {
    if (e.file.find("JPEGImages/") != std::string::npos)
      continue;
    expect_matches(e);
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST(ImageDecode, RgbaDropsAlpha) {
  const auto image = pm::read_image(fixture("pil_rgba_6x5.png"));
  ASSERT_EQ(image.width, 6);
  ASSERT_EQ(image.height, 5);
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 6; ++x) {
      const std::array<uint8_t, 3> want = {uint8_t(x * 40), uint8_t(y * 50), uint8_t((x + y) * 20)};
      EXPECT_EQ(pixel(image, x, y), want) << x << "," << y;
    }
  }
}

TEST(ImageDecode, PaletteIsExpandedAndTransparencyIgnored) {
  const auto image = pm::read_image(fixture("pil_ptrns_5x4.png"));
  const pm::Palette& voc = pm::voc_palette();
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 5; ++x) {
      EXPECT_EQ(pixel(image, x, y), voc[static_cast<size_t>(10 + (x + y) % 5)]) << x << "," << y;
    }
  }
}

TEST(ImageDecode, GrayIsReplicated) {
  for (const char* name : {"pil_gray_16x12.jpg", "pil_la_5x4.png", "hw_gray2_7x3.png"}) {
    SCOPED_TRACE(name);
    const auto image = pm::read_image(fixture(name));
    for (size_t i = 0; i < image.pixels.size(); i += 3) {
      ASSERT_EQ(image.pixels[i], image.pixels[i + 1]);
      ASSERT_EQ(image.pixels[i], image.pixels[i + 2]);
    }
  }
  // 2-bit gray is scaled to 8 bits: value v becomes v * 85.
  const auto g2 = pm::read_image(fixture("hw_gray2_7x3.png"));
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 7; ++x)
      EXPECT_EQ(pixel(g2, x, y)[0], ((x + y) % 4) * 85);
  }
}

TEST(ImageDecode, SixteenBitKeepsHighByte) {
  const auto rgb = pm::read_image(fixture("hw_rgb16_4x3.png"));
  const auto rgba = pm::read_image(fixture("hw_rgba16_4x3.png"));
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 4; ++x) {
      const std::array<uint8_t, 3> want = {uint8_t((x * 20000 + y * 7) >> 8),
                                           uint8_t((y * 30000 + 255) >> 8),
                                           uint8_t(((x + y) * 9000 + 128) >> 8)};
      EXPECT_EQ(pixel(rgb, x, y), want);
      EXPECT_EQ(pixel(rgba, x, y), want);
    }
  }
}

TEST(ImageDecode, InterlacedPng) {
  const auto image = pm::read_image(fixture("hw_rgb_adam7_7x5.png"));
  ASSERT_EQ(image.width, 7);
  ASSERT_EQ(image.height, 5);
  // Same pattern as smooth_rgb(7, 5) of make_image_fixtures.py.
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 7; ++x) {
      const std::array<uint8_t, 3> want = {
          uint8_t(x * 255 / 6), uint8_t(y * 255 / 4), uint8_t((x / 4 + y / 4) % 2 == 0 ? 40 : 210)};
      EXPECT_EQ(pixel(image, x, y), want) << x << "," << y;
    }
  }
}

TEST(ImageDecode, CrfAnnotationAsRgbShowsPaletteColours) {
  const auto image = pm::read_image(std::string(PM_TEST_DATA_DIR) + "/crf/anno1.png");
  ASSERT_EQ(image.width, 320);
  ASSERT_EQ(image.height, 240);
  size_t black = 0, bird = 0, water = 0;
  for (size_t i = 0; i < image.num_pixels(); ++i) {
    const uint8_t* p = &image.pixels[i * 3];
    black += p[0] == 0 && p[1] == 0 && p[2] == 0;
    bird += p[0] == 0 && p[1] == 64 && p[2] == 0;
    water += p[0] == 64 && p[1] == 128 && p[2] == 0;
  }
  EXPECT_EQ(black, 8512u);
  EXPECT_EQ(bird, 12648u);
  EXPECT_EQ(water, 55640u);
}

TEST(ImageDecode, RefusesCmykJpeg) {
  const std::string path = fixture("pil_cmyk_8x8.jpg");
  EXPECT_EQ(error_of([&] { pm::read_image(path); }),
            path + ": CMYK JPEG is not supported (convert it to RGB first)");
}

TEST(ImageDecode, RefusesNonImages) {
  const std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  EXPECT_EQ(error_of([&] { decode_bytes(text, "a.png"); }), "a.png: not a PNG or JPEG file");
  EXPECT_EQ(error_of([&] { decode_bytes({}, "a.png"); }), "a.png: empty file");
  EXPECT_EQ(error_of([&] { decode_bytes({0x89, 'P', 'N'}, "a.png"); }), "a.png: truncated PNG");
  EXPECT_EQ(error_of([&] { decode_bytes({0xff, 0xd8}, "a.jpg"); }), "a.jpg: truncated JPEG");
  EXPECT_THROW(pm::read_image(fixture("no_such_file.png")), pm::Error);
}

TEST(ImageDecode, TruncatedJpegIsAnError) {
  const std::string path = std::string(PM_TEST_DATA_DIR) + "/voc_sample/JPEGImages/2007_000032.jpg";
  std::vector<uint8_t> bytes = pm::read_file_bytes(path);
  bytes.resize(bytes.size() / 2);
  EXPECT_EQ(error_of([&] { decode_bytes(bytes, "x.jpg"); }),
            "x.jpg: truncated JPEG (Premature end of JPEG file)");
  // Even the missing EOI marker alone is refused, as PIL does.
  std::vector<uint8_t> tiny = pm::read_file_bytes(fixture("pil_rgb_16x12.jpg"));
  tiny.resize(tiny.size() - 2);
  EXPECT_EQ(error_of([&] { decode_bytes(tiny, "x.jpg"); }),
            "x.jpg: truncated JPEG (Premature end of JPEG file)");
}

TEST(ImageDecode, TruncatedPngIsAnError) {
  std::vector<uint8_t> bytes = pm::read_file_bytes(std::string(PM_TEST_DATA_DIR) + "/crf/im1.png");
  bytes.resize(bytes.size() / 2);
  EXPECT_EQ(error_of([&] { decode_bytes(bytes, "x.png"); }), "x.png: truncated PNG");
}

TEST(ImageDecode, CorruptPngIsAnError) {
  std::vector<uint8_t> bytes = pm::read_file_bytes(fixture("pil_rgb_16x12.png"));
  bytes[45] ^= 0x55;  // inside IDAT: the chunk CRC no longer matches
  const std::string message = error_of([&] { decode_bytes(bytes, "x.png"); });
  EXPECT_EQ(message.rfind("x.png: corrupt PNG (", 0), 0u) << message;
}

TEST(ImageDecode, CorruptJpegIsAnError) {
  const std::vector<uint8_t> original = pm::read_file_bytes(fixture("pil_rgb_16x12.jpg"));
  std::vector<uint8_t> bytes = original;
  const size_t sof = find_marker(bytes, 0xc0);
  ASSERT_GT(sof, 0u);
  bytes[sof + 4] = 12;  // sample precision
  EXPECT_EQ(error_of([&] { decode_bytes(bytes, "x.jpg"); }),
            "x.jpg: corrupt JPEG (Unsupported JPEG data precision 12)");
  bytes = original;
  const size_t dqt = find_marker(bytes, 0xdb);
  ASSERT_GT(dqt, 0u);
  bytes[dqt + 2] = 0;  // segment length 1: shorter than its own length field
  bytes[dqt + 3] = 1;
  const std::string message = error_of([&] { decode_bytes(bytes, "x.jpg"); });
  EXPECT_EQ(message.rfind("x.jpg: corrupt JPEG (", 0), 0u) << message;
}

TEST(ImageDecode, RefusesDecompressionBombs) {
  EXPECT_EQ(error_of([&] { decode_bytes(png_claiming(65536, 1), "b.png"); }),
            "b.png: image too large (65536x1; the limit is 65535 pixels per side and 268435456 "
            "pixels in all)");
  EXPECT_NE(error_of([&] {
              decode_bytes(png_claiming(30000, 30000), "b.png");
            }).find("b.png: image too large (30000x30000"),
            std::string::npos);
  // A JPEG whose frame header claims 60000 x 60000 pixels.
  std::vector<uint8_t> jpeg = pm::read_file_bytes(fixture("pil_rgb_16x12.jpg"));
  const size_t sof = find_marker(jpeg, 0xc0);
  ASSERT_GT(sof, 0u);
  jpeg[sof + 5] = 60000 >> 8;  // height
  jpeg[sof + 6] = 60000 & 0xff;
  jpeg[sof + 7] = 60000 >> 8;  // width
  jpeg[sof + 8] = 60000 & 0xff;
  EXPECT_NE(
      error_of([&] { decode_bytes(jpeg, "b.jpg"); }).find("b.jpg: image too large (60000x60000"),
      std::string::npos);
}

TEST(ImageRoundTrip, PngIsLossless) {
  const pm::RgbImage image = random_image(23, 17, 7);
  const std::vector<uint8_t> bytes = pm::encode_png_rgb(image);
  ASSERT_GT(bytes.size(), 33u);
  EXPECT_EQ(bytes[24], 8);  // bit depth
  EXPECT_EQ(bytes[25], 2);  // colour type RGB
  const pm::RgbImage back = decode_bytes(bytes);
  EXPECT_EQ(back.width, 23);
  EXPECT_EQ(back.height, 17);
  EXPECT_EQ(back.pixels, image.pixels);

  TempDir dir;
  const std::string path = dir.file("sub/rgb.png");
  pm::write_png_rgb(path, image);
  EXPECT_EQ(pm::read_file_bytes(path), bytes);
  EXPECT_EQ(pm::read_image(path).pixels, image.pixels);
}

TEST(ImageRoundTrip, JpegIsCloseToTheOriginal) {
  const pm::RgbImage image = smooth_image(64, 48);
  TempDir dir;
  double previous_error = 1e9;
  for (int quality : {50, 95}) {
    SCOPED_TRACE(quality);
    const std::string path = dir.file("q" + std::to_string(quality) + ".jpg");
    pm::write_jpeg(path, image, quality);
    const std::vector<uint8_t> bytes = pm::read_file_bytes(path);
    ASSERT_GE(bytes.size(), 4u);
    EXPECT_EQ(bytes[0], 0xff);
    EXPECT_EQ(bytes[1], 0xd8);
    const pm::RgbImage back = pm::read_image(path);
    ASSERT_EQ(back.width, 64);
    ASSERT_EQ(back.height, 48);
    double total = 0;
    int worst = 0;
    for (size_t i = 0; i < image.pixels.size(); ++i) {
      const int d = std::abs(int(back.pixels[i]) - int(image.pixels[i]));
      total += d;
      worst = std::max(worst, d);
    }
    const double mean = total / static_cast<double>(image.pixels.size());
    EXPECT_LT(mean, quality == 95 ? 1.5 : 4.0);
    EXPECT_LT(worst, quality == 95 ? 16 : 40);
    EXPECT_LT(mean, previous_error);
    previous_error = mean;
  }
}

TEST(ImageWrite, RefusesBadInput) {
  TempDir dir;
  pm::RgbImage bad(4, 3);
  bad.pixels.resize(5);
  EXPECT_THROW(pm::encode_png_rgb(bad), pm::Error);
  EXPECT_THROW(pm::write_png_rgb(dir.file("a.png"), bad), pm::Error);
  EXPECT_THROW(pm::write_jpeg(dir.file("a.jpg"), bad), pm::Error);
  EXPECT_THROW(pm::encode_png_rgb(pm::RgbImage()), pm::Error);
  const pm::RgbImage good = random_image(4, 3, 1);
  const std::string path = dir.file("b.jpg");
  EXPECT_EQ(error_of([&] { pm::write_jpeg(path, good, 0); }),
            path + ": JPEG quality must be 1..100, got 0");
  EXPECT_THROW(pm::write_jpeg(path, good, 101), pm::Error);
  EXPECT_FALSE(fs::exists(path));
}
