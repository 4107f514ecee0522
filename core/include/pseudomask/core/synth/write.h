// SPDX-License-Identifier: MIT
// Writing the synthetic dataset in the PASCAL VOC layout, and its label statistics.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/synth/synth.h"

namespace pm {

/// What the index and the statistics need of one generated image.
struct SynthRecord {
  std::string id;
  std::string split;
  std::vector<int> classes;            ///< 0-based foreground classes present, ascending
  uint8_t contexts = 0;                ///< SynthContext bits
  std::vector<uint64_t> label_pixels;  ///< pixels per label (11 entries, background first)
  int objects = 0;                     ///< objects placed
};

/// The record of a rendered sample.
SynthRecord synth_record(const SynthSample& sample);

/// <root>/JPEGImages/<id>.png (RGB) and <root>/SegmentationClass/<id>.png (8-bit label PNG).
std::string synth_image_path(const std::string& root, const std::string& id);
std::string synth_mask_path(const std::string& root, const std::string& id);

/// Writes the image and its mask (atomically; PNG, lossless and deterministic).
void write_synth_sample(const std::string& root,
                        const SynthSample& sample,
                        LabelPngColors mask_colors = LabelPngColors::kGray);

/// Writes what describes the whole dataset: ImageSets/Segmentation/{train,val,trainval}.txt,
/// classes.txt (background first) and cls_labels.npy (id → 10 float32 0/1 entries), which
/// open_voc / load_image_labels read. `records` in item order.
void write_synth_index(const std::string& root, const std::vector<SynthRecord>& records);

/// How often a context appears with and without the class it belongs to.
struct SynthContextRate {
  int class_id = 0;                       ///< 0-based class
  uint8_t context = 0;                    ///< its SynthContext bit
  size_t with_class = 0;                  ///< images with the class
  size_t with_class_and_context = 0;      ///< ... that also show the context
  size_t without_class = 0;               ///< images without the class
  size_t without_class_with_context = 0;  ///< ... that still show the context
};

/// Label statistics of one split.
struct SynthStats {
  std::string split;
  size_t images = 0;
  std::vector<size_t> class_images;        ///< images containing each class (10)
  std::vector<double> label_pixel_share;   ///< share of all pixels per label (11, background first)
  double mean_classes = 0;                 ///< classes per image
  double mean_objects = 0;                 ///< objects per image
  std::vector<SynthContextRate> contexts;  ///< one per class that has a context
};

/// Statistics of the records of `split` ("" = all records).
SynthStats synth_statistics(const std::vector<SynthRecord>& records, const std::string& split);

/// Generates and writes the whole dataset (every item, then the index) on `jobs` threads (0 = all
/// cores); the output does not depend on `jobs`. `progress` (may be empty) is called with (done,
/// total). Returns the records in item order.
std::vector<SynthRecord> write_synth_dataset(
    const SynthOptions& options,
    const std::string& root,
    int jobs,
    const std::function<void(size_t, size_t)>& progress = {});

}  // namespace pm
