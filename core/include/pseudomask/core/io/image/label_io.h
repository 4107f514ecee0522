// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"

namespace pm {

/// A 256-entry RGB colour table.
using Palette = std::array<std::array<uint8_t, 3>, 256>;

/// The PASCAL VOC colour map (bit-interleaved; index 255 = (224, 224, 192)), used by VOC,
/// SBD/SegmentationClassAug and most WSSS code.
const Palette& voc_palette();

/// Decodes an 8-bit label PNG held in memory: palette (mode P) or grayscale (mode L). The raw
/// stored indices are returned, never the palette colours. Other PNG types (RGB, 16-bit,
/// with alpha) are refused with a message saying what was found. `name` is for errors. Same size
/// limits as decode_image.
LabelMap decode_label_png(const uint8_t* data, size_t size, const std::string& name);

/// Reads a label PNG file (see decode_label_png). Errors name the file.
LabelMap read_label_png(const std::string& path);

/// How a written label PNG stores its indices. Both store the raw indices as 8-bit samples and
/// read_label_png returns them either way; they differ for other readers.
enum class LabelPngColors {
  kGray,        ///< 8-bit grayscale (mode L), as SegmentationClassAug and IRN's outputs: PIL,
                ///< imageio and OpenCV all read the raw indices
  kVocPalette,  ///< 8-bit palette with the VOC colours (mode P): viewers show colours, PIL reads
                ///< the indices, but imageio and OpenCV read the colours
};

/// "none" (grayscale) or "voc" (the VOC palette).
const char* label_png_colors_name(LabelPngColors colors);

/// Encodes a label map as an 8-bit PNG: grayscale by default, or with the VOC palette.
std::vector<uint8_t> encode_label_png(const LabelMap& labels,
                                      LabelPngColors colors = LabelPngColors::kGray);

/// Encodes a label map as an 8-bit palette PNG carrying `palette`, so viewers show colours
/// while PIL (and read_label_png) get the raw indices.
std::vector<uint8_t> encode_label_png(const LabelMap& labels, const Palette& palette);

/// Writes a label map as an 8-bit PNG atomically (see encode_label_png).
void write_label_png(const std::string& path,
                     const LabelMap& labels,
                     LabelPngColors colors = LabelPngColors::kGray);

/// Writes a label map as a palette PNG carrying `palette` atomically.
void write_label_png(const std::string& path, const LabelMap& labels, const Palette& palette);

/// Writes a single-channel 8-bit grayscale PNG (e.g. a weight map as uint8(W·255)) atomically.
void write_gray_png(const std::string& path, const LabelMap& values);

}  // namespace pm
