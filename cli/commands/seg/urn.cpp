// SPDX-License-Identifier: MIT
// `pseudomask urn`: URN's uncertainty weights (response scaling + dense CRF) for retraining a
// segmentation model on its cyclic pseudo-masks M_c.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "commands/commands.h"
#include "common/batch.h"
#include "common/flags.h"
#include "common/report.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/parallel.h"
#include "pseudomask/core/common/parse.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/urn/uncertainty.h"
#include "pseudomask/core/urn/urn_png.h"

namespace fs = std::filesystem;

namespace pm::cli {
namespace {

/// Flags of `pseudomask urn`.
struct UrnCommand {
  std::string images;             ///< RGB images (<id>.jpg / .png)
  std::string probs;              ///< probability maps (<id>.npy, (C,H,W) or (C,H·W))
  std::string out;                ///< output folder (layout in the help footer)
  std::string palette = "none";   ///< colours of mask/<id>.png: none | voc
  std::string list;               ///< optional id list
  std::vector<std::string> ids;   ///< or ids given on the command line
  std::string preset = "voc";     ///< voc | coco: scale set and class count
  std::string scales;             ///< "s1,s2,..." overrides the preset's scales
  float threshold = 0.05f;        ///< t
  std::string mode = "hard";      ///< hard | soft | prob
  int num_classes = -1;           ///< expected C (-1: the preset's 21 / 91; 0: any)
  bool logits = false;            ///< --probs holds logits: softmax first
  bool save_uncertainty = false;  ///< also write U as <out>/uncertainty/<id>.npy
  int group_channels = UrnOptions{}.max_group_channels;  ///< UrnOptions::max_group_channels
  BatchOptions batch;
};

/// What the summary needs of one image.
struct ImageStats {
  int present = 0;                ///< K
  double uncertain_fraction = 0;  ///< pixels with G/255 ≤ t
};

UrnOptions urn_options(const UrnCommand& c) {
  UrnOptions o = UrnOptions::preset(urn_dataset_flag("--preset", c.preset));
  if (!c.scales.empty()) {
    o.scales = parse_float_list(c.scales, "--scales");
  }
  o.threshold = c.threshold;
  o.mode = urn_weight_mode_flag("--mode", c.mode);
  o.max_group_channels = c.group_channels;
  o.validate();
  return o;
}

int expected_classes(const UrnCommand& c) {
  if (c.num_classes >= 0)
    return c.num_classes;
  // the official configs: VOC 21, COCO 91 (ids 0–90)
  return urn_dataset_flag("--preset", c.preset) == UrnDataset::kCoco ? 91 : 21;
}

std::string urn_path(const UrnCommand& c, const std::string& id) {
  return c.out + "/urn/" + id + ".png";
}
std::string mask_path(const UrnCommand& c, const std::string& id) {
  return c.out + "/mask/" + id + ".png";
}
std::string weight_path(const UrnCommand& c, const std::string& id) {
  return c.out + "/weight/" + id + ".png";
}
std::string uncertainty_path(const UrnCommand& c, const std::string& id) {
  return c.out + "/uncertainty/" + id + ".npy";
}

/// The outputs of one image: the official file, M_c, the weights, and U when asked for (hard and
/// soft modes: prob mode computes no U).
std::vector<std::string> outputs_of(const UrnCommand& c,
                                    const UrnOptions& options,
                                    const std::string& id) {
  std::vector<std::string> paths{urn_path(c, id), mask_path(c, id), weight_path(c, id)};
  if (c.save_uncertainty && options.mode != UrnWeightMode::kProb)
    paths.push_back(uncertainty_path(c, id));
  return paths;
}

/// What makes the outputs' content, for --resume (ResumeRecord): not --group-channels, which
/// changes no result.
nlohmann::json urn_settings(const UrnCommand& c, const UrnOptions& options) {
  std::vector<double> scales;
  for (float s : options.scales)
    scales.push_back(shortest(s));
  return {{"mode", urn_weight_mode_name(options.mode)},
          {"threshold", shortest(options.threshold)},
          {"scales", scales},
          {"classes", expected_classes(c)},
          {"logits", c.logits},
          {"crf", crf_params_json(options.crf)}};
}

// One image: read, run URN, write the outputs (the official file last).
ImageStats process_image(const UrnCommand& c,
                         const UrnOptions& options,
                         const std::string& id,
                         int threads) {
  thread_local CrfWorkspace workspace;
  const RgbImage image = read_image(find_image(c.images, id));
  const std::string path = find_input(c.probs, id, {".npy", ".npz"}, "probability map");
  const Planes probs =
      read_urn_probabilities(path, image.width, image.height, c.logits, expected_classes(c));
  const DenseCrf2D crf(image, options.crf, threads);
  const UrnResult r = compute_urn(crf, probs, options, &workspace);
  if (c.save_uncertainty && !r.uncertainty.empty()) {
    std::vector<float> u(r.uncertainty.begin(), r.uncertainty.end());
    write_npy(uncertainty_path(c, id), NDArray::from(u, {image.height, image.width}));
  }
  write_label_png(mask_path(c, id), r.cyclic_mask, palette_flag(c.palette));
  write_weight_png(weight_path(c, id), weight_to_gray(r.weight));
  write_urn_png(urn_path(c, id), r.cyclic_mask, r.weight_byte);
  return {static_cast<int>(r.present.size()), r.uncertain_fraction()};
}

// The statistics of an image finished by an earlier run, read back from its official file.
ImageStats stats_from_file(const UrnCommand& c, const std::string& id, float t) {
  const UrnLabel label = read_urn_png(urn_path(c, id));
  size_t uncertain = 0;
  for (uint8_t g : label.weight_byte.bytes)
    uncertain += is_uncertain(g, t);
  const size_t n = label.mask.num_pixels();
  return {static_cast<int>(present_classes(label.mask).size()),
          n == 0 ? 0.0 : static_cast<double>(uncertain) / static_cast<double>(n)};
}

// Images whose M_c holds a single class (K = 1, usually background only: no object found). Their
// uncertainty is 0 everywhere, so they are drawn and weighted as wholly certain; say so.
void print_single_class_images(const std::vector<std::string>& ids) {
  if (ids.empty())
    return;
  constexpr size_t kShown = 10;
  std::string shown;
  for (size_t i = 0; i < ids.size() && i < kShown; ++i)
    shown += (i ? ", " : "") + ids[i];
  std::printf(
      "urn: %zu image(s) with a single class in M_c (K = 1: no object found; uncertainty 0, "
      "weight 1 everywhere): %s%s\n",
      ids.size(),
      shown.c_str(),
      ids.size() > kShown ? ", ... (all in single_class_ids of the summary)" : "");
}

int run_urn(const UrnCommand& c) {
  const UrnOptions options = urn_options(c);
  palette_flag(c.palette);  // a bad --palette fails before any image
  check_out_is_no_input(c.out, {c.images, c.probs});
  const std::vector<std::string> ids =
      given_or_resolved_ids(c.ids, c.list, c.probs, {".npy", ".npz"});
  const std::vector<std::string> shard = batch_ids(ids, c.batch);
  std::unordered_map<std::string, size_t> slot_of;
  for (size_t i = 0; i < shard.size(); ++i)
    slot_of[shard[i]] = i;
  std::vector<std::optional<ImageStats>> stats(shard.size());
  const int threads_per_image = threads_per_item(c.batch, ids);
  const ResumeRecord record(c.out, "urn", urn_settings(c, options), c.batch);
  auto finished = [&](const std::string& id) {
    return record.complete(outputs_of(c, options, id));
  };

  const BatchReport report = run_batch("urn", ids, c.batch, finished, [&](const std::string& id) {
    stats[slot_of.at(id)] = process_image(c, options, id, threads_per_image);
  });

  // Images skipped by --resume count in the summary through their stored files.
  std::vector<size_t> resumed;
  for (size_t i = 0; i < shard.size(); ++i) {
    if (!stats[i] && c.batch.resume && finished(shard[i]))
      resumed.push_back(i);
  }
  parallel_for(resumed.size(), c.batch.jobs, [&](size_t k) {
    stats[resumed[k]] = stats_from_file(c, shard[resumed[k]], options.threshold);
  });

  std::map<int, size_t> k_histogram;
  std::vector<std::string> single_class;  // K = 1: no object besides the one class, U = 0
  double fraction_sum = 0;
  size_t counted = 0;
  for (size_t i = 0; i < stats.size(); ++i) {
    const auto& s = stats[i];
    if (!s)
      continue;
    ++k_histogram[s->present];
    if (s->present == 1)
      single_class.push_back(shard[i]);
    fraction_sum += s->uncertain_fraction;
    ++counted;
  }
  nlohmann::json k_json = nlohmann::json::object();
  for (const auto& [k, count] : k_histogram)
    k_json[std::to_string(k)] = count;
  std::vector<double> scales;
  for (float s : options.scales)
    scales.push_back(shortest(s));
  const double mean_fraction = counted == 0 ? 0.0 : fraction_sum / static_cast<double>(counted);
  write_batch_summary(
      summary_path(c.out, "urn", c.batch),
      report,
      {{"wall_seconds_per_image",
        report.done == 0 ? 0.0 : report.seconds / static_cast<double>(report.done)},
       {"images_counted", counted},
       {"mean_uncertain_fraction", mean_fraction},
       {"k_histogram", k_json},
       {"single_class_images", single_class.size()},
       {"single_class_ids", single_class},
       {"mode", urn_weight_mode_name(options.mode)},
       {"threshold", shortest(options.threshold)},
       {"scales", scales},
       {"preset", c.preset},
       {"shard", c.batch.shard},
       {"crf", crf_params_json(options.crf)},
       {"outputs",
        {{"urn", "urn/<id>.png: official 3-channel PNG, B = M_c, G = R = weight byte"},
         {"mask",
          std::string("mask/<id>.png: M_c, ") +
              (c.palette == "voc" ? "VOC palette PNG" : "8-bit gray PNG")},
         {"weight", "weight/<id>.png: round(Y*255), gray PNG"}}}});
  print_batch_line("urn",
                   "done",
                   report,
                   c.out,
                   fmt::format("mean uncertain fraction {:.2f} %", 100.0 * mean_fraction));
  print_single_class_images(single_class);
  return report.exit_status();
}

}  // namespace

void add_urn_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<UrnCommand>();
  CLI::App* sub = app.add_subcommand(
      "urn", "URN uncertainty weights: response scaling + dense CRF over probability maps");
  sub->footer(batch_footer(
      "URN (Li et al., AAAI 2022) as its official code computes it: M_c = argmax of the CRF over "
      "all C classes;\n"
      "for each class present in M_c (background included) and each scale s, that class's "
      "probability is raised\n"
      "to s (others unchanged, no renormalisation) and a K-label CRF gives its binary mask; U = "
      "max "
      "over classes\n"
      "of the population variance over scales, min-max normalised per image (a constant map gives "
      "U = 0);\n"
      "W8 = uint8((1 - U) * 255). All 1 + K*S CRFs of an image share one lattice. CRF: URN's "
      "Gaussian 1/3,\n"
      "bilateral 67/3/4, 10 iterations, unary -log(clip(p, 1e-5, 1)). Scales: --preset voc "
      "{0.15,0.2,0.25,4,5,6},\n"
      "coco {0.4,0.5,0.6,2,3,4}. Inputs are matched by file stem.\n\n"
      "Weights Y (--mode): hard (official): Y = t where W8/255 <= t, else 1; soft: Y = max(W8/255, "
      "t);\n"
      "prob (URN Table 5 baseline): Y = P(M_c), the model's probability of the pseudo-label, no "
      "scaling run.\n\n"
      "Outputs:\n"
      "  <out>/urn/<id>.png     the official 3-channel PNG, written as cv2 writes [M_c, G, G]:\n"
      "                         B = M_c, G = R = the weight byte (W8 in hard/soft mode, "
      "uint8(P(M_c)"
      "*255)\n"
      "                         in prob mode). TRAP: an RGB reader (PIL, stb) sees (G, G, M_c), so "
      "the label\n"
      "                         is the THIRD channel; mmseg's pillow loader swaps it back to "
      "[M_c, G, G].\n"
      "  <out>/mask/<id>.png    M_c as an 8-bit grayscale PNG of raw indices (--palette voc: VOC "
      "colours)\n"
      "  <out>/weight/<id>.png  the final weight Y as gray round(Y*255) (t = 0.05 -> 13, 1 -> "
      "255)\n"
      "  <out>/uncertainty/<id>.npy  U as float32 (H, W), with --save-uncertainty (hard/soft)\n"
      "  <out>/urn_summary.json images done, mean uncertain fraction (G/255 <= t), K histogram,\n"
      "                         the images with K = 1 (single_class_ids: M_c holds one class, "
      "so no\n"
      "                         object was found and U = 0 everywhere; also printed)\n"
      "                         (urn_summary.shardI-N.json with --shard I/N)\n\n"
      "Example:\n  pseudomask urn --images VOC2012/JPEGImages --probs out/probs --out out/urn "
      "--preset voc --jobs 16"));
  sub->add_option("--images", c->images, "RGB image folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--probs",
                  c->probs,
                  "Probability maps (<id>.npy or one-array .npz, (C,H,W) or (C,H*W), float16/32)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--out", c->out, "Output folder")->required();
  sub->add_option("--palette", c->palette, palette_help())->capture_default_str();
  sub->add_option("--list", c->list, "Image-id list (default: every .npy/.npz in --probs)")
      ->check(CLI::ExistingFile);
  sub->add_option("--ids", c->ids, "Or image ids (comma-separated)")->delimiter(',');
  sub->add_option("--preset", c->preset, "voc or coco: scale set and class count")
      ->capture_default_str();
  sub->add_option("--scales", c->scales, "Response scales S1,S2,... (overrides the preset's)");
  sub->add_option("--threshold", c->threshold, "t: the weight of uncertain pixels")
      ->capture_default_str();
  sub->add_option("--mode", c->mode, "hard (official), soft or prob")->capture_default_str();
  sub->add_option("--num-classes",
                  c->num_classes,
                  "Expected channels C (default: 21 for voc, 91 for coco; 0 = any)");
  sub->add_flag("--logits", c->logits, "--probs holds logits: apply a softmax first");
  sub->add_option("--group-channels",
                  c->group_channels,
                  "Label channels per lattice pass of the scaled CRFs: wider is faster on images "
                  "with many classes, narrower needs less memory; results do not depend on it")
      ->capture_default_str();
  sub->add_flag("--save-uncertainty",
                c->save_uncertainty,
                "Also write U to <out>/uncertainty/<id>.npy (float32)");
  add_batch_flags(sub, c->batch);
  sub->callback([c, &exit_code] { exit_code = run_urn(*c); });
}

}  // namespace pm::cli
