// SPDX-License-Identifier: MIT
// `pseudomask selfcheck`: a quick check of an installation on real data. It evaluates noisy
// pseudo-masks and CAM-like maps made from a real PASCAL VOC sample, and refines a real network's
// predictions there with the dense CRF. The sample is built into the program (tests/data/
// voc_sample, embedded at build time), so an installed or copied binary needs no other file.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "commands/commands.h"
#include "commands/run/embedded_files.h"
#include "common/batch.h"
#include "common/flags.h"
#include "common/report.h"
#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/parallel.h"
#include "pseudomask/core/common/planes.h"
#include "pseudomask/core/crf/crf_inputs.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/datasets/classes.h"
#include "pseudomask/core/datasets/dataset.h"
#include "pseudomask/core/eval/evaluate.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/labels/morphology.h"

namespace fs = std::filesystem;

namespace pm::cli {
namespace {

constexpr int kNoiseRadius = 4;     // dilation / erosion radius of the noisy masks (pixels)
constexpr int kCamBlurRadius = 12;  // box-blur radius that turns masks into CAM-like maps

/// Flags of `pseudomask selfcheck`.
struct SelfcheckCommand {
  std::string data;  ///< VOC-style sample folder (JPEGImages/, SegmentationClass/); "" = built in
  std::string out = "runs/selfcheck";
  int jobs = 0;
};

/// The ids among `ids` that have a probability map (<id>.npy or .npz) in `dir`.
std::vector<std::string> ids_with_probs(const std::vector<std::string>& ids,
                                        const std::string& dir) {
  std::vector<std::string> out;
  for (const std::string& id : ids) {
    if (fs::exists(dir + "/" + id + ".npy") || fs::exists(dir + "/" + id + ".npz"))
      out.push_back(id);
  }
  return out;
}

// A noisy pseudo-mask, as a weak method would make it: ignore → background, then image k is
// over-extended (dilated), under-extended (eroded) or has a class confused with another.
LabelMap noisy_mask(const LabelMap& gt, size_t k) {
  const LabelMap base = replace_label(gt, kIgnoreLabel, 0);
  if (k % 3 == 0)
    return dilate_foreground(base, kNoiseRadius);
  if (k % 3 == 1)
    return erode_foreground(base, kNoiseRadius);
  uint8_t first = 0;
  for (uint8_t v : base.labels) {
    if (v != 0 && (first == 0 || v < first))
      first = v;
  }
  return first ? replace_label(base, first, static_cast<uint8_t>(first % 20 + 1)) : base;
}

// CAM-like maps from a mask: each present class's blurred mask, peaked at 1 inside the object
// and fading over its boundary, in the IRN layout (high_res at image size, cam at stride 4).
CamFile cams_from_mask(const LabelMap& gt) {
  CamFile cams;
  cams.keys = image_labels_from_mask(gt, 21, "mask");
  const int w = gt.width, h = gt.height;
  const int64_t k_count = static_cast<int64_t>(cams.keys.size());
  const int sw = (w - 1) / 4 + 1, sh = (h - 1) / 4 + 1;
  cams.high_res = Planes(static_cast<int>(k_count), h, w);
  cams.cam = Planes(static_cast<int>(k_count), sh, sw);
  for (int64_t k = 0; k < k_count; ++k) {
    Planes plane(1, h, w);
    for (size_t p = 0; p < plane.size(); ++p)
      plane.data()[p] = gt.labels[p] == cams.keys[static_cast<size_t>(k)] + 1;
    const Planes blurred = box_blur(plane, kCamBlurRadius);
    std::copy(
        blurred.data(), blurred.data() + blurred.size(), cams.high_res.plane(static_cast<int>(k)));
    for (int y = 0; y < sh; ++y) {
      for (int x = 0; x < sw; ++x) {
        cams.cam.at(static_cast<int>(k), y, x) = blurred.at(0, 4 * y, 4 * x);
      }
    }
  }
  return cams;
}

// Writes the check's inputs (skipping files that exist, so a rerun resumes).
void make_inputs(const std::vector<std::string>& ids,
                 const std::string& gt_dir,
                 const std::string& out,
                 int jobs) {
  parallel_for(ids.size(), jobs, [&](size_t k) {
    const std::string mask_path = out + "/noisy_masks/" + ids[k] + ".png";
    const std::string cam_path = out + "/cams/" + ids[k] + ".npy";
    if (fs::exists(mask_path) && fs::exists(cam_path))
      return;
    const LabelMap gt = read_label_png(gt_dir + "/" + ids[k] + ".png");
    write_label_png(mask_path, noisy_mask(gt, k));
    write_cam_file(cam_path, cams_from_mask(gt));
  });
}

// A real segmentation network's probabilities (<data>/probs_espnetv2), as label
// maps by argmax and after a dense CRF with URN's parameters (skipping files that exist).
void segment_with_crf(const std::vector<std::string>& ids,
                      const std::string& data,
                      const std::string& out,
                      int jobs) {
  parallel_for(ids.size(), jobs, [&](size_t k) {
    const std::string plain = out + "/seg_argmax/" + ids[k] + ".png";
    const std::string refined = out + "/seg_crf/" + ids[k] + ".png";
    if (fs::exists(plain) && fs::exists(refined))
      return;
    const RgbImage image = read_image(find_image(data + "/JPEGImages", ids[k]));
    const std::string path =
        find_input(data + "/probs_espnetv2", ids[k], {".npy", ".npz"}, "probability map");
    const Planes probs = read_label_planes(path, image.width, image.height);
    write_label_png(plain, argmax_labels(probs));
    const DenseCrf2D crf(image, CrfParams::preset(CrfPreset::kUrn));
    const CrfResult r = crf.infer(unary_from_probabilities(probs), nullptr, CrfOutputs::kLabels);
    write_label_png(refined, r.map);
  });
}

int run_selfcheck(const SelfcheckCommand& c) {
  std::string data = c.data;
  if (data.empty()) {
    data = c.out + "/sample";
    write_embedded_files(selfcheck_sample_files(), data);
    std::printf("the built-in VOC sample, written to %s\n", data.c_str());
  }
  const std::string gt_dir = data + "/SegmentationClass";
  PM_CHECK(fs::is_directory(gt_dir), "{}: no SegmentationClass/ folder (use --data)", data);
  std::vector<std::string> ids;
  for (const auto& p : list_files(gt_dir, {".png"}))
    ids.push_back(file_stem(p));
  std::printf("pseudomask selfcheck on %zu images of %s\n", ids.size(), data.c_str());
  std::printf("1/4 making noisy pseudo-masks and CAM files in %s\n", c.out.c_str());
  make_inputs(ids, gt_dir, c.out, c.jobs);

  EvalOptions options;
  options.jobs = c.jobs;
  std::printf("2/4 evaluating the noisy pseudo-masks\n\n");
  const EvalReport masks = evaluate_label_dirs(gt_dir, c.out + "/noisy_masks", ids, options);
  std::printf("%s\n", metrics_table(masks.metrics, voc_class_names()).c_str());

  std::printf("3/4 evaluating the CAM files over background thresholds 0.05..0.95\n\n");
  const CamSweepReport cams =
      evaluate_cam_dir(gt_dir, c.out + "/cams", ids, parse_thresholds("0.05:0.95:0.05"), options);
  for (size_t j = 0; j < cams.thresholds.size(); ++j) {
    std::printf("  threshold %.2f: mIoU %s  precision %s  recall %s%s\n",
                cams.thresholds[j],
                percent(cams.metrics[j].mean_iou).c_str(),
                percent(cams.metrics[j].mean_precision).c_str(),
                percent(cams.metrics[j].mean_recall).c_str(),
                j == cams.best_index ? "  <- best" : "");
  }
  nlohmann::json seg;
  const std::vector<std::string> seg_ids = ids_with_probs(ids, data + "/probs_espnetv2");
  if (!seg_ids.empty()) {
    std::printf(
        "\n4/4 a real network's predictions (ESPNetv2) on %zu image(s), argmax vs. dense CRF (URN "
        "parameters)\n",
        seg_ids.size());
    segment_with_crf(seg_ids, data, c.out, c.jobs);
    const EvalReport plain = evaluate_label_dirs(gt_dir, c.out + "/seg_argmax", seg_ids, options);
    const EvalReport refined = evaluate_label_dirs(gt_dir, c.out + "/seg_crf", seg_ids, options);
    for (const auto& [name, m] :
         {std::make_pair("argmax", &plain.metrics), std::make_pair("+ CRF ", &refined.metrics)}) {
      std::printf("  %s: mIoU %s  precision %s  recall %s  pixel accuracy %s\n",
                  name,
                  percent(m->mean_iou).c_str(),
                  percent(m->mean_precision).c_str(),
                  percent(m->mean_recall).c_str(),
                  percent(m->pixel_accuracy).c_str());
    }
    seg = {{"images", seg_ids.size()},
           {"argmax", metrics_json(plain.metrics, voc_class_names())},
           {"crf_urn", metrics_json(refined.metrics, voc_class_names())}};
  }
  nlohmann::json report = {
      {"data", data},
      {"segmentation", seg},
      {"images", ids.size()},
      {"noisy_masks", metrics_json(masks.metrics, voc_class_names())},
      {"cams_best_threshold", cams.thresholds[cams.best_index]},
      {"cams_best", metrics_json(cams.metrics[cams.best_index], voc_class_names())}};
  write_json(c.out + "/report.json", report);
  write_file_atomic(c.out + "/report.md", metrics_table(masks.metrics, voc_class_names()));
  std::printf("\nnoisy pseudo-masks: mIoU %s %%; CAMs: best mIoU %s %% at threshold %.2f\n",
              percent(masks.metrics.mean_iou).c_str(),
              percent(cams.metrics[cams.best_index].mean_iou).c_str(),
              cams.thresholds[cams.best_index]);
  std::printf("report: %s/report.json, %s/report.md\n", c.out.c_str(), c.out.c_str());
  return 0;
}

}  // namespace

void write_embedded_files(const std::vector<EmbeddedFile>& files, const std::string& dir) {
  for (const EmbeddedFile& f : files) {
    const std::string path = dir + "/" + f.path;
    if (!fs::exists(path))
      write_file_atomic(path, f.data, f.size);
  }
}

void add_selfcheck_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<SelfcheckCommand>();
  CLI::App* sub = app.add_subcommand(
      "selfcheck", "Check the installation on the real PASCAL VOC sample (seconds)");
  sub->footer(
      "Makes noisy pseudo-masks (dilated, eroded, class-swapped) and CAM-like maps from the real\n"
      "PASCAL VOC sample, writes them in the formats the WSSS tools use, and evaluates both; then\n"
      "refines a real network's probabilities (probs_espnetv2) with the dense CRF and evaluates "
      "that.\n"
      "The sample (8 images, probabilities for one) is built into the program and written to\n"
      "<out>/sample; --data runs on another VOC-style folder (e.g. tests/data/voc_sample, which\n"
      "has probabilities for all 8).\n"
      "Outputs that exist are kept, so a rerun resumes.\n\nExample:\n  pseudomask selfcheck --out "
      "runs/selfcheck");
  sub->add_option("--data", c->data, "VOC-style sample folder (default: the built-in sample)");
  sub->add_option("--out", c->out, "Output folder")->capture_default_str();
  sub->add_option("--jobs", c->jobs, "Threads (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->callback([c, &exit_code] { exit_code = run_selfcheck(*c); });
}

}  // namespace pm::cli
