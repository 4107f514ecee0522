// SPDX-License-Identifier: MIT
// Fuzz target: the zip reader through .npz archives.
#include "fuzz_common.h"
#include "pseudomask/core/io/numpy/npz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return pm::fuzz::run([&] { pm::decode_npz(data, size, "fuzz.npz"); });
}
