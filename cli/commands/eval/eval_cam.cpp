// SPDX-License-Identifier: MIT
// `pseudomask eval-cam`: CAM files against ground truth over a sweep of background thresholds.
#include <fmt/format.h>

#include <cstdio>

#include "commands/commands.h"
#include "common/batch.h"
#include "common/eval_flags.h"
#include "common/flags.h"
#include "common/progress.h"
#include "common/report.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/eval/evaluate.h"

namespace pm::cli {

/// Flags of `pseudomask eval-cam`.
struct EvalCamCommand {
  EvalFlags eval;
  std::string cams;                     ///< CAM folder (<id>.npy / .npz)
  std::string thresholds = "0:1:0.01";  ///< START:STOP:STEP or a comma list
  bool plain_has_background = false;    ///< plain (C,H,W) arrays carry a background channel 0
};

/// The sweep as rows "threshold mIoU precision recall".
std::string sweep_table(const CamSweepReport& r) {
  std::string out = "| threshold | mIoU | mean precision | mean recall |\n|---:|---:|---:|---:|\n";
  for (size_t j = 0; j < r.thresholds.size(); ++j) {
    const char* mark = j == r.best_index                         ? " (best mIoU)"
                       : static_cast<int>(j) == r.crossing_index ? " (precision > recall)"
                                                                 : "";
    out += fmt::format("| {:.3f}{} | {} | {} | {} |\n",
                       r.thresholds[j],
                       mark,
                       percent(r.metrics[j].mean_iou),
                       percent(r.metrics[j].mean_precision),
                       percent(r.metrics[j].mean_recall));
  }
  return out;
}

int run_eval_cam(const EvalCamCommand& c) {
  const auto ids = resolve_ids(c.eval.list, c.cams, {".npy", ".npz"});
  const EvalClasses classes = eval_classes(c.eval);
  Progress progress("eval-cam", ids.size(), c.eval.quiet);
  CamReadOptions cam_options;
  cam_options.plain_has_background = c.plain_has_background;
  const CamSweepReport r = evaluate_cam_dir(c.eval.gt,
                                            c.cams,
                                            ids,
                                            parse_thresholds(c.thresholds),
                                            eval_options(c.eval, classes, progress),
                                            cam_options);
  progress.finish();

  const auto names = report_class_names(classes, r.metrics.front().classes.size());
  std::printf("classes: %zu from %s\n", classes.names.size(), classes.source.c_str());
  std::printf("%s\n", sweep_table(r).c_str());
  std::printf("At the best threshold %.3f:\n%s",
              r.thresholds[r.best_index],
              metrics_table(r.metrics[r.best_index], names).c_str());
  if (r.crossing_index >= 0) {
    std::printf("Mean precision first exceeds mean recall at %.3f (mIoU %s).\n",
                r.thresholds[static_cast<size_t>(r.crossing_index)],
                percent(r.metrics[static_cast<size_t>(r.crossing_index)].mean_iou).c_str());
  } else {
    std::printf("Mean precision never exceeds mean recall in this range.\n");
  }
  std::printf("%zu images\n", r.images);
  const EvalCoverage coverage = eval_coverage(c.eval, ids.size(), r.images);
  print_failures(r.failures);
  if (!c.eval.json.empty()) {
    nlohmann::json sweep = nlohmann::json::array();
    for (size_t j = 0; j < r.thresholds.size(); ++j) {
      nlohmann::json m = metrics_json(r.metrics[j], names);
      m.erase("classes");
      m["threshold"] = shortest(r.thresholds[j]);
      sweep.push_back(m);
    }
    nlohmann::json j = {{"images", r.images},
                        {"coverage", coverage_json(coverage)},
                        {"class_set", classes_json(classes)},
                        {"best_threshold", shortest(r.thresholds[r.best_index])},
                        {"best", metrics_json(r.metrics[r.best_index], names)},
                        {"best_confusion", confusion_json(r.best_confusion)},
                        {"sweep", sweep},
                        {"official_orandnet", c.eval.official_orandnet}};
    j["precision_exceeds_recall_threshold"] =
        r.crossing_index >= 0
            ? nlohmann::json(shortest(r.thresholds[static_cast<size_t>(r.crossing_index)]))
            : nlohmann::json(nullptr);
    j["per_image_at_best"] = images_json(r.images_metrics, names);
    j["failures"] = failures_json(r.failures);
    write_json(c.eval.json, j);
    write_file_atomic(images_csv_path(c.eval.json), images_csv(r.images_metrics));
  }
  return batch_exit_status(r.failures);
}

void add_eval_cam_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<EvalCamCommand>();
  CLI::App* sub = app.add_subcommand(
      "eval-cam", "Evaluate CAM files against ground truth over a threshold sweep");
  sub->footer(batch_footer(
      "Each CAM file (IRN dict, AMN with background, MCTformer dict, or a plain (C,H,W) array)\n"
      "is turned into labels IRN-style: a background plane at the threshold, argmax, background\n"
      "wins ties, channel k -> class keys[k]+1. Its 'high_res' maps must be at image size.\n"
      "Reports the best-mIoU threshold and the first threshold where mean precision exceeds\n"
      "mean recall (ORANDNet's finding_best_thres). Per-image metrics and the confusion\n"
      "matrix are those at the best threshold.\n" +
      std::string(kEvalMetricsHelp) +
      "\n\nExample:\n  pseudomask eval-cam --gt VOC2012/SegmentationClassAug --cams out/cams \\\n"
      "      --list VOC2012/ImageSets/Segmentation/train.txt --thresholds 0.05:0.6:0.01"));
  add_eval_flags(sub, c->eval);
  sub->add_option("--cams", c->cams, "CAM folder (<id>.npy or .npz)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--thresholds", c->thresholds, "START:STOP:STEP or a comma list")
      ->capture_default_str();
  sub->add_flag("--plain-has-background",
                c->plain_has_background,
                "Plain (C,H,W) arrays have a background channel first");
  sub->callback([c, &exit_code] { exit_code = run_eval_cam(*c); });
}

}  // namespace pm::cli
