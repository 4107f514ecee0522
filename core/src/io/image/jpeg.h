// SPDX-License-Identifier: MIT
// Private to core/src/io/image: JPEG decoding and encoding with libjpeg(-turbo), used by
// image_io.cpp. Not installed, not part of the API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"

namespace pm::detail {

/// Decodes a JPEG held in memory to RGB as PIL's Image.open(f).convert("RGB") does. Corrupt,
/// truncated, CMYK or oversized data throws pm::Error naming `name`.
RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name);

/// Encodes a (checked, non-empty) RGB image as JPEG of `quality` 1..100.
std::vector<uint8_t> encode_jpeg(const RgbImage& image, int quality, const std::string& name);

}  // namespace pm::detail
