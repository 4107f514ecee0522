// SPDX-License-Identifier: MIT
// Fuzz target: the JPEG wrapper. Inputs that do not start with a JPEG's SOI marker get one, so
// every mutation reaches the JPEG decoder.
#include <vector>

#include "fuzz_common.h"
#include "pseudomask/core/io/image/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> jpeg;
  if (size < 2 || data[0] != 0xFF || data[1] != 0xD8)
    jpeg = {0xFF, 0xD8, 0xFF};
  jpeg.insert(jpeg.end(), data, data + size);
  return pm::fuzz::run([&] { pm::decode_image(jpeg.data(), jpeg.size(), "fuzz.jpg"); });
}
