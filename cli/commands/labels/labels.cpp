// SPDX-License-Identifier: MIT
// `pseudomask labels`: pseudo-masks from CAMs: background threshold, dense-CRF refinement, or
// IRN's confident-region labels.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>

#include "commands/commands.h"
#include "common/batch.h"
#include "common/flags.h"
#include "common/report.h"
#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/parse.h"
#include "pseudomask/core/common/value_checks.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/datasets/classes.h"
#include "pseudomask/core/eval/evaluate.h"
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
  std::optional<int> iters;           ///< mean-field iterations (default: the preset's 10)
  bool plain_has_background = false;  ///< plain (C,H,W) arrays carry a background channel 0
  std::string sweep_alpha;            ///< crf: α values to score against --gt ("" = no sweep)
  std::string gt;                     ///< ground-truth label PNGs of the sweep
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
  s.crf.background = background_model_flag("--background", c.background);
  s.crf.alpha = c.alpha;
  s.crf.threshold = c.threshold;
  s.confident.conf_fg = c.conf_fg;
  s.confident.conf_bg = c.conf_bg;
  s.confident.gt_prob = c.gt_prob;
  s.confident.rule = uncertain_rule_flag("--uncertain", c.uncertain);
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
  if (c.iters)
    s.params.iterations = *c.iters;
  s.params.validate();
  return s;
}

/// The CAMs labels are made from: high_res, at image size.
const Planes& image_size_cams(const CamFile& cams, const std::string& path) {
  PM_CHECK(
      !cams.high_res.empty(), "{}: no high_res (labels are made from the image-size CAMs)", path);
  PM_CHECK(static_cast<size_t>(cams.high_res.channels()) == cams.keys.size(),
           "{}: high_res is {}, expected ({}, H, W) for {} keys",
           path,
           cams.high_res.describe(),
           cams.keys.size(),
           cams.keys.size());
  check_finite(cams.high_res, path, "high_res");
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
  const Planes& cams = image_size_cams(file, path);
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
    j["threshold"] = shortest(c.threshold);
    return j;
  }
  if (s.mode == LabelMode::kCrf) {
    j["background"] = background_model_name(s.crf.background);
    j[s.crf.background == BackgroundModel::kPower ? "alpha" : "threshold"] =
        s.crf.background == BackgroundModel::kPower ? shortest(c.alpha) : shortest(c.threshold);
  } else {
    j["conf_fg"] = shortest(c.conf_fg);
    j["conf_bg"] = shortest(c.conf_bg);
    j["gt_prob"] = c.gt_prob;
    j["uncertain_rule"] = uncertain_rule_name(s.confident.rule);
    j["uncertain_label"] = s.confident.uncertain_label;
  }
  j["crf"] = crf_params_json(s.params);
  return j;
}

/// --sweep-alpha: START:STOP:STEP or a comma list, each α > 0.
std::vector<float> parse_alpha_sweep(const std::string& spec) {
  std::vector<float> alphas;
  if (spec.find(':') != std::string::npos) {
    std::string commas = spec;
    std::replace(commas.begin(), commas.end(), ':', ',');
    const auto v = parse_float_list(commas, "--sweep-alpha", 3);
    alphas = sweep_thresholds({v[0], v[1], v[2]});
  } else {
    alphas = parse_float_list(spec, "--sweep-alpha");
    std::sort(alphas.begin(), alphas.end());
  }
  for (float a : alphas)
    PM_CHECK(std::isfinite(a) && a > 0, "--sweep-alpha {}: every alpha must be > 0", spec);
  return alphas;
}

/// The classes of the sweep's ground truth: its dataset's classes.txt, else VOC's.
std::vector<std::string> sweep_classes(const std::string& gt, std::string* source) {
  DatasetClasses found = find_dataset_classes(gt);
  if (found.names.empty()) {
    *source = "VOC (no classes.txt beside the ground truth)";
    return voc_class_names();
  }
  *source = found.source;
  return found.names;
}

/// The sweep as rows "alpha mIoU precision recall", the best marked.
std::string alpha_table(const std::vector<float>& alphas,
                        const std::vector<Metrics>& metrics,
                        size_t best) {
  std::string out = "| alpha | mIoU | mean precision | mean recall |\n|---:|---:|---:|---:|\n";
  for (size_t j = 0; j < alphas.size(); ++j) {
    out += fmt::format("| {}{} | {} | {} | {} |\n",
                       shortest(alphas[j]),
                       j == best ? " (best mIoU)" : "",
                       percent(metrics[j].mean_iou),
                       percent(metrics[j].mean_precision),
                       percent(metrics[j].mean_recall));
  }
  return out;
}

/// `labels --mode crf --sweep-alpha A --gt DIR`: the CRF labels at every α of the power
/// background, scored against the ground truth (one lattice per image serves every α); writes
/// no label PNGs, only <out>/labels_sweep.json, and reports the best α.
int run_alpha_sweep(const LabelsCommand& c, const LabelsSettings& s) {
  PM_CHECK(s.mode == LabelMode::kCrf && s.crf.background == BackgroundModel::kPower,
           "--sweep-alpha needs --mode crf with --background power");
  PM_CHECK(!c.gt.empty(), "--sweep-alpha needs --gt, the ground-truth label folder");
  const std::vector<float> alphas = parse_alpha_sweep(c.sweep_alpha);
  std::string class_source;
  const std::vector<std::string> names = sweep_classes(c.gt, &class_source);
  const int n = static_cast<int>(names.size());
  const auto ids = resolve_ids(c.list, c.cams, kCamExtensions);
  const int threads_per_image = threads_per_item(c.batch, ids);
  std::vector<ConfusionMatrix> totals(alphas.size(), ConfusionMatrix(n));
  std::mutex mutex;
  BatchOptions batch = c.batch;
  batch.resume = false;  // nothing is written per image
  const BatchReport report = run_batch(
      "labels sweep",
      ids,
      batch,
      [](const std::string&) { return false; },
      [&](const std::string& id) {
        const std::string path = find_input(c.cams, id, kCamExtensions, "CAM file");
        CamReadOptions read_options;
        read_options.plain_has_background = c.plain_has_background;
        const CamFile file = read_cam_file(path, read_options);
        const Planes& cams = image_size_cams(file, path);
        const LabelMap gt = read_label_png(find_input(c.gt, id, {".png"}, "ground truth"));
        thread_local CrfWorkspace workspace;
        const DenseCrf2D crf(read_image(find_image(c.images, id)), s.params, threads_per_image);
        std::vector<ConfusionMatrix> local(alphas.size(), ConfusionMatrix(n));
        CamCrfOptions options = s.crf;
        for (size_t j = 0; j < alphas.size(); ++j) {
          options.alpha = alphas[j];
          local[j].add(
              gt, crf_labels_from_cams(crf, cams, file.keys, options, path, &workspace), path);
        }
        std::lock_guard<std::mutex> lock(mutex);
        for (size_t j = 0; j < alphas.size(); ++j)
          totals[j].merge(local[j]);
      });
  std::vector<Metrics> metrics;
  size_t best = 0;
  for (size_t j = 0; j < alphas.size(); ++j) {
    metrics.push_back(compute_metrics(totals[j]));
    if (metrics[j].mean_iou > metrics[best].mean_iou)
      best = j;
  }
  std::printf("classes: %d from %s\n", n, class_source.c_str());
  std::printf("%s", alpha_table(alphas, metrics, best).c_str());
  std::printf("Best alpha %g: mIoU %s (rerun with --alpha %g to write its labels)\n",
              shortest(alphas[best]),
              percent(metrics[best].mean_iou).c_str(),
              shortest(alphas[best]));
  nlohmann::json sweep = nlohmann::json::array();
  for (size_t j = 0; j < alphas.size(); ++j) {
    nlohmann::json m = metrics_json(metrics[j], names);
    m.erase("classes");
    m["alpha"] = shortest(alphas[j]);
    sweep.push_back(m);
  }
  nlohmann::json summary = settings_json(c, s);
  summary.erase("alpha");
  summary.update({{"cams", c.cams},
                  {"gt", c.gt},
                  {"class_set", {{"count", n}, {"source", class_source}}},
                  {"best_alpha", shortest(alphas[best])},
                  {"best", metrics_json(metrics[best], names)},
                  {"sweep", sweep}});
  write_batch_summary(c.out + "/labels_sweep.json", report, summary);
  print_batch_line("labels sweep", "scored", report, c.out);
  return report.exit_status();
}

int run_labels(const LabelsCommand& c) {
  const LabelsSettings s = validate(c);
  if (!c.sweep_alpha.empty())
    return run_alpha_sweep(c, s);
  const LabelPngColors colors = palette_flag(c.palette);
  const auto ids = resolve_ids(c.list, c.cams, kCamExtensions);
  auto output = [&](const std::string& id) { return c.out + "/" + id + ".png"; };
  const int threads_per_image = threads_per_item(c.batch, ids);
  PixelCounts counts;
  nlohmann::json settings = settings_json(c, s);
  settings["plain_has_background"] = c.plain_has_background;
  const ResumeRecord record(c.out, "labels", settings, c.batch);
  const BatchReport report = run_batch(
      "labels",
      ids,
      c.batch,
      [&](const std::string& id) { return record.complete({output(id)}); },
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
      "--sweep-alpha A (crf, power background) with --gt DIR scores the labels at every alpha\n"
      "against the ground truth, as eval-cam sweeps thresholds (one CRF lattice per image serves\n"
      "every alpha; larger alpha gives the background less weight), prints the table and the best\n"
      "alpha, and writes <out>/labels_sweep.json instead of label PNGs.\n"
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
  add_iters_flag(sub, c->iters);
  sub->add_option("--list", c->list, "Image-id list (default: every file in --cams)")
      ->check(CLI::ExistingFile);
  sub->add_flag("--plain-has-background",
                c->plain_has_background,
                "Plain (C,H,W) arrays have a background channel 0 (dropped)");
  sub->add_option("--sweep-alpha",
                  c->sweep_alpha,
                  "crf: score these alphas (START:STOP:STEP or a list) against --gt and report "
                  "the best; writes only <out>/labels_sweep.json");
  sub->add_option("--gt", c->gt, "Ground-truth label PNGs for --sweep-alpha")
      ->check(CLI::ExistingDirectory);
  add_batch_flags(sub, c->batch);
  sub->callback([c, &exit_code] { exit_code = run_labels(*c); });
}

}  // namespace pm::cli
