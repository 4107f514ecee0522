// SPDX-License-Identifier: MIT
// `pseudomask eval`: pseudo-masks or predictions against ground truth.
#include <cstdio>
#include <filesystem>

#include "commands/commands.h"
#include "common/batch.h"
#include "common/eval_flags.h"
#include "common/report.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"

namespace pm::cli {
namespace {

/// Flags of `pseudomask eval`.
struct EvalCommand {
  EvalFlags eval;
  std::string pred;   ///< predicted label PNG folder
  std::string probs;  ///< or: probability maps (<id>.npy), scored by their argmax
  std::string csv;    ///< CSV report path (default: the JSON path with .csv)
};

/// The CSV report's path: --csv, else the --json path with .csv (none without either). Throws
/// when it is the JSON report's path, which it would overwrite.
std::string csv_path(const EvalCommand& c) {
  const std::string csv =
      !c.csv.empty()        ? c.csv
      : c.eval.json.empty() ? std::string()
                            : std::filesystem::path(c.eval.json).replace_extension(".csv").string();
  PM_CHECK(csv.empty() || !same_path(csv, c.eval.json),
           "--json {}: the CSV report would overwrite it; give the JSON report a .json name or "
           "the CSV report its own --csv path",
           c.eval.json);
  return csv;
}

int run_eval(const EvalCommand& c) {
  const std::string csv = csv_path(c);
  PM_CHECK(c.pred.empty() != c.probs.empty(), "give exactly one of --pred and --probs");
  const bool probs = !c.probs.empty();
  const std::string& pred_dir = probs ? c.probs : c.pred;
  const auto ids = resolve_ids(c.eval.list, pred_dir, {probs ? ".npy" : ".png"});
  const EvalClasses classes = eval_classes(c.eval);
  Progress progress("eval", ids.size(), c.eval.quiet);
  EvalOptions options = eval_options(c.eval, classes, progress);
  options.pred_probabilities = probs;
  const EvalReport report = evaluate_label_dirs(c.eval.gt, pred_dir, ids, options);
  progress.finish();

  const auto names =
      report_class_names(classes, static_cast<size_t>(report.confusion.num_classes()));
  std::printf("classes: %zu from %s\n", classes.names.size(), classes.source.c_str());
  std::printf("%s", metrics_table(report.metrics, names).c_str());
  std::printf(
      "%zu images%s\n",
      report.images,
      c.eval.official_orandnet ? " (ORANDNet-code metric: 20 classes, tvmonitor dropped)" : "");
  const EvalCoverage coverage = eval_coverage(c.eval, ids.size(), report.images);
  print_failures(report.failures);
  if (!c.eval.json.empty()) {
    nlohmann::json j = metrics_json(report.metrics, names);
    j["images"] = report.images;
    j["coverage"] = coverage_json(coverage);
    j["class_set"] = classes_json(classes);
    j["official_orandnet"] = c.eval.official_orandnet;
    j["gt"] = c.eval.gt;
    j[probs ? "probs" : "pred"] = pred_dir;
    j["confusion"] = confusion_json(report.confusion);
    j["per_image"] = images_json(report.images_metrics, names);
    j["failures"] = failures_json(report.failures);
    write_json(c.eval.json, j);
    write_file_atomic(images_csv_path(c.eval.json), images_csv(report.images_metrics));
  }
  if (!csv.empty())
    write_file_atomic(csv, metrics_csv(report.metrics, names));
  return batch_exit_status(report.failures);
}

}  // namespace

void add_eval_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<EvalCommand>();
  CLI::App* sub = app.add_subcommand(
      "eval", "Evaluate label maps (pseudo-masks, predictions) against ground truth");
  sub->footer(batch_footer(
      "One confusion matrix over the whole list (every pixel weighs the same), ignore label\n"
      "skipped; per-class IoU, precision, recall, FP/FN shares; means over classes present in\n"
      "ground truth or predictions, background included. --probs scores probability maps\n"
      "(<id>.npy, (C,H,W) or (C,H*W)) by their plain argmax, as `pseudomask argmax` writes it.\n" +
      std::string(kEvalMetricsHelp) +
      "\n\nExample:\n  pseudomask eval --gt VOC2012/SegmentationClass --pred out/pseudo_masks \\\n"
      "      --list VOC2012/ImageSets/Segmentation/train.txt --json out/eval.json"));
  add_eval_flags(sub, c->eval);
  sub->add_option("--pred", c->pred, "Predicted label PNG folder (<id>.png)")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--probs",
                  c->probs,
                  "Or: probability maps (<id>.npy or one-array .npz), scored by their argmax")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--csv", c->csv, "Write the per-class CSV here");
  sub->callback([c, &exit_code] { exit_code = run_eval(*c); });
}

}  // namespace pm::cli
