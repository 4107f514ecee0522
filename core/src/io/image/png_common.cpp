// SPDX-License-Identifier: MIT
#include "png_common.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "pseudomask/core/common/error.h"

// libpng reports errors by calling our error function, which must not return: it longjmps back
// into one of the small "step" functions below (each calls setjmp before touching libpng).
// Those step functions and the callbacks own no C++ objects, so the longjmp skips no
// destructor; every C++ object (vectors, strings, the RAII owner of the libpng structs) lives
// in the callers, which turn a failed step into a pm::Error.

namespace pm::detail {

namespace {

constexpr uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
constexpr uint8_t kJpegSignature[3] = {0xff, 0xd8, 0xff};

/// Copies a libpng / libjpeg message into a fixed buffer.
void store_message(char* buffer, size_t capacity, const char* message) {
  std::snprintf(buffer, capacity, "%s", message != nullptr ? message : "unknown error");
}

// ---------------------------------------------------------------------------------------------
// Reading.

/// Plain state shared with the libpng read callbacks.
struct PngReadState {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t pos = 0;
  bool truncated = false;
  char message[256] = {};
  std::jmp_buf jump;
};

[[noreturn]] void on_read_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngReadState*>(png_get_error_ptr(png));
  store_message(state->message, sizeof state->message, message);
  std::longjmp(state->jump, 1);
}

void on_warning(png_structp /*png*/, png_const_charp /*message*/) {}

void on_read(png_structp png, png_bytep out, size_t count) {
  auto* state = static_cast<PngReadState*>(png_get_io_ptr(png));
  if (count > state->size - state->pos) {
    state->truncated = true;
    png_error(png, "unexpected end of data");
  }
  std::memcpy(out, state->data + state->pos, count);
  state->pos += count;
}

/// Creates the libpng read structs and sets up reading from memory.
bool create_reader(PngReadState* state) {
  if (setjmp(state->jump))
    return false;
  state->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, state, on_read_error, on_warning);
  if (state->png == nullptr)
    return false;
  state->info = png_create_info_struct(state->png);
  if (state->info == nullptr)
    return false;
  png_set_read_fn(state->png, state, on_read);
  // Size limits are checked by check_decoded_size (with a clearer message); benign errors
  // (e.g. a bad ancillary chunk) stay warnings, which on_warning discards.
  png_set_user_limits(state->png, 0x7fffffff, 0x7fffffff);
  png_set_benign_errors(state->png, 1);
  return true;
}

/// Reads the signature and all chunks before the image data.
bool read_header(PngReadState* state) {
  if (setjmp(state->jump))
    return false;
  png_read_info(state->png, state->info);
  return true;
}

/// What we ask libpng for: 8-bit RGB, or the raw samples of a palette or grayscale image of
/// bit depth <= 8, one byte each (1/2/4-bit samples unpacked, not scaled).
enum class LibpngLayout { kRgb, kRawSamples };

/// Asks libpng for `layout` and updates the info struct accordingly.
bool set_transforms(PngReadState* state, LibpngLayout layout) {
  if (setjmp(state->jump))
    return false;
  png_structp png = state->png;
  const int color_type = png_get_color_type(png, state->info);
  const int bit_depth = png_get_bit_depth(png, state->info);
  if (layout == LibpngLayout::kRawSamples) {
    if (bit_depth < 8)
      png_set_packing(png);
  } else {
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8)
      png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16)
      png_set_strip_16(png);
    png_set_strip_alpha(png);
    if ((color_type & PNG_COLOR_MASK_COLOR) == 0)
      png_set_gray_to_rgb(png);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, state->info);
  return true;
}

/// Decodes all rows into `rows` and reads the chunks after the image data up to IEND.
bool read_rows(PngReadState* state, png_bytep* rows) {
  if (setjmp(state->jump))
    return false;
  png_read_image(state->png, rows);
  png_read_end(state->png, nullptr);
  return true;
}

/// Owns the libpng read structs of one decode.
class PngReader {
 public:
  PngReader(const uint8_t* data, size_t size) {
    state_.data = data;
    state_.size = size;
  }
  ~PngReader() { png_destroy_read_struct(&state_.png, &state_.info, nullptr); }
  PngReader(const PngReader&) = delete;
  PngReader& operator=(const PngReader&) = delete;

  PngReadState* state() { return &state_; }

  /// Throws the pm::Error for the last failed step.
  [[noreturn]] void fail(const std::string& name) const {
    if (state_.png == nullptr || state_.info == nullptr) {
      PM_FAIL("{}: cannot initialise the PNG decoder", name);
    }
    if (state_.truncated)
      PM_FAIL("{}: truncated PNG", name);
    PM_FAIL("{}: corrupt PNG ({})", name, state_.message);
  }

 private:
  PngReadState state_;
};

/// Describes a stored PNG type for messages, e.g. "RGB (colour type 2)".
std::string describe_png_type(int color_type, int bit_depth) {
  const char* kind = "unknown";
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
      kind = "grayscale";
      break;
    case PNG_COLOR_TYPE_RGB:
      kind = "RGB";
      break;
    case PNG_COLOR_TYPE_PALETTE:
      kind = "palette";
      break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      kind = "grayscale+alpha";
      break;
    case PNG_COLOR_TYPE_RGB_ALPHA:
      kind = "RGBA";
      break;
    default:
      break;
  }
  const std::string depth = bit_depth == 16 ? "16-bit " : "";
  return fmt::format("{}{} (colour type {})", depth, kind, color_type);
}

/// The colours PIL gives the indices of a palette PNG: the PLTE entries, then a gray ramp
/// (index i -> (i, i, i)) for the indices past the end of a short PLTE.
std::array<png_color, 256> pil_palette(png_structp png, png_infop info) {
  std::array<png_color, 256> colors{};
  for (size_t i = 0; i < colors.size(); ++i) {
    const auto v = static_cast<png_byte>(i);
    colors[i] = png_color{v, v, v};
  }
  png_colorp plte = nullptr;
  int count = 0;
  if (png_get_PLTE(png, info, &plte, &count) != 0 && plte != nullptr) {
    for (int i = 0; i < count && i < 256; ++i)
      colors[static_cast<size_t>(i)] = plte[i];
  }
  return colors;
}

/// Maps palette indices to RGB.
std::vector<uint8_t> expand_palette(const std::vector<uint8_t>& indices,
                                    const std::array<png_color, 256>& colors) {
  std::vector<uint8_t> rgb(indices.size() * 3);
  for (size_t i = 0; i < indices.size(); ++i) {
    const png_color& c = colors[indices[i]];
    rgb[i * 3] = c.red;
    rgb[i * 3 + 1] = c.green;
    rgb[i * 3 + 2] = c.blue;
  }
  return rgb;
}

/// Checks the header of a label PNG: palette or grayscale, at most 8 bits.
void check_label_type(int color_type, int bit_depth, const std::string& name) {
  const bool is_label_type =
      color_type == PNG_COLOR_TYPE_PALETTE || color_type == PNG_COLOR_TYPE_GRAY;
  PM_CHECK(is_label_type && bit_depth <= 8,
           "{}: label PNG must be 8-bit palette or grayscale, found {}",
           name,
           describe_png_type(color_type, bit_depth));
}

/// Decodes all rows in the layout set by set_transforms (`channels` bytes per pixel).
std::vector<uint8_t> read_pixels(PngReader& reader, size_t channels, const std::string& name) {
  PngReadState* state = reader.state();
  const size_t width = png_get_image_width(state->png, state->info);
  const size_t height = png_get_image_height(state->png, state->info);
  const size_t row_bytes = width * channels;
  PM_CHECK(png_get_bit_depth(state->png, state->info) == 8 &&
               png_get_channels(state->png, state->info) == channels &&
               png_get_rowbytes(state->png, state->info) == row_bytes,
           "{}: unsupported PNG layout",
           name);
  std::vector<uint8_t> pixels(row_bytes * height);
  std::vector<png_bytep> rows(height);
  for (size_t y = 0; y < height; ++y)
    rows[y] = pixels.data() + y * row_bytes;
  if (!read_rows(state, rows.data()))
    reader.fail(name);
  return pixels;
}

// ---------------------------------------------------------------------------------------------
// Writing.

/// Plain state shared with the libpng write callbacks. The output grows in a malloc'ed
/// buffer (never a std::vector: nothing may throw through libpng).
struct PngWriteState {
  png_structp png = nullptr;
  png_infop info = nullptr;
  uint8_t* buffer = nullptr;
  size_t size = 0;
  size_t capacity = 0;
  char message[256] = {};
  std::jmp_buf jump;
};

/// What write_image needs, as plain data.
struct PngWriteSpec {
  int width = 0;
  int height = 0;
  int color_type = 0;
  const png_color* palette = nullptr;
  int num_palette = 0;
  png_bytep* rows = nullptr;
};

[[noreturn]] void on_write_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngWriteState*>(png_get_error_ptr(png));
  store_message(state->message, sizeof state->message, message);
  std::longjmp(state->jump, 1);
}

void on_write(png_structp png, png_bytep data, size_t count) {
  auto* state = static_cast<PngWriteState*>(png_get_io_ptr(png));
  if (count > state->capacity - state->size) {
    size_t capacity = state->capacity < 4096 ? 4096 : state->capacity * 2;
    while (capacity - state->size < count)
      capacity *= 2;
    auto* grown = static_cast<uint8_t*>(std::realloc(state->buffer, capacity));
    if (grown == nullptr)
      png_error(png, "out of memory");
    state->buffer = grown;
    state->capacity = capacity;
  }
  std::memcpy(state->buffer + state->size, data, count);
  state->size += count;
}

void on_flush(png_structp /*png*/) {}

/// Creates the libpng write structs and writes the whole image.
bool write_image(PngWriteState* state, const PngWriteSpec* spec) {
  if (setjmp(state->jump))
    return false;
  state->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, state, on_write_error, on_warning);
  if (state->png == nullptr)
    return false;
  state->info = png_create_info_struct(state->png);
  if (state->info == nullptr)
    return false;
  png_set_write_fn(state->png, state, on_write, on_flush);
  png_set_IHDR(state->png,
               state->info,
               static_cast<png_uint_32>(spec->width),
               static_cast<png_uint_32>(spec->height),
               8,
               spec->color_type,
               PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (spec->palette != nullptr) {
    png_set_PLTE(state->png, state->info, spec->palette, spec->num_palette);
  }
  png_write_info(state->png, state->info);
  png_write_image(state->png, spec->rows);
  png_write_end(state->png, nullptr);
  return true;
}

/// Owns the libpng write structs and the output buffer of one encode.
class PngWriter {
 public:
  PngWriter() = default;
  ~PngWriter() {
    png_destroy_write_struct(&state_.png, &state_.info);
    std::free(state_.buffer);
  }
  PngWriter(const PngWriter&) = delete;
  PngWriter& operator=(const PngWriter&) = delete;

  PngWriteState* state() { return &state_; }
  std::vector<uint8_t> bytes() const { return {state_.buffer, state_.buffer + state_.size}; }

 private:
  PngWriteState state_;
};

int color_type_of(PngLayout layout) {
  switch (layout) {
    case PngLayout::kRgb:
      return PNG_COLOR_TYPE_RGB;
    case PngLayout::kGray:
      return PNG_COLOR_TYPE_GRAY;
    case PngLayout::kPalette:
      return PNG_COLOR_TYPE_PALETTE;
  }
  return PNG_COLOR_TYPE_RGB;
}

}  // namespace

void check_decoded_size(uint64_t width, uint64_t height, const std::string& name) {
  PM_CHECK(width > 0 && height > 0, "{}: empty image ({}x{})", name, width, height);
  PM_CHECK(width <= kMaxImageSide && height <= kMaxImageSide && width * height <= kMaxImagePixels,
           "{}: image too large ({}x{}; the limit is {} pixels per side and {} pixels in all)",
           name,
           width,
           height,
           kMaxImageSide,
           kMaxImagePixels);
}

bool has_png_signature(const uint8_t* data, size_t size) {
  return size >= sizeof kPngSignature &&
         std::memcmp(data, kPngSignature, sizeof kPngSignature) == 0;
}

bool has_jpeg_signature(const uint8_t* data, size_t size) {
  return size >= sizeof kJpegSignature &&
         std::memcmp(data, kJpegSignature, sizeof kJpegSignature) == 0;
}

bool is_png_signature_prefix(const uint8_t* data, size_t size) {
  return size > 0 && size < sizeof kPngSignature && std::memcmp(data, kPngSignature, size) == 0;
}

bool is_jpeg_signature_prefix(const uint8_t* data, size_t size) {
  return size > 0 && size < sizeof kJpegSignature && std::memcmp(data, kJpegSignature, size) == 0;
}

DecodedPng decode_png(const uint8_t* data, size_t size, const std::string& name, PngOutput output) {
  PM_CHECK(has_png_signature(data, size), "{}: not a PNG file", name);
  PngReader reader(data, size);
  PngReadState* state = reader.state();
  if (!create_reader(state) || !read_header(state))
    reader.fail(name);

  const uint64_t width = png_get_image_width(state->png, state->info);
  const uint64_t height = png_get_image_height(state->png, state->info);
  const int color_type = png_get_color_type(state->png, state->info);
  const int bit_depth = png_get_bit_depth(state->png, state->info);
  if (output == PngOutput::kLabel)
    check_label_type(color_type, bit_depth, name);
  check_decoded_size(width, height, name);
  // Palette images are expanded here rather than by libpng, to colour indices past the end of
  // a short PLTE as PIL does (libpng makes them black).
  const bool raw = output == PngOutput::kLabel || color_type == PNG_COLOR_TYPE_PALETTE;
  if (!set_transforms(state, raw ? LibpngLayout::kRawSamples : LibpngLayout::kRgb))
    reader.fail(name);

  DecodedPng decoded;
  decoded.width = static_cast<int>(width);
  decoded.height = static_cast<int>(height);
  decoded.pixels = read_pixels(reader, raw ? 1 : 3, name);
  if (output == PngOutput::kRgb && raw)
    decoded.pixels = expand_palette(decoded.pixels, pil_palette(state->png, state->info));
  return decoded;
}

std::vector<uint8_t> encode_png(const uint8_t* pixels,
                                int width,
                                int height,
                                PngLayout layout,
                                const std::array<std::array<uint8_t, 3>, 256>* palette,
                                const std::string& name) {
  PM_CHECK(width > 0 && height > 0, "{}: cannot write an empty image ({}x{})", name, width, height);
  PM_CHECK(static_cast<uint64_t>(width) <= kMaxImageSide &&
               static_cast<uint64_t>(height) <= kMaxImageSide,
           "{}: image too large to write ({}x{})",
           name,
           width,
           height);
  PM_CHECK(layout != PngLayout::kPalette || palette != nullptr, "{}: palette missing", name);
  const size_t row_bytes = static_cast<size_t>(width) * (layout == PngLayout::kRgb ? 3 : 1);
  std::vector<png_bytep> rows(static_cast<size_t>(height));
  for (size_t y = 0; y < rows.size(); ++y) {
    rows[y] = const_cast<png_bytep>(pixels + y * row_bytes);  // libpng does not write to rows
  }
  std::array<png_color, 256> colors{};
  if (palette != nullptr) {
    for (size_t i = 0; i < colors.size(); ++i) {
      colors[i] = png_color{(*palette)[i][0], (*palette)[i][1], (*palette)[i][2]};
    }
  }
  PngWriteSpec spec;
  spec.width = width;
  spec.height = height;
  spec.color_type = color_type_of(layout);
  spec.palette = layout == PngLayout::kPalette ? colors.data() : nullptr;
  spec.num_palette = static_cast<int>(colors.size());
  spec.rows = rows.data();

  PngWriter writer;
  if (!write_image(writer.state(), &spec)) {
    PM_FAIL("{}: cannot encode PNG ({})", name, writer.state()->message);
  }
  return writer.bytes();
}

}  // namespace pm::detail
