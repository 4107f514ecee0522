// SPDX-License-Identifier: MIT
#include "pseudomask/core/io/image/label_io.h"

#include "png_common.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"

// Label PNGs are read as the raw stored samples (palette indices or gray values; 1/2/4-bit
// samples unpacked to one byte each, not scaled), with no gamma or other transformation. The
// decoding limits are those of png_common.h: at most 65535 pixels per side and 2^28 pixels.

namespace pm {

namespace {

Palette make_voc_palette() {
  Palette palette{};
  for (int i = 0; i < 256; ++i) {
    int code = i;
    int r = 0;
    int g = 0;
    int b = 0;
    for (int bit = 7; bit >= 0; --bit) {
      r |= (code & 1) << bit;
      g |= ((code >> 1) & 1) << bit;
      b |= ((code >> 2) & 1) << bit;
      code >>= 3;
    }
    palette[static_cast<size_t>(i)] = {
        static_cast<uint8_t>(r), static_cast<uint8_t>(g), static_cast<uint8_t>(b)};
  }
  return palette;
}

/// Checks that a label map is non-empty and its label vector has the right size.
void check_label_map(const LabelMap& labels, const std::string& name) {
  PM_CHECK(labels.width > 0 && labels.height > 0,
           "{}: cannot write an empty label map ({}x{})",
           name,
           labels.width,
           labels.height);
  PM_CHECK(labels.labels.size() == labels.num_pixels(),
           "{}: label map of {}x{} has {} values, expected {}",
           name,
           labels.width,
           labels.height,
           labels.labels.size(),
           labels.num_pixels());
}

std::vector<uint8_t> encode_label(const LabelMap& labels,
                                  detail::PngLayout layout,
                                  const Palette* palette,
                                  const std::string& name) {
  check_label_map(labels, name);
  return detail::encode_png(
      labels.labels.data(), labels.width, labels.height, layout, palette, name);
}

}  // namespace

const Palette& voc_palette() {
  static const Palette palette = make_voc_palette();
  return palette;
}

LabelMap decode_label_png(const uint8_t* data, size_t size, const std::string& name) {
  PM_CHECK(size > 0, "{}: empty file", name);
  if (!detail::has_png_signature(data, size)) {
    PM_CHECK(!detail::is_png_signature_prefix(data, size), "{}: truncated PNG", name);
    PM_CHECK(!detail::has_jpeg_signature(data, size),
             "{}: label PNG must be a PNG file, found a JPEG",
             name);
    PM_FAIL("{}: not a PNG file", name);
  }
  detail::DecodedPng png = detail::decode_png(data, size, name, detail::PngOutput::kLabel);
  LabelMap labels;
  labels.width = png.width;
  labels.height = png.height;
  labels.labels = std::move(png.pixels);
  return labels;
}

LabelMap read_label_png(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_label_png(bytes.data(), bytes.size(), path);
}

const char* label_png_colors_name(LabelPngColors colors) {
  return colors == LabelPngColors::kVocPalette ? "voc" : "none";
}

std::vector<uint8_t> encode_label_png(const LabelMap& labels, LabelPngColors colors) {
  if (colors == LabelPngColors::kVocPalette)
    return encode_label_png(labels, voc_palette());
  return encode_label(labels, detail::PngLayout::kGray, nullptr, "label PNG encoder");
}

std::vector<uint8_t> encode_label_png(const LabelMap& labels, const Palette& palette) {
  return encode_label(labels, detail::PngLayout::kPalette, &palette, "label PNG encoder");
}

void write_label_png(const std::string& path, const LabelMap& labels, LabelPngColors colors) {
  if (colors == LabelPngColors::kVocPalette) {
    write_label_png(path, labels, voc_palette());
    return;
  }
  write_file_atomic(path, encode_label(labels, detail::PngLayout::kGray, nullptr, path));
}

void write_label_png(const std::string& path, const LabelMap& labels, const Palette& palette) {
  write_file_atomic(path, encode_label(labels, detail::PngLayout::kPalette, &palette, path));
}

void write_gray_png(const std::string& path, const LabelMap& values) {
  write_file_atomic(path, encode_label(values, detail::PngLayout::kGray, nullptr, path));
}

}  // namespace pm
