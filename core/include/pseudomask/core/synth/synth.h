// SPDX-License-Identifier: MIT
// The built-in synthetic WSSS dataset: small images with several objects of 10 classes on
// cluttered backgrounds, made hard in the ways real WSSS data is hard (docs/synthetic-dataset.md).
// Everything is integer arithmetic on our own random stream, so a seed gives the same pixels on
// every machine and for any thread count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"

namespace pm {

/// Context regions: background (label 0) scenery that a class usually appears with, so that its
/// CAM leaks onto it ("boat" onto water). Bit flags.
enum SynthContext : uint8_t {
  kContextNone = 0,
  kContextSky = 1,    ///< top band: blue gradient with white fuzzy clouds
  kContextWater = 2,  ///< bottom band: blue with wave crests
  kContextGrass = 4,  ///< bottom band with a ragged top: mottled green with blades
};

/// Names of the context bits, in bit order: "sky", "water", "grass".
const std::vector<std::string>& synth_context_names();

/// One foreground class of the synthetic dataset.
struct SynthClass {
  std::string name;        ///< e.g. "boat"
  int weight = 1;          ///< relative weight when classes are drawn for an image
  uint8_t context = 0;     ///< the SynthContext it usually appears with (0: none)
  std::string look;        ///< what it looks like
  std::string difficulty;  ///< the WSSS difficulty it carries
};

/// The 10 foreground classes; class id c (0-based, as in cls_labels) has label c + 1.
const std::vector<SynthClass>& synth_classes();

/// Label names, background first (what classes.txt holds): 11 entries.
std::vector<std::string> synth_class_names();

/// Generator settings. The defaults make a dataset that the whole pipeline trains on in minutes
/// on 2 CPU cores.
struct SynthOptions {
  uint64_t seed = 1;                    ///< the dataset's seed
  int train = 2000;                     ///< training images
  int val = 300;                        ///< validation images
  int size = 112;                       ///< image side in pixels (square images), 32..1024
  int context_permille = 900;           ///< P(context | its class is present), per mille
  int spurious_context_permille = 100;  ///< P(context | its class is absent), per mille
  int max_objects = 4;                  ///< objects per image at most (1..4)

  /// Throws pm::Error naming the flag and the bad value.
  void validate() const;
};

/// One image to generate: its id ("train_00042"), split and index within the split.
struct SynthItem {
  std::string id;
  std::string split;
  int index = 0;
};

/// All items: the training images, then the validation images.
std::vector<SynthItem> synth_items(const SynthOptions& options);

/// An object as it ended up in the picture.
struct SynthObject {
  int class_id = 0;         ///< 0-based foreground class
  size_t area = 0;          ///< pixels of its ground-truth region (within the image)
  size_t visible = 0;       ///< of which not covered by objects painted later
  size_t part_visible = 0;  ///< visible pixels of its discriminative part (bird head, ...)
};

/// One generated image with its exact ground truth.
struct SynthSample {
  SynthItem item;
  RgbImage image;                    ///< what the classifier sees
  LabelMap gt;                       ///< exact labels: 0 background, c + 1 for class c; no 255
  std::vector<uint8_t> part;         ///< (H·W) 1 where a discriminative part is visible
  uint8_t contexts = 0;              ///< SynthContext bits drawn in this image
  std::vector<int> classes;          ///< 0-based classes present in gt, ascending
  std::vector<SynthObject> objects;  ///< in paint order (later ones occlude earlier ones)
};

/// Renders one image. Depends only on (options.seed, options.size, the context rates,
/// max_objects, item.split, item.index): never on other images or threads.
SynthSample render_synth_sample(const SynthOptions& options, const SynthItem& item);

/// The probability that each class (0-based) is drawn for an image, computed exactly from the
/// sampling rule (number of classes, weights, the boat/sheep exclusion). Tests compare the
/// generated frequencies with it.
std::vector<double> expected_class_frequencies(const SynthOptions& options);

}  // namespace pm
