// SPDX-License-Identifier: MIT
#pragma once

// .npz archives: a zip of .npy members, as np.savez and np.savez_compressed write them.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pseudomask/core/common/ndarray.h"

namespace pm {

/// Reads every array of a .npz archive (stored or deflated members), keyed by name without
/// the ".npy" suffix, as np.savez writes them.
std::map<std::string, NDArray> read_npz(const std::string& path);

/// Writes arrays to a .npz archive atomically; `compress` deflates members like
/// np.savez_compressed.
void write_npz(const std::string& path,
               const std::map<std::string, NDArray>& arrays,
               bool compress = false);

// Internal: the in-memory halves of read_npz / write_npz, exposed for tests and fuzzing.

/// Decodes a .npz archive held in memory; `name` (usually the path) is used in error messages.
/// Members whose name does not end in ".npy" are skipped.
std::map<std::string, NDArray> decode_npz(const uint8_t* data,
                                          size_t size,
                                          const std::string& name);

/// Encodes arrays as the bytes of a .npz archive (what write_npz writes).
std::vector<uint8_t> encode_npz(const std::map<std::string, NDArray>& arrays,
                                bool compress = false);

}  // namespace pm
