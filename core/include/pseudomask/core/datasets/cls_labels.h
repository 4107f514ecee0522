// SPDX-License-Identifier: MIT
#pragma once

// cls_labels.npy: the image-level labels of a dataset, as IRN and SEAM store them.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pm {

/// Image-level labels from IRN/SEAM's cls_labels.npy (a pickled dict id → multi-hot vector of
/// 20 (VOC), 80 (COCO) or, for other datasets such as `pseudomask synth`, 1 to 254 entries).
/// Integer ids written by IRN's encoding (2007000032) are turned back into "2007_000032"; other
/// integer ids (not ten digits) are kept as their decimal text. Vector entries must be 0 or 1
/// (float, bool or integer dtypes).
struct ClsLabels {
  int num_classes = 0;  ///< vector length (20 for VOC, 80 for COCO)
  std::map<std::string, std::vector<uint8_t>> multi_hot;  ///< id → 0/1 per foreground class
};

/// Reads cls_labels.npy with the restricted unpickler. Errors name the file.
ClsLabels read_cls_labels(const std::string& path);

/// Decodes cls_labels.npy (or a bare pickle of the dict) held in memory; `name` starts every
/// error message.
ClsLabels decode_cls_labels(const uint8_t* data, size_t size, const std::string& name);

/// The bytes of cls_labels.npy for `labels`: np.save of a dict {id (str): float32 multi-hot
/// vector}, as IRN's make_cls_labels writes it but with string ids, so that
/// np.load(path, allow_pickle=True).item() works. Throws if a vector's length is not num_classes.
std::vector<uint8_t> encode_cls_labels(const ClsLabels& labels);

/// Writes cls_labels.npy atomically (see encode_cls_labels). Errors name the file.
void write_cls_labels(const std::string& path, const ClsLabels& labels);

}  // namespace pm
