// SPDX-License-Identifier: MIT
#pragma once

// Torch storages in pickles: the persistent ids through which torch.save names them, and their
// raw elements.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "pseudomask/core/common/ndarray.h"
#include "pseudomask/core/io/pickle/value.h"

namespace pm {

/// A storage reference as torch.save writes it in a persistent id:
/// ('storage', <storage type>, <key>, <location>, <numel>[, <view metadata>]).
struct TorchStorageRef {
  DType dtype = DType::kF32;  ///< element type after loading (BFloat16 storages load as float32)
  bool bfloat16 = false;      ///< the stored elements are bfloat16 (2 bytes each)
  std::string key;            ///< record name ("data/<key>" in zip files)
  std::string location;       ///< "cpu", "cuda:0", ... (ignored: everything loads to memory)
  int64_t numel = 0;          ///< element count of the (root) storage
  bool is_view = false;       ///< legacy storage views: (view_key, offset, numel) of the root
  std::string view_key;
  int64_t view_offset = 0;
  int64_t view_numel = 0;
};

/// Interprets a persistent id as a torch storage reference; throws pm::Error("<name>: ...")
/// for anything else.
TorchStorageRef parse_torch_storage_ref(const PickleValue& pid, const std::string& name);

/// Turns the raw little-endian bytes of a storage into its 1-D element array (bfloat16 is
/// widened to float32). `size` must be exactly ref.numel elements.
NDArray torch_storage_elements(const TorchStorageRef& ref,
                               const uint8_t* data,
                               size_t size,
                               const std::string& name);

/// torch_storage_elements for bytes that arrive in order through `read(dst, n)` (a zip record
/// being inflated): `size` is checked first, then the elements are read straight into the
/// array's storage (bfloat16 through one buffer).
NDArray torch_storage_from_reader(const TorchStorageRef& ref,
                                  uint64_t size,
                                  const std::function<void(uint8_t*, size_t)>& read,
                                  const std::string& name);

}  // namespace pm
