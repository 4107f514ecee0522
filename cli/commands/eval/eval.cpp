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
  std::string pred;  ///< predicted label PNG folder
  std::string csv;   ///< CSV report path (default: the JSON path with .csv)
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
  const auto ids = resolve_ids(c.eval.list, c.pred, {".png"});
  Progress progress("eval", ids.size(), c.eval.quiet);
  const EvalReport report =
      evaluate_label_dirs(c.eval.gt, c.pred, ids, eval_options(c.eval, progress));
  progress.finish();

  const auto names =
      report_class_names(c.eval, static_cast<size_t>(report.confusion.num_classes()));
  std::printf("%s", metrics_table(report.metrics, names).c_str());
  std::printf(
      "%zu images%s\n",
      report.images,
      c.eval.official_orandnet ? " (ORANDNet-code metric: 20 classes, tvmonitor dropped)" : "");
  print_failures(report.failures);
  if (!c.eval.json.empty()) {
    nlohmann::json j = metrics_json(report.metrics, names);
    j["images"] = report.images;
    j["official_orandnet"] = c.eval.official_orandnet;
    j["gt"] = c.eval.gt;
    j["pred"] = c.pred;
    j["failures"] = failures_json(report.failures);
    write_json(c.eval.json, j);
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
      "ground truth or predictions, background included. --json also writes a CSV beside it.\n\n"
      "Example:\n  pseudomask eval --gt VOC2012/SegmentationClass --pred out/pseudo_masks \\\n"
      "      --list VOC2012/ImageSets/Segmentation/train.txt --json out/eval.json"));
  add_eval_flags(sub, c->eval);
  sub->add_option("--pred", c->pred, "Predicted label PNG folder (<id>.png)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--csv", c->csv, "Write the per-class CSV here");
  sub->callback([c, &exit_code] { exit_code = run_eval(*c); });
}

}  // namespace pm::cli
