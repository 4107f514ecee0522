// SPDX-License-Identifier: MIT
// Fuzz target: the .npy header parser and decoder.
#include "fuzz_common.h"
#include "pseudomask/core/io/numpy/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pm::fuzz::run([&] { pm::parse_npy_header(data, size, "fuzz.npy"); });
  return pm::fuzz::run([&] { pm::decode_npy(data, size, "fuzz.npy"); });
}
