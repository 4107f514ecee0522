// SPDX-License-Identifier: MIT
// Fuzz target: .pth checkpoints (torch.save zip archives and the legacy format).
#include "fuzz_common.h"
#include "pseudomask/core/io/torch/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return pm::fuzz::run([&] { pm::decode_checkpoint(data, size, "fuzz.pth"); });
}
