// SPDX-License-Identifier: MIT
// Fuzz target: label-map PNGs (8-bit palette or grayscale, raw indices).
#include "fuzz_common.h"
#include "pseudomask/core/io/image/label_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return pm::fuzz::run([&] { pm::decode_label_png(data, size, "fuzz.png"); });
}
