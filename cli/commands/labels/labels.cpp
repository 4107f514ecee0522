// SPDX-License-Identifier: MIT
// `pseudomask labels`: pseudo-masks from CAMs: background threshold, dense-CRF refinement, or
// IRN's confident-region labels.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "commands/commands.h"
#include "common/batch.h"
#include "common/flags.h"
#include "common/report.h"
#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/labels/cam_crf.h"
#include "pseudomask/core/labels/threshold.h"

namespace fs = std::filesystem;

namespace pm::cli {
namespace {

/// CAM file extensions the command reads.
const std::vector<std::string> kCamExtensions = {".npy", ".npz"};

/// How the labels are made.
enum class LabelMode {
  kThreshold,  ///< background plane at --threshold, argmax
  kCrf,        ///< ORANDNet crf_refine: [background; CAMs] probabilities through a dense CRF
  kIrn,        ///< IRN cam_to_ir_label: confident fg / bg maps, each label-CRF refined
};

/// Flags of `pseudomask labels`.
struct LabelsCommand {
  std::string cams;                   ///< CAM folder (<id>.npy / .npz)
  std::string out;                    ///< output folder: <id>.png label maps
  std::string palette = "none";       ///< label PNG colours: none | voc
  std::string images;                 ///< RGB images (crf and irn modes)
  std::string list;                   ///< optional id list
  std::string mode = "threshold";     ///< threshold | crf | irn
  float threshold = 0.25f;            ///< threshold: background plane; crf: constant background
  std::string background = "power";   ///< crf: power | constant
  float alpha = 4.0f;                 ///< crf: exponent of the power background
  float conf_fg = 0.30f;              ///< irn: confident-foreground threshold
  float conf_bg = 0.05f;              ///< irn: confident-background threshold
  double gt_prob = 0.7;               ///< irn: label-CRF confidence of the given label
  std::string uncertain = "irn";      ///< irn: irn | disagree
  bool no_ignore = false;             ///< irn: write uncertain pixels as background, not 255
  std::string preset;                 ///< CRF preset (default: deeplab for crf, irn for irn)
  int iters = -1;                     ///< mean-field iterations (-1: the preset's 10)
  bool plain_has_background = false;  ///< plain (C,H,W) arrays carry a background channel 0
  BatchOptions batch;
};

/// The validated settings of one run.
struct LabelsSettings {
  LabelMode mode = LabelMode::kThreshold;
  CamCrfOptions crf;
  ConfidentLabelOptions confident;
  CrfParams params;
};

LabelMode parse_label_mode(const std::string& name) {
  if (name == "threshold")
    return LabelMode::kThreshold;
  if (name == "crf")
    return LabelMode::kCrf;
  if (name == "irn")
    return LabelMode::kIrn;
  PM_FAIL("unknown --mode '{}' (expected threshold, crf or irn)", name);
}

/// The one place the flags are checked; throws naming the bad flag and value.
LabelsSettings validate(const LabelsCommand& c) {
  LabelsSettings s;
  s.mode = parse_label_mode(c.mode);
  check_out_is_no_input(c.out, {c.cams, c.images});
  PM_CHECK(std::isfinite(c.threshold), "--threshold must be finite, got {}", c.threshold);
  s.crf.background = parse_background_model(c.background);
  s.crf.alpha = c.alpha;
  s.crf.threshold = c.threshold;
  s.confident.conf_fg = c.conf_fg;
  s.confident.conf_bg = c.conf_bg;
  s.confident.gt_prob = c.gt_prob;
  s.confident.rule = parse_uncertain_rule(c.uncertain);
  s.confident.uncertain_label = c.no_ignore ? 0 : kIgnoreLabel;
  if (s.mode == LabelMode::kThreshold)
    return s;
  PM_CHECK(!c.images.empty(), "--mode {} needs --images (the CRF runs on the RGB image)", c.mode);
  if (s.mode == LabelMode::kCrf)
    s.crf.validate();
  else
    s.confident.validate();
  s.params = CrfParams::preset(!c.preset.empty()           ? crf_preset_flag("--preset", c.preset)
                               : s.mode == LabelMode::kCrf ? CrfPreset::kDeepLab
                                                           : CrfPreset::kIrn);
  if (c.iters >= 0)
    s.params.iterations = c.iters;
  s.params.validate();
  return s;
}

/// The CAMs labels are made from: high_res, at image size.
NDArray image_size_cams(const CamFile& cams, const std::string& path) {
  PM_CHECK(
      !cams.high_res.empty(), "{}: no high_res (labels are made from the image-size CAMs)", path);
  PM_CHECK(
      cams.high_res.ndim() == 3 && cams.high_res.dim(0) == static_cast<int64_t>(cams.keys.size()),
      "{}: high_res is {}, expected ({}, H, W) for {} keys",
      path,
      cams.high_res.describe(),
      cams.keys.size(),
      cams.keys.size());
  const float* v = cams.high_res.data<float>();
  for (int64_t i = 0; i < cams.high_res.numel(); ++i) {
    PM_CHECK(std::isfinite(v[i]), "{}: high_res holds a non-finite value ({})", path, v[i]);
  }
  return cams.high_res;
}

/// Pixel counts over the written label maps (sums, so they do not depend on thread timing).
struct PixelCounts {
  std::mutex mutex;
  int64_t background = 0, foreground = 0, ignore = 0;

  void add(const LabelMap& m) {
    int64_t bg = 0, ig = 0;
    for (uint8_t v : m.labels) {
      bg += v == 0;
      ig += v == kIgnoreLabel;
    }
    std::lock_guard<std::mutex> lock(mutex);
    background += bg;
    ignore += ig;
    foreground += static_cast<int64_t>(m.labels.size()) - bg - ig;
  }
  double share(int64_t n) const {
    const int64_t total = background + foreground + ignore;
    return total ? static_cast<double>(n) / static_cast<double>(total) : 0.0;
  }
};

LabelMap make_labels(const LabelsCommand& c,
                     const LabelsSettings& s,
                     const std::string& id,
                     int threads_per_image) {
  const std::string path = find_input(c.cams, id, kCamExtensions, "CAM file");
  CamReadOptions read_options;
  read_options.plain_has_background = c.plain_has_background;
  const CamFile file = read_cam_file(path, read_options);
  const NDArray cams = image_size_cams(file, path);
  if (s.mode == LabelMode::kThreshold)
    return labels_from_cams(cams, file.keys, c.threshold, path);
  thread_local CrfWorkspace workspace;
  const RgbImage image = read_image(find_image(c.images, id));
  const DenseCrf2D crf(image, s.params, threads_per_image);
  if (s.mode == LabelMode::kCrf)
    return crf_labels_from_cams(crf, cams, file.keys, s.crf, path, &workspace);
  return confident_labels_from_cams(crf, cams, file.keys, s.confident, path, &workspace);
}

nlohmann::json settings_json(const LabelsCommand& c, const LabelsSettings& s) {
  nlohmann::json j = {{"mode", c.mode}};
  if (s.mode == LabelMode::kThreshold) {
    j["threshold"] = c.threshold;
    return j;
  }
  if (s.mode == LabelMode::kCrf) {
    j["background"] = c.background;
    j[s.crf.background == BackgroundModel::kPower ? "alpha" : "threshold"] =
        s.crf.background == BackgroundModel::kPower ? c.alpha : c.threshold;
  } else {
    j["conf_fg"] = c.conf_fg;
    j["conf_bg"] = c.conf_bg;
    j["gt_prob"] = c.gt_prob;
    j["uncertain_rule"] = c.uncertain;
    j["uncertain_label"] = s.confident.uncertain_label;
  }
  j["crf"] = crf_params_json(s.params);
  return j;
}

int run_labels(const LabelsCommand& c) {
  const LabelsSettings s = validate(c);
  const LabelPngColors colors = palette_flag(c.palette);
  const auto ids = resolve_ids(c.list, c.cams, kCamExtensions);
  auto output = [&](const std::string& id) { return c.out + "/" + id + ".png"; };
  const int threads_per_image = threads_per_item(c.batch, ids);
  PixelCounts counts;
  const BatchReport report = run_batch(
      "labels",
      ids,
      c.batch,
      [&](const std::string& id) { return fs::exists(output(id)); },
      [&](const std::string& id) {
        const LabelMap labels = make_labels(c, s, id, threads_per_image);
        write_label_png(output(id), labels, colors);
        counts.add(labels);
      });
  nlohmann::json summary = settings_json(c, s);
  summary.update({{"cams", c.cams},
                  {"pixel_share",
                   {{"background", counts.share(counts.background)},
                    {"foreground", counts.share(counts.foreground)},
                    {"ignore", counts.share(counts.ignore)}}}});
  write_batch_summary(summary_path(c.out, "labels", c.batch), report, summary);
  print_batch_line("labels (" + c.mode + ")", "written", report, c.out);
  return report.exit_status();
}

}  // namespace

void add_labels_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<LabelsCommand>();
  CLI::App* sub = app.add_subcommand("labels", "Make pseudo-masks (label PNGs) from CAMs");
  sub->footer(batch_footer(
      "Reads <id>.npy CAM files (IRN, AMN, MCTformer, plain; the image-size high_res is used) and\n"
      "writes <out>/<id>.png label maps (8-bit grayscale; --palette voc for colours), 0 = "
      "background, class key k -> k+1 (VOC "
      "indices),\n"
      "255 = ignore, plus <out>/labels_summary.json.\n"
      "Modes:\n"
      "  threshold  a constant background plane at --threshold, argmax; background wins ties\n"
      "             (the CAM evaluation of IRN and ORANDNet).\n"
      "  crf        ORANDNet crf_refine: probabilities [background; CAMs], the background\n"
      "             (1 - max_k cam)^alpha (--background power) or --threshold everywhere "
      "(constant);\n"
      "             unary -log(clip(p, 1e-5, 1)); dense CRF (--preset deeplab: Gaussian 3/3,\n"
      "             bilateral 80/13/10, 10 iterations); argmax.\n"
      "  irn        IRN cam_to_ir_label: maps thresholded at --conf-fg and --conf-bg, each "
      "refined\n"
      "             by a label CRF (--gt-prob 0.7; --preset irn: Gaussian 3/3, bilateral "
      "50/5/10);\n"
      "             the fg map's labels, 255 where fg says background but bg does not "
      "(--uncertain\n"
      "             irn) or wherever they differ (disagree); --no-ignore writes those as "
      "background.\n"
      "crf and irn need --images (<id>.jpg / .png, the size of the CAMs).\n"
      "\n"
      "Examples:\n"
      "  pseudomask labels --cams cams/and --out masks/thr --mode threshold --threshold 0.25\n"
      "  pseudomask labels --cams cams/and --images VOC2012/JPEGImages --out masks/irn --mode "
      "irn"));
  sub->add_option("--cams", c->cams, "CAM folder (<id>.npy / .npz)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--out", c->out, "Output folder")->required();
  sub->add_option("--palette", c->palette, palette_help())->capture_default_str();
  sub->add_option("--images", c->images, "RGB image folder (crf and irn modes)")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--mode", c->mode, "threshold, crf or irn")->capture_default_str();
  sub->add_option("--threshold", c->threshold, "Background threshold (threshold; crf constant)")
      ->capture_default_str();
  sub->add_option("--background", c->background, "crf: background map, power or constant")
      ->capture_default_str();
  sub->add_option("--alpha", c->alpha, "crf: exponent of the power background")
      ->capture_default_str();
  sub->add_option("--conf-fg", c->conf_fg, "irn: confident-foreground threshold")
      ->capture_default_str();
  sub->add_option("--conf-bg", c->conf_bg, "irn: confident-background threshold")
      ->capture_default_str();
  sub->add_option("--gt-prob", c->gt_prob, "irn: label-CRF probability of the given label")
      ->capture_default_str();
  sub->add_option("--uncertain", c->uncertain, "irn: which pixels are uncertain, irn or disagree")
      ->capture_default_str();
  sub->add_flag("--no-ignore", c->no_ignore, "irn: write uncertain pixels as background (0)");
  sub->add_option("--preset", c->preset, "CRF preset deeplab, urn or irn (default per mode)");
  sub->add_option("--iters", c->iters, "Mean-field iterations (default: 10)");
  sub->add_option("--list", c->list, "Image-id list (default: every file in --cams)")
      ->check(CLI::ExistingFile);
  sub->add_flag("--plain-has-background",
                c->plain_has_background,
                "Plain (C,H,W) arrays have a background channel 0 (dropped)");
  add_batch_flags(sub, c->batch);
  sub->callback([c, &exit_code] { exit_code = run_labels(*c); });
}

}  // namespace pm::cli
