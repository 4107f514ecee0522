// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"

namespace pm {

/// Decodes a JPEG (libjpeg-turbo) or PNG (libpng) held in memory to 8-bit RGB, whatever the
/// stored colour type (gray, gray+alpha, palette, RGB, RGBA, 16-bit; alpha is dropped, 16-bit
/// is reduced to 8-bit, CMYK JPEGs are refused). The format is taken from the magic bytes,
/// not the extension. `name` is used in error messages. Corrupt or truncated data throws
/// pm::Error and never crashes. Limits, checked on the header before anything is allocated: at
/// most 65535 pixels per side and 2^28 pixels in all; progressive JPEGs with more than 500
/// scans are refused.
RgbImage decode_image(const uint8_t* data, size_t size, const std::string& name);

/// Reads a JPEG or PNG file to RGB. Errors name the file.
RgbImage read_image(const std::string& path);

/// Encodes an RGB image as PNG bytes.
std::vector<uint8_t> encode_png_rgb(const RgbImage& image);

/// Writes an RGB image as a PNG file atomically.
void write_png_rgb(const std::string& path, const RgbImage& image);

/// Writes an RGB image as a JPEG file atomically (quality 1..100).
void write_jpeg(const std::string& path, const RgbImage& image, int quality = 95);

}  // namespace pm
