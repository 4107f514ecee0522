// SPDX-License-Identifier: MIT
#pragma once

// The legacy torch.save format (PyTorch before 1.6, or `_use_new_zipfile_serialization=False`):
// a sequence of pickles followed by the raw storages.

#include <cstddef>
#include <cstdint>
#include <string>

#include "pseudomask/core/io/pickle/unpickler.h"

namespace pm {

/// Decodes a legacy (pre-zip, `_use_new_zipfile_serialization=False`) torch.save image: the
/// magic-number, protocol and system-info pickles, the object pickle whose storages arrive as
/// persistent ids, the list of storage keys, then per key an 8-byte little-endian element
/// count and the raw little-endian elements. Tensors come back as kArray values.
PickleValue load_torch_legacy(const uint8_t* data,
                              size_t size,
                              const std::string& name,
                              const PickleLimits& limits = {});

}  // namespace pm
