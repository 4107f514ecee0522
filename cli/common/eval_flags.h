// SPDX-License-Identifier: MIT
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "common/progress.h"
#include "pseudomask/core/eval/evaluate.h"

namespace pm::cli {

/// The flags that `eval` and `eval-cam` share.
struct EvalFlags {
  std::string gt;                  ///< ground-truth label PNG folder
  std::string list;                ///< image-id list; default: every input file
  int num_classes = 0;             ///< label ids 0..N-1; 0: the dataset's (classes.txt) or 21
  int ignore = 255;                ///< ground-truth label to skip
  std::string classes;             ///< class names: voc, coco, coco91 or a file
  std::string json;                ///< JSON report path
  int jobs = 0;                    ///< threads, 0 = all cores
  bool keep_going = false;         ///< list bad images at the end instead of stopping
  bool official_orandnet = false;  ///< the ORANDNet code's 20-class metric
  bool quiet = false;              ///< no progress output
};

/// Adds the shared flags (--gt, --list, --num-classes, --ignore, --classes, --json, --jobs,
/// --keep-going, --official-orandnet, --quiet).
void add_eval_flags(CLI::App* sub, EvalFlags& f);

/// The classes an evaluation uses and where they came from.
struct EvalClasses {
  std::vector<std::string> names;  ///< label id → name, background first
  std::string source;              ///< e.g. "classes.txt beside the ground truth (PATH)"
};

/// The classes of an evaluation: --classes if given, else the dataset's classes.txt found beside
/// the ground truth (find_dataset_classes), else --num-classes' default names, else VOC's 21
/// (said in `source`). Throws if --num-classes disagrees with the class names.
EvalClasses eval_classes(const EvalFlags& f);

/// EvalOptions from the flags and classes, reporting progress to `progress`.
EvalOptions eval_options(const EvalFlags& f, const EvalClasses& classes, Progress& progress);

/// Class names for a report of `count` classes (`count` is smaller with --official-orandnet).
std::vector<std::string> report_class_names(const EvalClasses& classes, size_t count);

/// {"count", "source"} of the classes used, for the JSON reports.
nlohmann::json classes_json(const EvalClasses& classes);

/// How many of the images the evaluation should cover it scored.
struct EvalCoverage {
  size_t expected = 0;  ///< listed ids with --list, else ground-truth PNGs
  std::string of;       ///< "listed" or "ground-truth"
  size_t scored = 0;    ///< images counted
};

/// The coverage of a run that scored `scored` images: against --list when given, else the
/// ground-truth PNGs. Prints a warning to stderr when fewer were scored than expected.
EvalCoverage eval_coverage(const EvalFlags& f, size_t listed, size_t scored);

/// The confusion matrix as rows (ground truth) of columns (prediction).
nlohmann::json confusion_json(const ConfusionMatrix& cm);

/// {"expected_images", "expected_from", "images_not_scored"}.
nlohmann::json coverage_json(const EvalCoverage& c);

/// Per-image CSV: id, pixels, pixel_accuracy, mean_iou, mean_precision, mean_recall.
std::string images_csv(const std::vector<ImageMetrics>& images);

/// Per-image JSON: [{"id", "pixels", "pixel_accuracy", "mean_iou", "mean_precision",
/// "mean_recall", "iou": {class name: IoU of the classes in the image}}].
nlohmann::json images_json(const std::vector<ImageMetrics>& images,
                           const std::vector<std::string>& names);

/// The per-image CSV beside a JSON report: <json without extension>_images.csv ("" if no JSON).
std::string images_csv_path(const std::string& json);

/// The help paragraph of the metrics both commands report (what FP and FN shares are, the
/// per-image outputs, where the classes come from).
extern const char* const kEvalMetricsHelp;

/// [{"id": ..., "error": ...}, ...]
nlohmann::json failures_json(const std::vector<EvalFailure>& failures);

}  // namespace pm::cli
