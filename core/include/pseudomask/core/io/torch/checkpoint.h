// SPDX-License-Identifier: MIT
#pragma once

// PyTorch checkpoints (.pth) without libtorch: the state dict of a torch.save file, read with
// the restricted unpickler of pickle.h (nothing from the file is executed), and written as a
// torch.save zip archive that python3 `torch.load` reads.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pseudomask/core/common/ndarray.h"

namespace pm {

/// The top-level key under which write_checkpoint stores Checkpoint::metadata.
inline constexpr const char* kCheckpointMetadataKey = "_pseudomask";

/// One tensor of a checkpoint: its values as a C-order NDArray (dtype as stored: f4, f2, f8, i8,
/// ...; bfloat16 is widened to f4). Named parameters in file order.
struct Checkpoint {
  /// (name, values) in file order; names are unique.
  std::vector<std::pair<std::string, NDArray>> tensors;
  /// Small text metadata of our own training checkpoints (epoch, arch, ...), in order; read
  /// from and written to the `_pseudomask` entry (see write_checkpoint). Empty for other files.
  std::vector<std::pair<std::string, std::string>> metadata;

  /// The tensor called `name`, or nullptr if absent.
  const NDArray* find(const std::string& name) const;
  /// The metadata value of `key`, or nullptr if absent.
  const std::string* find_metadata(const std::string& key) const;
};

/// Reads a .pth (torch.save zip format of PyTorch >= 1.6 including the 2.x layout, or the
/// legacy pre-1.6 format of e.g. the 2017 torchvision weights) and returns its state dict.
///
/// The state dict is found by this rule: if the top-level dict has a tensor value, it is the
/// state dict; otherwise the first of the values under 'state_dict', 'model', 'model_state',
/// 'model_state_dict' that is a dict with a tensor value; otherwise the first such dict value in
/// file order (so {'epoch': 3, 'optimizer': {...}, 'net': sd} gives sd). Only tensor values are
/// kept (BatchNorm's num_batches_tracked is an int64 tensor, so it is kept); other values are
/// left out. If every tensor name starts with 'module.' (DataParallel), that prefix is removed.
/// Tensor views (non-contiguous strides, storage offsets, storages shared by tied weights) are
/// materialized as their own C-order arrays, bounds-checked against their storage.
///
/// Errors are one line that names the file and the problem (not a checkpoint, corrupt zip,
/// missing record, unknown global such as 'posix.system', truncated storage, no state dict).
Checkpoint read_checkpoint(const std::string& path);

/// read_checkpoint on bytes held in memory; `name` (usually the path) starts every error.
Checkpoint decode_checkpoint(const uint8_t* data, size_t size, const std::string& name);

/// Writes a state dict as a torch.save zip file that python3 `torch.load` reads (PyTorch 1.6 and
/// later): a collections.OrderedDict of tensors in file order, each with its own storage record,
/// 64-byte aligned like torch's. Supported dtypes: f4, f8, f2, i8, i4, i2, i1, u1, bool (PyTorch
/// has no storage for u2/u4/u8: those are refused). Without metadata the file holds the bare
/// state dict (`model.load_state_dict(torch.load(f))`); with metadata it holds
/// {'state_dict': sd, '_pseudomask': {key: value, ...}} (mmcv's layout), which read_checkpoint
/// unwraps. Written atomically.
void write_checkpoint(const std::string& path, const Checkpoint& ckpt);

/// The bytes write_checkpoint writes; `archive_name` is the zip folder every record lies in
/// (torch uses the file stem; "archive" in PyTorch 2.x).
std::vector<uint8_t> encode_checkpoint(const Checkpoint& ckpt,
                                       const std::string& archive_name = "archive");

}  // namespace pm
