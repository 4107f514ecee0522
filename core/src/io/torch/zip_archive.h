// SPDX-License-Identifier: MIT
// Private to core/src/io/torch: torch.save's zip archive, read and written (zip_archive.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pseudomask/core/io/pickle/value.h"
#include "pseudomask/core/io/torch/checkpoint.h"

namespace pm {

/// The object data.pkl holds, its storages loaded from the data/<key> records; `name` starts
/// every error message.
PickleValue load_zip_checkpoint(const uint8_t* data, size_t size, const std::string& name);

/// The archive for `ckpt`: <archive_name>/data.pkl, data/<i> per tensor (64-byte aligned),
/// version and byteorder. Refuses what torch.load could not read back; `name` starts the error
/// messages.
std::vector<uint8_t> encode_zip_checkpoint(const Checkpoint& ckpt,
                                           const std::string& archive_name,
                                           const std::string& name);

}  // namespace pm
