// SPDX-License-Identifier: MIT
// Private to core/src/io/image: the libpng plumbing and the size limits shared by image_io.cpp,
// jpeg.cpp and label_io.cpp. Not installed, not part of the API.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pm::detail {

/// Largest width or height a decoder accepts, in pixels (JPEG itself stops at 65500).
constexpr uint64_t kMaxImageSide = 65535;

/// Largest number of pixels a decoder accepts: 2^28 (16384 x 16384, 768 MiB as RGB). Checked on
/// the header, before any pixel buffer is allocated, so a small file that claims a huge image
/// (a decompression bomb) is refused cheaply.
constexpr uint64_t kMaxImagePixels = uint64_t{1} << 28;

/// Throws pm::Error "<name>: image too large (WxH ...)" or "<name>: empty image (WxH)" unless
/// 1 <= width, height <= kMaxImageSide and width * height <= kMaxImagePixels.
void check_decoded_size(uint64_t width, uint64_t height, const std::string& name);

/// True when the buffer starts with the 8-byte PNG signature.
bool has_png_signature(const uint8_t* data, size_t size);

/// True when the buffer starts with a JPEG SOI marker followed by a marker (FF D8 FF).
bool has_jpeg_signature(const uint8_t* data, size_t size);

/// True when the (non-empty) buffer is shorter than the PNG / JPEG signature and equals its
/// beginning: a file cut off inside its signature.
bool is_png_signature_prefix(const uint8_t* data, size_t size);
bool is_jpeg_signature_prefix(const uint8_t* data, size_t size);

/// What decode_png delivers.
enum class PngOutput {
  kRgb,    ///< 8-bit RGB, whatever the stored type (palette expanded, indices past a short
           ///< PLTE given PIL's gray ramp (i, i, i); gray replicated; alpha and tRNS dropped;
           ///< 16-bit reduced to its high byte); no gamma or colour management.
  kLabel,  ///< the raw stored samples of a palette or grayscale PNG of bit depth <= 8, one byte
           ///< per pixel (1/2/4-bit samples unpacked, not scaled); anything else is refused.
};

/// A decoded PNG: 3 (kRgb) or 1 (kLabel) bytes per pixel, row-major.
struct DecodedPng {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;
};

/// Decodes a PNG held in memory. Corrupt or truncated data throws pm::Error
/// ("<name>: truncated PNG", "<name>: corrupt PNG (<libpng message>)"); libpng warnings are
/// discarded, nothing is printed.
DecodedPng decode_png(const uint8_t* data, size_t size, const std::string& name, PngOutput output);

/// The stored pixel layouts encode_png writes (always 8 bits per sample, not interlaced).
enum class PngLayout { kRgb, kGray, kPalette };

/// Encodes `width` x `height` pixels (3 bytes each for kRgb, 1 otherwise) as PNG. `palette`
/// (256 entries, all written) is required for kPalette and ignored otherwise. `name` is used
/// in error messages.
std::vector<uint8_t> encode_png(const uint8_t* pixels,
                                int width,
                                int height,
                                PngLayout layout,
                                const std::array<std::array<uint8_t, 3>, 256>* palette,
                                const std::string& name);

}  // namespace pm::detail
