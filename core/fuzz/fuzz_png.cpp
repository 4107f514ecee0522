// SPDX-License-Identifier: MIT
// Fuzz target: the PNG wrapper (RGB images; any colour type).
#include "fuzz_common.h"
#include "pseudomask/core/io/image/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return pm::fuzz::run([&] { pm::decode_image(data, size, "fuzz.png"); });
}
