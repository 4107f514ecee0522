// SPDX-License-Identifier: MIT
#pragma once

// CAM files: the class activation maps of one image as the WSSS tools (IRN, AMN, MCTformer,
// ORANDNet) save them.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pseudomask/core/common/ndarray.h"
#include "pseudomask/core/common/planes.h"

namespace pm {

/// Class activation maps of one image in the IRN layout.
struct CamFile {
  /// 0-based foreground class ids (0 = aeroplane in VOC), one per channel, ascending.
  std::vector<int> keys;
  /// (K, ceil(H/4), ceil(W/4)), the stride-4 maps IRN's random walk uses; may be empty.
  Planes cam;
  /// (K, H, W) at image size; may be empty.
  Planes high_res;
};

/// How to interpret CAM files.
struct CamReadOptions {
  /// For plain (C, H, W) .npy / .npz arrays that carry no keys: whether channel 0 is a
  /// background channel (dropped; the remaining channels are classes 0..C-2).
  bool plain_has_background = false;
};

/// Reads one CAM file of any layout the WSSS tools write:
///  - IRN: np.save of a dict {'keys', 'cam', 'high_res'} (values numpy arrays or pickled torch
///    tensors); 'cam' or 'high_res' may be missing;
///  - AMN: the same, with a background channel first (detected as K+1 channels) and dropped;
///  - MCTformer: a dict {class_id: (H, W) map}, stacked in ascending class order;
///  - a plain numeric .npy (C, H, W) or .npz with such an array (keys = 0..C-1).
/// The pickle is read with a restricted unpickler that executes nothing. Arrays are returned as
/// float32. Errors name the file.
CamFile read_cam_file(const std::string& path, const CamReadOptions& options = {});

/// Decodes a CAM file held in memory: a .npy (pickled dict or numeric array), a .npz, or a bare
/// pickle of such a dict. `name` (usually the path) starts every error message. Same layouts and
/// result as read_cam_file.
CamFile decode_cam_file(const uint8_t* data,
                        size_t size,
                        const std::string& name,
                        const CamReadOptions& options = {});

/// Writes the IRN layout (a pickled dict {'keys': int64 array, 'cam', 'high_res': float32
/// arrays}; empty members omitted) so that np.load(path, allow_pickle=True).item() works.
void write_cam_file(const std::string& path, const CamFile& cams);

/// The bytes write_cam_file writes: identical to what numpy 1.24's
/// np.save(path, {'keys': int64 (K,), 'cam': float32 (K, h, w), 'high_res': float32 (K, H, W)})
/// produces (a .npy of a 0-d object array, pickle protocol 3). Arrays are converted to float32;
/// members with no dimensions (default-constructed) are omitted. Throws pm::Error if the channel
/// counts do not match the keys or the keys are negative or repeated.
std::vector<uint8_t> encode_cam_file(const CamFile& cams);

}  // namespace pm
