// SPDX-License-Identifier: MIT
// Tests of the synthetic dataset: byte-identical output (pinned by hashes and across thread
// counts), a layout the dataset readers take with labels that agree with the masks, and the
// configured label statistics and difficulties.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "../support/expect_error.h"
#include "../support/test_paths.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/datasets/cls_labels.h"
#include "pseudomask/core/datasets/dataset.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/synth/synth.h"
#include "pseudomask/core/synth/write.h"

namespace fs = std::filesystem;

namespace pm {
namespace {

/// 64-bit FNV-1a.
struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void add(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i)
      h = (h ^ p[i]) * 1099511628211ull;
  }
  void add(const std::string& s) { add(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
  void add(const std::vector<uint8_t>& v) { add(v.data(), v.size()); }
};

/// Relative path → bytes of every file under root.
std::map<std::string, std::vector<uint8_t>> read_tree(const std::string& root) {
  std::map<std::string, std::vector<uint8_t>> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file())
      files[fs::relative(e.path(), root).generic_string()] = read_file_bytes(e.path().string());
  }
  return files;
}

SynthOptions small_options() {
  SynthOptions o;
  o.seed = 2024;
  o.train = 8;
  o.val = 4;
  o.size = 64;
  return o;
}

/// Renders `count` training images (no files): the sample for the statistics tests.
std::vector<SynthSample> render_many(int count, int size = 64) {
  SynthOptions o;
  o.seed = 5;
  o.train = count;
  o.val = 0;
  o.size = size;
  std::vector<SynthSample> out;
  for (const SynthItem& item : synth_items(o))
    out.push_back(render_synth_sample(o, item));
  return out;
}

const std::vector<SynthSample>& sample_300() {
  static const std::vector<SynthSample> samples = render_many(300);
  return samples;
}

int class_id(const std::string& name) {
  const auto& c = synth_classes();
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i].name == name)
      return static_cast<int>(i);
  }
  ADD_FAILURE() << "no class " << name;
  return -1;
}

TEST(SynthDataset, SameSeedSameBytesForAnyThreadCountAndPinnedHashes) {
  test::TempDir one("synth1"), two("synth2");
  write_synth_dataset(small_options(), one.str(), /*jobs=*/1);
  write_synth_dataset(small_options(), two.str(), /*jobs=*/3);
  const auto a = read_tree(one.str()), b = read_tree(two.str());
  ASSERT_EQ(a.size(), 12u * 2 + 3 + 2);  // images + masks, 3 lists, classes.txt, cls_labels.npy
  ASSERT_TRUE(a == b) << "output depends on the thread count";

  // The generator: a hash of the decoded pixels and labels. This pins the integer generator
  // itself; if it changes, the dataset changed for every user of this seed.
  Fnv pixels;
  for (const SynthItem& item : synth_items(small_options())) {
    pixels.add(read_image(synth_image_path(one.str(), item.id)).pixels);
    pixels.add(read_label_png(synth_mask_path(one.str(), item.id)).labels);
  }
  EXPECT_EQ(pixels.h, 0xe150d90af1e95b2full) << std::hex << pixels.h;
  // The files: every byte written (PNG via libpng/zlib, the lists, the labels). If only this
  // one fails, the PNG encoder's output changed (another libpng or zlib), not the generator.
  Fnv files;
  for (const auto& [path, bytes] : a) {
    files.add(path);
    files.add(bytes);
  }
  // (Masks are 8-bit grayscale PNGs since label PNGs are written that way by default.)
  EXPECT_EQ(files.h, 0x9677f594c303872eull) << std::hex << files.h;
}

TEST(SynthDataset, DifferentSeedsGiveDifferentImages) {
  SynthOptions o = small_options();
  const SynthItem item = synth_items(o)[0];
  const SynthSample a = render_synth_sample(o, item);
  o.seed += 1;
  EXPECT_NE(a.image.pixels, render_synth_sample(o, item).image.pixels);
  // And train_00000 is not val_00000.
  EXPECT_NE(a.image.pixels,
            render_synth_sample(small_options(), synth_items(small_options())[8]).image.pixels);
}

TEST(SynthDataset, OpensAsVocAndImageLabelsAgreeWithTheMasks) {
  test::TempDir dir("synth_voc");
  const auto records = write_synth_dataset(small_options(), dir.str(), /*jobs=*/2);
  for (const std::string split : {"train", "val", "trainval"}) {
    const Dataset d = open_voc(dir.str(), split);
    EXPECT_EQ(d.class_names, synth_class_names());
    EXPECT_EQ(d.num_classes(), 11);
    EXPECT_EQ(d.ids.size(), split == "train" ? 8u : split == "val" ? 4u : 12u);
    ASSERT_FALSE(d.cls_labels_path.empty());
    const auto from_cls = load_image_labels(d);
    for (const std::string& id : d.ids) {
      const LabelMap mask = read_label_png(d.mask_path(id));
      EXPECT_EQ(from_cls.at(id), image_labels_from_mask(mask, d.num_classes(), id)) << id;
      EXPECT_FALSE(from_cls.at(id).empty()) << id << " has no object";
      EXPECT_EQ(read_image(d.image_path(id)).width, 64);
    }
  }
  EXPECT_EQ(records[0].id, "train_00000");
  EXPECT_EQ(records[8].id, "val_00000");
  const ClsLabels cls = read_cls_labels(dir / "cls_labels.npy");
  EXPECT_EQ(cls.num_classes, 10);
  EXPECT_EQ(cls.multi_hot.size(), 12u);
}

TEST(SynthDataset, ClsLabelsRoundTripAnyClassCount) {
  ClsLabels labels;
  labels.num_classes = 3;
  labels.multi_hot["a"] = {1, 0, 1};
  labels.multi_hot["b_2"] = {0, 0, 0};
  const std::vector<uint8_t> bytes = encode_cls_labels(labels);
  const ClsLabels back = decode_cls_labels(bytes.data(), bytes.size(), "mem");
  EXPECT_EQ(back.num_classes, 3);
  EXPECT_EQ(back.multi_hot, labels.multi_hot);
  labels.multi_hot["c"] = {1};
  test::expect_error([&] { encode_cls_labels(labels); }, {"'c' has 1 entries, expected 3"});
}

TEST(SynthDataset, BadOptionsAndUnwritableFolderGiveOneLineErrors) {
  SynthOptions o = small_options();
  o.size = 8;
  test::expect_error([&] { o.validate(); }, {"SynthOptions::size 8"});
  o = small_options();
  o.train = o.val = 0;
  test::expect_error([&] { o.validate(); }, {"nothing to generate"});
  o = small_options();
  o.max_objects = 9;
  test::expect_error([&] { o.validate(); }, {"SynthOptions::max_objects 9"});
  test::TempDir dir("synth_bad");
  write_file_atomic(dir / "file", std::string("x"));
  test::expect_error([&] { write_synth_dataset(small_options(), dir / "file", 1); },
                     {dir / "file"});
}

TEST(SynthStatistics, ClassFrequenciesMatchTheSamplingRule) {
  const auto& samples = sample_300();
  const std::vector<double> expected = expected_class_frequencies(SynthOptions{});
  double total = 0;
  for (double p : expected)
    total += p;
  EXPECT_NEAR(total, 0.45 * 1 + 0.35 * 2 + 0.20 * 3, 1e-9);  // mean classes per image
  std::vector<int> seen(expected.size(), 0);
  for (const SynthSample& s : samples) {
    for (int c : s.classes)
      ++seen[static_cast<size_t>(c)];
  }
  const double n = static_cast<double>(samples.size());
  for (size_t c = 0; c < expected.size(); ++c) {
    const double sigma = std::sqrt(expected[c] * (1 - expected[c]) / n);
    EXPECT_NEAR(seen[c] / n, expected[c], 4 * sigma) << synth_classes()[c].name;
  }
  // person is the most frequent class, as in VOC.
  EXPECT_EQ(std::max_element(expected.begin(), expected.end()) - expected.begin(),
            class_id("person"));
  // boat and sheep never share an image.
  for (const SynthSample& s : samples) {
    const auto has = [&](const char* name) {
      return std::count(s.classes.begin(), s.classes.end(), class_id(name)) > 0;
    };
    EXPECT_FALSE(has("boat") && has("sheep")) << s.item.id;
  }
}

TEST(SynthStatistics, ContextsCooccurAtTheConfiguredRates) {
  std::vector<SynthRecord> records;
  for (const SynthSample& s : sample_300())
    records.push_back(synth_record(s));
  const SynthStats stats = synth_statistics(records, "train");
  ASSERT_EQ(stats.contexts.size(), 3u);  // plane/sky, boat/water, sheep/grass
  for (const SynthContextRate& r : stats.contexts) {
    const double with = static_cast<double>(r.with_class_and_context) / r.with_class;
    const double without = static_cast<double>(r.without_class_with_context) / r.without_class;
    ASSERT_GT(r.with_class, 25u);
    EXPECT_NEAR(with, 0.9, 4 * std::sqrt(0.09 / r.with_class)) << synth_classes()[r.class_id].name;
    // Without its class a context still appears, spuriously: ~0.1 (less for water and grass,
    // which give way to each other's class).
    EXPECT_GT(without, 0.02);
    EXPECT_LT(without, 0.16);
  }
  EXPECT_NEAR(stats.mean_classes, 1.75, 0.15);
  EXPECT_GT(stats.mean_objects, stats.mean_classes);
  // Foreground covers a real share of the pixels, but background dominates, as in VOC.
  EXPECT_GT(stats.label_pixel_share[0], 0.55);
  EXPECT_LT(stats.label_pixel_share[0], 0.85);
}

TEST(SynthDifficulties, DiscriminativePartsAreSmall) {
  for (const char* name : {"bird", "car", "person"}) {
    size_t part = 0, visible = 0;
    for (const SynthSample& s : sample_300()) {
      for (const SynthObject& o : s.objects) {
        if (o.class_id == class_id(name) && o.visible == o.area) {  // unoccluded
          part += o.part_visible;
          visible += o.visible;
        }
      }
    }
    ASSERT_GT(visible, 0u) << name;
    const double share = static_cast<double>(part) / visible;
    EXPECT_GT(share, 0.06) << name;
    EXPECT_LT(share, 0.22) << name;
  }
  // Other classes have no discriminative part marked.
  for (const SynthSample& s : sample_300()) {
    for (const SynthObject& o : s.objects) {
      if (o.class_id == class_id("tvmonitor") || o.class_id == class_id("sheep")) {
        EXPECT_EQ(o.part_visible, 0u);
      }
    }
  }
}

/// Share of a class's pixels that touch another label (4-neighbourhood).
double boundary_share(const std::vector<SynthSample>& samples, int c) {
  size_t boundary = 0, all = 0;
  for (const SynthSample& s : samples) {
    const LabelMap& g = s.gt;
    const uint8_t label = static_cast<uint8_t>(c + 1);
    for (int y = 0; y < g.height; ++y) {
      for (int x = 0; x < g.width; ++x) {
        if (g.at(x, y) != label)
          continue;
        ++all;
        const bool edge =
            (x > 0 && g.at(x - 1, y) != label) || (x + 1 < g.width && g.at(x + 1, y) != label) ||
            (y > 0 && g.at(x, y - 1) != label) || (y + 1 < g.height && g.at(x, y + 1) != label);
        boundary += edge;
      }
    }
  }
  return all ? static_cast<double>(boundary) / all : 0.0;
}

TEST(SynthDifficulties, ThinStructuresAreMostlyBoundary) {
  const auto& samples = sample_300();
  EXPECT_GT(boundary_share(samples, class_id("fence")), 0.7);
  EXPECT_GT(boundary_share(samples, class_id("bicycle")), 0.7);
  EXPECT_LT(boundary_share(samples, class_id("tvmonitor")), 0.35);
  EXPECT_LT(boundary_share(samples, class_id("car")), 0.35);
}

TEST(SynthDifficulties, OcclusionKeepsHalfOfEveryObjectAndGtIsTheTopObject) {
  size_t occluded = 0;
  for (const SynthSample& s : sample_300()) {
    size_t visible = 0;
    for (const SynthObject& o : s.objects) {
      EXPECT_GE(o.visible * 2, o.area) << s.item.id;
      visible += o.visible;
      occluded += o.visible < o.area;
    }
    // Every foreground pixel belongs to exactly one visible object.
    const size_t foreground =
        s.gt.num_pixels() - std::count(s.gt.labels.begin(), s.gt.labels.end(), 0);
    EXPECT_EQ(visible, foreground) << s.item.id;
    for (uint8_t v : s.gt.labels)
      ASSERT_LE(v, 10);  // exact ground truth: no ignore label
  }
  EXPECT_GT(occluded, 30u);  // occlusion happens
}

/// Mean brightness 2 px outside a class's mask minus 3 px outside, over mask pixels whose right
/// neighbours are background for 3 pixels. The camera blur reaches 1 px, so for crisp outlines
/// this is ~0; a fuzzy halo (alpha < 0.5, outside the ground truth) makes it positive.
double halo(const std::vector<SynthSample>& samples, int c) {
  const int label = c + 1;
  double sum = 0;
  size_t n = 0;
  for (const SynthSample& s : samples) {
    const LabelMap& g = s.gt;
    for (int y = 0; y < g.height; ++y) {
      for (int x = 0; x + 3 < g.width; ++x) {
        if (g.at(x, y) != label || g.at(x + 1, y) != 0 || g.at(x + 2, y) != 0 ||
            g.at(x + 3, y) != 0)
          continue;
        auto lum = [&](int px) {
          const uint8_t* p = &s.image.pixels[(static_cast<size_t>(y) * g.width + px) * 3];
          return (p[0] + p[1] + p[2]) / 3.0;
        };
        sum += lum(x + 2) - lum(x + 3);
        ++n;
      }
    }
  }
  EXPECT_GT(n, 50u);
  return n ? sum / n : 0.0;
}

TEST(SynthDifficulties, FuzzyClassesHaveASoftHaloOutsideTheirMask) {
  // Wool is cream, brighter than most backgrounds: its halo brightens the pixels beyond the mask.
  EXPECT_GT(halo(sample_300(), class_id("sheep")), 5.0);
  // The plane is as bright but crisp: no halo beyond the blur.
  EXPECT_LT(std::abs(halo(sample_300(), class_id("plane"))), 3.0);
}

}  // namespace
}  // namespace pm
