// SPDX-License-Identifier: MIT
// `pseudomask eval`: pseudo-masks or predictions against ground truth.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "commands/commands.h"
#include "common/batch.h"
#include "common/progress.h"
#include "common/report.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/datasets/classes.h"
#include "pseudomask/core/eval/evaluate.h"

namespace pm::cli {

/// Flags of `pseudomask eval`.
struct EvalCommand {
  std::string gt;                  ///< ground-truth label PNG folder
  std::string pred;                ///< predicted label PNG folder
  std::string list;                ///< image-id list; default: every PNG in --pred
  int num_classes = 21;            ///< label ids 0..N-1
  int ignore = 255;                ///< ground-truth label to skip
  std::string classes;             ///< class names: voc, coco, coco91 or a file
  std::string json;                ///< JSON report path (a CSV is written beside it)
  std::string csv;                 ///< CSV report path (default: the JSON path with .csv)
  int jobs = 0;                    ///< threads, 0 = all cores
  bool keep_going = false;         ///< list bad images at the end instead of stopping
  bool official_orandnet = false;  ///< the ORANDNet code's 20-class metric
  bool quiet = false;              ///< no progress output
};

int run_eval(const EvalCommand& c) {
  const auto ids = resolve_ids(c.list, c.pred, {".png"});
  EvalOptions options;
  options.num_classes = c.num_classes;
  options.ignore = c.ignore;
  options.official_orandnet = c.official_orandnet;
  options.keep_going = c.keep_going;
  options.jobs = c.jobs;
  Progress progress("eval", ids.size(), c.quiet);
  options.progress = [&](size_t done, size_t) { progress.update(done); };
  const EvalReport report = evaluate_label_dirs(c.gt, c.pred, ids, options);
  progress.finish();

  const int n = report.confusion.num_classes();
  std::vector<std::string> names =
      c.classes.empty() ? default_class_names(c.num_classes) : load_class_names(c.classes);
  names.resize(static_cast<size_t>(n));
  std::printf("%s", metrics_table(report.metrics, names).c_str());
  std::printf("%zu images%s\n",
              report.images,
              c.official_orandnet ? " (ORANDNet-code metric: 20 classes, tvmonitor dropped)" : "");
  print_failures(report.failures);
  if (!c.json.empty()) {
    nlohmann::json j = metrics_json(report.metrics, names);
    j["images"] = report.images;
    j["official_orandnet"] = c.official_orandnet;
    j["gt"] = c.gt;
    j["pred"] = c.pred;
    j["failures"] = nlohmann::json::array();
    for (const auto& f : report.failures)
      j["failures"].push_back({{"id", f.id}, {"error", f.message}});
    write_json(c.json, j);
  }
  const std::string csv = !c.csv.empty() ? c.csv
                          : c.json.empty()
                              ? std::string()
                              : std::filesystem::path(c.json).replace_extension(".csv").string();
  if (!csv.empty())
    write_file_atomic(csv, metrics_csv(report.metrics, names));
  return 0;
}

void add_eval_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<EvalCommand>();
  CLI::App* sub = app.add_subcommand(
      "eval", "Evaluate label maps (pseudo-masks, predictions) against ground truth");
  sub->footer(
      "One confusion matrix over the whole list (every pixel weighs the same), ignore label\n"
      "skipped; per-class IoU, precision, recall, FP/FN shares; means over classes present in\n"
      "ground truth or predictions, background included.\n\n"
      "Example:\n  pseudomask eval --gt VOC2012/SegmentationClass --pred out/pseudo_masks \\\n"
      "      --list VOC2012/ImageSets/Segmentation/train.txt --json out/eval.json");
  sub->add_option("--gt", c->gt, "Ground-truth label PNG folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--pred", c->pred, "Predicted label PNG folder (<id>.png)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--list", c->list, "Image-id list (default: every PNG in --pred)")
      ->check(CLI::ExistingFile);
  sub->add_option("--num-classes", c->num_classes, "Number of labels incl. background")
      ->capture_default_str()
      ->check(CLI::Range(1, 255));
  sub->add_option("--ignore", c->ignore, "Ground-truth label to skip")
      ->capture_default_str()
      ->check(CLI::Range(0, 255));
  sub->add_option("--classes",
                  c->classes,
                  "Class names: voc, coco, coco91 or a file (default by --num-classes)");
  sub->add_option("--json", c->json, "Write a JSON report (and a CSV beside it)");
  sub->add_option("--csv", c->csv, "Write the per-class CSV here");
  sub->add_option("--jobs", c->jobs, "Threads (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--keep-going", c->keep_going, "Skip bad images, list them at the end");
  sub->add_flag("--official-orandnet",
                c->official_orandnet,
                "Reproduce the ORANDNet code's 20-class metric (tvmonitor dropped)");
  sub->add_flag("--quiet", c->quiet, "No progress output");
  sub->callback([c, &exit_code] { exit_code = run_eval(*c); });
}

}  // namespace pm::cli
