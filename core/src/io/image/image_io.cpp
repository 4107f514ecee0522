// SPDX-License-Identifier: MIT
// RGB images: PNG (png_common.cpp) or JPEG (jpeg.cpp), told apart by their signatures.
#include "pseudomask/core/io/image/image_io.h"

#include "jpeg.h"
#include "png_common.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"

namespace pm {
namespace {

/// Checks that an image is non-empty and its pixel vector has the right size.
void check_rgb_image(const RgbImage& image, const std::string& name) {
  PM_CHECK(image.width > 0 && image.height > 0,
           "{}: cannot write an empty image ({}x{})",
           name,
           image.width,
           image.height);
  PM_CHECK(image.pixels.size() == image.num_pixels() * 3,
           "{}: RGB image of {}x{} has {} bytes, expected {}",
           name,
           image.width,
           image.height,
           image.pixels.size(),
           image.num_pixels() * 3);
}

}  // namespace

RgbImage decode_image(const uint8_t* data, size_t size, const std::string& name) {
  PM_CHECK(size > 0, "{}: empty file", name);
  if (detail::has_png_signature(data, size)) {
    detail::DecodedPng png = detail::decode_png(data, size, name, detail::PngOutput::kRgb);
    RgbImage image;
    image.width = png.width;
    image.height = png.height;
    image.pixels = std::move(png.pixels);
    return image;
  }
  if (detail::has_jpeg_signature(data, size))
    return detail::decode_jpeg(data, size, name);
  PM_CHECK(!detail::is_png_signature_prefix(data, size), "{}: truncated PNG", name);
  PM_CHECK(!detail::is_jpeg_signature_prefix(data, size), "{}: truncated JPEG", name);
  PM_FAIL("{}: not a PNG or JPEG file", name);
}

RgbImage read_image(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_image(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> encode_png_rgb(const RgbImage& image) {
  const std::string name = "PNG encoder";
  check_rgb_image(image, name);
  return detail::encode_png(
      image.pixels.data(), image.width, image.height, detail::PngLayout::kRgb, nullptr, name);
}

void write_png_rgb(const std::string& path, const RgbImage& image) {
  check_rgb_image(image, path);
  write_file_atomic(
      path,
      detail::encode_png(
          image.pixels.data(), image.width, image.height, detail::PngLayout::kRgb, nullptr, path));
}

void write_jpeg(const std::string& path, const RgbImage& image, int quality) {
  check_rgb_image(image, path);
  write_file_atomic(path, detail::encode_jpeg(image, quality, path));
}

}  // namespace pm
