// SPDX-License-Identifier: MIT
#include "jpeg.h"

#include <jerror.h>
#include <jpeglib.h>
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <cstdlib>
#include <cstring>

#include "png_common.h"  // the size limits
#include "pseudomask/core/common/error.h"

// Decoding limits (see png_common.h): at most 65535 pixels per side and 2^28 pixels in all,
// checked on the header before any pixel buffer is allocated; progressive JPEGs with more than
// kMaxJpegScans scans are refused (a known CPU-exhaustion pattern).
//
// JPEG decoding matches PIL's Image.open(f).convert("RGB") bit for bit when both use the same
// libjpeg-turbo: the library defaults are kept (JDCT_ISLOW, fancy upsampling, block smoothing)
// and libjpeg converts YCbCr and grayscale to RGB itself, as PIL's decoder does.
//
// libjpeg reports errors through error_exit, which must not return: ours longjmps back into
// one of the small step functions below (each calls setjmp before touching libjpeg). They and
// the callbacks own no C++ objects, so the longjmp skips no destructor; the C++ callers turn a
// failed step into a pm::Error. Warnings are never printed; the ones that mean missing data
// ("Premature end of JPEG file", "premature end of data segment") are errors, as in PIL, so a
// truncated file is refused instead of being decoded with a gray-filled bottom.

namespace pm {

namespace {

/// Progressive JPEGs with more scans than this are refused (libjpeg-turbo's TurboJPEG API uses
/// the same limit against the many-scans denial of service).
constexpr int kMaxJpegScans = 500;

/// libjpeg error handling state; `manager` must stay the first member (libjpeg hands back a
/// pointer to it as cinfo->err).
struct JpegErrorState {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

JpegErrorState* error_state(j_common_ptr cinfo) {
  return reinterpret_cast<JpegErrorState*>(cinfo->err);
}

[[noreturn]] void on_jpeg_error(j_common_ptr cinfo) {
  JpegErrorState* state = error_state(cinfo);
  (*cinfo->err->format_message)(cinfo, state->message);
  std::longjmp(state->jump, 1);
}

/// Discards trace messages and warnings, except those meaning the data ran out.
void on_jpeg_message(j_common_ptr cinfo, int level) {
  if (level >= 0)
    return;
  const int code = cinfo->err->msg_code;
  if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER) {
    error_state(cinfo)->truncated = code == JWRN_JPEG_EOF;
    on_jpeg_error(cinfo);
  }
  cinfo->err->num_warnings++;
}

void on_jpeg_output(j_common_ptr /*cinfo*/) {}

void on_jpeg_progress(j_common_ptr cinfo) {
  const auto* dinfo = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (dinfo->input_scan_number > kMaxJpegScans) {
    JpegErrorState* state = error_state(cinfo);
    std::snprintf(state->message, sizeof state->message, "more than %d scans", kMaxJpegScans);
    std::longjmp(state->jump, 1);
  }
}

/// Sets up `state` with our handlers; returns the manager to store in cinfo->err.
jpeg_error_mgr* init_error_state(JpegErrorState* state) {
  jpeg_error_mgr* manager = jpeg_std_error(&state->manager);
  manager->error_exit = on_jpeg_error;
  manager->emit_message = on_jpeg_message;
  manager->output_message = on_jpeg_output;
  state->message[0] = '\0';
  state->truncated = false;
  return manager;
}

// ---------------------------------------------------------------------------------------------
// Decoding.

/// Plain decoder state.
struct JpegDecodeState {
  jpeg_decompress_struct cinfo;
  JpegErrorState error;
  jpeg_progress_mgr progress;
  bool created;
};

bool read_jpeg_header(JpegDecodeState* state, const uint8_t* data, size_t size) {
  if (setjmp(state->error.jump))
    return false;
  jpeg_create_decompress(&state->cinfo);
  state->created = true;
  state->progress.progress_monitor = on_jpeg_progress;
  state->cinfo.progress = &state->progress;
  jpeg_mem_src(&state->cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&state->cinfo, TRUE);
  return true;
}

bool start_jpeg(JpegDecodeState* state) {
  if (setjmp(state->error.jump))
    return false;
  jpeg_start_decompress(&state->cinfo);
  return true;
}

/// Decodes all scanlines into `pixels` (rows of `stride` bytes) and reads up to EOI.
bool read_jpeg_rows(JpegDecodeState* state, uint8_t* pixels, size_t stride) {
  if (setjmp(state->error.jump))
    return false;
  j_decompress_ptr cinfo = &state->cinfo;
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW rows[16];
    const JDIMENSION first = cinfo->output_scanline;
    JDIMENSION count = cinfo->output_height - first;
    if (count > 16)
      count = 16;
    for (JDIMENSION i = 0; i < count; ++i)
      rows[i] = pixels + (first + i) * stride;
    jpeg_read_scanlines(cinfo, rows, count);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

/// Owns the libjpeg decompressor of one decode.
class JpegDecoder {
 public:
  JpegDecoder() {
    std::memset(&state_, 0, sizeof state_);
    state_.cinfo.err = init_error_state(&state_.error);
  }
  ~JpegDecoder() {
    if (state_.created)
      jpeg_destroy_decompress(&state_.cinfo);
  }
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;

  JpegDecodeState* state() { return &state_; }

  [[noreturn]] void fail(const std::string& name) const {
    if (state_.error.truncated)
      PM_FAIL("{}: truncated JPEG ({})", name, state_.error.message);
    PM_FAIL("{}: corrupt JPEG ({})", name, state_.error.message);
  }

 private:
  JpegDecodeState state_;
};

/// Refuses colour spaces we do not convert; sets the output to RGB with PIL's settings.
void configure_jpeg_output(j_decompress_ptr cinfo, const std::string& name) {
  const J_COLOR_SPACE space = cinfo->jpeg_color_space;
  PM_CHECK(space != JCS_CMYK && space != JCS_YCCK,
           "{}: CMYK JPEG is not supported (convert it to RGB first)",
           name);
  PM_CHECK(space == JCS_GRAYSCALE || space == JCS_YCbCr || space == JCS_RGB,
           "{}: unsupported JPEG colour space ({} components)",
           name,
           cinfo->num_components);
  cinfo->out_color_space = JCS_RGB;
  cinfo->dct_method = JDCT_ISLOW;
  cinfo->do_fancy_upsampling = TRUE;
  cinfo->scale_num = 1;
  cinfo->scale_denom = 1;
}

}  // namespace

namespace detail {

RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name) {
  JpegDecoder decoder;
  JpegDecodeState* state = decoder.state();
  if (!read_jpeg_header(state, data, size))
    decoder.fail(name);
  j_decompress_ptr cinfo = &state->cinfo;
  detail::check_decoded_size(cinfo->image_width, cinfo->image_height, name);
  configure_jpeg_output(cinfo, name);
  if (!start_jpeg(state))
    decoder.fail(name);
  PM_CHECK(cinfo->output_components == 3 && cinfo->output_width == cinfo->image_width &&
               cinfo->output_height == cinfo->image_height,
           "{}: unexpected JPEG output layout",
           name);
  RgbImage image(static_cast<int>(cinfo->output_width), static_cast<int>(cinfo->output_height));
  if (!read_jpeg_rows(state, image.pixels.data(), static_cast<size_t>(image.width) * 3)) {
    decoder.fail(name);
  }
  return image;
}

}  // namespace detail

namespace {

// ---------------------------------------------------------------------------------------------
// Encoding.

/// A growing malloc'ed output buffer for libjpeg; `manager` must stay the first member.
struct JpegDestination {
  jpeg_destination_mgr manager;
  uint8_t* buffer;
  size_t capacity;
  size_t size;
};

JpegDestination* destination(j_compress_ptr cinfo) {
  return reinterpret_cast<JpegDestination*>(cinfo->dest);
}

void on_init_destination(j_compress_ptr cinfo) {
  JpegDestination* dest = destination(cinfo);
  dest->capacity = 1 << 16;
  dest->buffer = static_cast<uint8_t*>(std::malloc(dest->capacity));
  if (dest->buffer == nullptr)
    ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
  dest->manager.next_output_byte = dest->buffer;
  dest->manager.free_in_buffer = dest->capacity;
}

/// Called when the buffer is full: doubles it.
boolean on_empty_output_buffer(j_compress_ptr cinfo) {
  JpegDestination* dest = destination(cinfo);
  const size_t used = dest->capacity;
  auto* grown = static_cast<uint8_t*>(std::realloc(dest->buffer, used * 2));
  if (grown == nullptr)
    ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 1);
  dest->buffer = grown;
  dest->capacity = used * 2;
  dest->manager.next_output_byte = dest->buffer + used;
  dest->manager.free_in_buffer = dest->capacity - used;
  return TRUE;
}

void on_term_destination(j_compress_ptr cinfo) {
  JpegDestination* dest = destination(cinfo);
  dest->size = dest->capacity - dest->manager.free_in_buffer;
}

/// Plain encoder state.
struct JpegEncodeState {
  jpeg_compress_struct cinfo;
  JpegErrorState error;
  JpegDestination dest;
  bool created;
};

bool encode_jpeg_steps(JpegEncodeState* state, const RgbImage* image, int quality) {
  if (setjmp(state->error.jump))
    return false;
  jpeg_create_compress(&state->cinfo);
  state->created = true;
  state->dest.manager.init_destination = on_init_destination;
  state->dest.manager.empty_output_buffer = on_empty_output_buffer;
  state->dest.manager.term_destination = on_term_destination;
  state->cinfo.dest = &state->dest.manager;
  state->cinfo.image_width = static_cast<JDIMENSION>(image->width);
  state->cinfo.image_height = static_cast<JDIMENSION>(image->height);
  state->cinfo.input_components = 3;
  state->cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&state->cinfo);
  jpeg_set_quality(&state->cinfo, quality, TRUE);
  jpeg_start_compress(&state->cinfo, TRUE);
  const size_t stride = static_cast<size_t>(image->width) * 3;
  while (state->cinfo.next_scanline < state->cinfo.image_height) {
    // libjpeg does not write to the input rows.
    JSAMPROW row = const_cast<JSAMPROW>(image->pixels.data() + state->cinfo.next_scanline * stride);
    jpeg_write_scanlines(&state->cinfo, &row, 1);
  }
  jpeg_finish_compress(&state->cinfo);
  return true;
}

/// Owns the libjpeg compressor and its output buffer.
class JpegEncoder {
 public:
  JpegEncoder() {
    std::memset(&state_, 0, sizeof state_);
    state_.cinfo.err = init_error_state(&state_.error);
  }
  ~JpegEncoder() {
    if (state_.created)
      jpeg_destroy_compress(&state_.cinfo);
    std::free(state_.dest.buffer);
  }
  JpegEncoder(const JpegEncoder&) = delete;
  JpegEncoder& operator=(const JpegEncoder&) = delete;

  JpegEncodeState* state() { return &state_; }
  std::vector<uint8_t> bytes() const {
    return {state_.dest.buffer, state_.dest.buffer + state_.dest.size};
  }

 private:
  JpegEncodeState state_;
};

}  // namespace

namespace detail {

std::vector<uint8_t> encode_jpeg(const RgbImage& image, int quality, const std::string& name) {
  PM_CHECK(
      quality >= 1 && quality <= 100, "{}: JPEG quality must be 1..100, got {}", name, quality);
  PM_CHECK(image.width <= JPEG_MAX_DIMENSION && image.height <= JPEG_MAX_DIMENSION,
           "{}: image too large for JPEG ({}x{}; the limit is {} per side)",
           name,
           image.width,
           image.height,
           JPEG_MAX_DIMENSION);
  JpegEncoder encoder;
  if (!encode_jpeg_steps(encoder.state(), &image, quality)) {
    PM_FAIL("{}: cannot encode JPEG ({})", name, encoder.state()->error.message);
  }
  return encoder.bytes();
}

}  // namespace detail
}  // namespace pm
