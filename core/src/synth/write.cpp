// SPDX-License-Identifier: MIT
#include "pseudomask/core/synth/write.h"

#include <algorithm>
#include <atomic>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/parallel.h"
#include "pseudomask/core/datasets/cls_labels.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"

namespace pm {

SynthRecord synth_record(const SynthSample& sample) {
  SynthRecord r;
  r.id = sample.item.id;
  r.split = sample.item.split;
  r.classes = sample.classes;
  r.contexts = sample.contexts;
  r.label_pixels.assign(synth_classes().size() + 1, 0);
  for (uint8_t v : sample.gt.labels)
    ++r.label_pixels.at(v);
  r.objects = static_cast<int>(sample.objects.size());
  return r;
}

std::string synth_image_path(const std::string& root, const std::string& id) {
  return root + "/JPEGImages/" + id + ".png";
}

std::string synth_mask_path(const std::string& root, const std::string& id) {
  return root + "/SegmentationClass/" + id + ".png";
}

void write_synth_sample(const std::string& root,
                        const SynthSample& sample,
                        LabelPngColors mask_colors) {
  write_png_rgb(synth_image_path(root, sample.item.id), sample.image);
  write_label_png(synth_mask_path(root, sample.item.id), sample.gt, mask_colors);
}

void write_synth_index(const std::string& root, const std::vector<SynthRecord>& records) {
  PM_CHECK(!records.empty(), "{}: no images to index", root);
  std::string train, val;
  ClsLabels labels;
  labels.num_classes = static_cast<int>(synth_classes().size());
  for (const SynthRecord& r : records) {
    (r.split == "train" ? train : val) += r.id + "\n";
    std::vector<uint8_t> hot(static_cast<size_t>(labels.num_classes), 0);
    for (int c : r.classes)
      hot.at(static_cast<size_t>(c)) = 1;
    labels.multi_hot[r.id] = std::move(hot);
  }
  const std::string sets = root + "/ImageSets/Segmentation/";
  write_file_atomic(sets + "train.txt", train);
  write_file_atomic(sets + "val.txt", val);
  write_file_atomic(sets + "trainval.txt", train + val);
  std::string names;
  for (const std::string& n : synth_class_names())
    names += n + "\n";
  write_file_atomic(root + "/classes.txt", names);
  write_cls_labels(root + "/cls_labels.npy", labels);
}

SynthStats synth_statistics(const std::vector<SynthRecord>& records, const std::string& split) {
  const auto& classes = synth_classes();
  SynthStats s;
  s.split = split;
  s.class_images.assign(classes.size(), 0);
  std::vector<uint64_t> pixels(classes.size() + 1, 0);
  uint64_t all_pixels = 0;
  for (size_t c = 0; c < classes.size(); ++c) {
    if (classes[c].context != kContextNone)
      s.contexts.push_back({static_cast<int>(c), classes[c].context, 0, 0, 0, 0});
  }
  for (const SynthRecord& r : records) {
    if (!split.empty() && r.split != split)
      continue;
    ++s.images;
    s.mean_classes += static_cast<double>(r.classes.size());
    s.mean_objects += r.objects;
    for (int c : r.classes)
      ++s.class_images[static_cast<size_t>(c)];
    for (size_t l = 0; l < r.label_pixels.size() && l < pixels.size(); ++l) {
      pixels[l] += r.label_pixels[l];
      all_pixels += r.label_pixels[l];
    }
    for (SynthContextRate& rate : s.contexts) {
      const bool has =
          std::find(r.classes.begin(), r.classes.end(), rate.class_id) != r.classes.end();
      const bool shown = (r.contexts & rate.context) != 0;
      if (has) {
        ++rate.with_class;
        rate.with_class_and_context += shown;
      } else {
        ++rate.without_class;
        rate.without_class_with_context += shown;
      }
    }
  }
  if (s.images > 0) {
    s.mean_classes /= static_cast<double>(s.images);
    s.mean_objects /= static_cast<double>(s.images);
  }
  for (uint64_t p : pixels)
    s.label_pixel_share.push_back(all_pixels > 0 ? static_cast<double>(p) / all_pixels : 0.0);
  return s;
}

std::vector<SynthRecord> write_synth_dataset(const SynthOptions& options,
                                             const std::string& root,
                                             int jobs,
                                             const std::function<void(size_t, size_t)>& progress) {
  options.validate();
  const std::vector<SynthItem> items = synth_items(options);
  std::vector<SynthRecord> records(items.size());
  std::atomic<size_t> done{0};
  parallel_for(items.size(), jobs, [&](size_t i) {
    const SynthSample sample = render_synth_sample(options, items[i]);
    write_synth_sample(root, sample);
    records[i] = synth_record(sample);
    const size_t n = ++done;
    if (progress)
      progress(n, items.size());
  });
  write_synth_index(root, records);
  return records;
}

}  // namespace pm
