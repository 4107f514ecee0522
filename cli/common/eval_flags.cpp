// SPDX-License-Identifier: MIT
#include "common/eval_flags.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/datasets/classes.h"

namespace pm::cli {

void add_eval_flags(CLI::App* sub, EvalFlags& f) {
  sub->add_option("--gt", f.gt, "Ground-truth label PNG folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--list", f.list, "Image-id list (default: every input file)")
      ->check(CLI::ExistingFile);
  sub->add_option("--num-classes",
                  f.num_classes,
                  "Number of labels incl. background (default: the dataset's classes.txt, else 21)")
      ->check(CLI::Range(1, 255));
  sub->add_option("--ignore", f.ignore, "Ground-truth label to skip")
      ->capture_default_str()
      ->check(CLI::Range(0, 255));
  sub->add_option("--classes",
                  f.classes,
                  "Class names: voc, coco, coco91 or a file (default: the classes.txt beside the "
                  "ground truth)");
  sub->add_option("--json", f.json, "Write a JSON report");
  sub->add_option("--jobs", f.jobs, "Threads (0 = all cores); results do not depend on it")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--keep-going", f.keep_going, "Skip bad images, list them and exit with 3");
  sub->add_flag("--official-orandnet",
                f.official_orandnet,
                "Reproduce the ORANDNet code's 20-class metric (tvmonitor dropped)");
  sub->add_flag("--quiet", f.quiet, "No progress output");
}

const char* const kEvalMetricsHelp =
    "Classes: --classes, else the dataset's classes.txt in the ground-truth folder or up to two\n"
    "folders above it (VOC/COCO layouts, `pseudomask synth`), else --num-classes, else VOC's 21;\n"
    "the report says which. A label or CAM key beyond the class count is an error.\n"
    "Per class c over the union U = TP + FP + FN of its pixels: IoU = TP/U, precision =\n"
    "TP/(TP+FP), recall = TP/(TP+FN), FP share = FP/U (pixels wrongly labelled c), FN share =\n"
    "FN/U (pixels of c labelled otherwise); IoU + FP share + FN share = 1.\n"
    "--json writes the means, per-class figures, the confusion matrix (rows ground truth,\n"
    "columns prediction) and per-image metrics; beside it <json>.csv (per class) and\n"
    "<json>_images.csv (per image: pixels, pixel accuracy, mIoU, mean precision/recall over the\n"
    "classes in that image). Without --list, a warning says when fewer images were scored than\n"
    "the ground truth holds.";

EvalClasses eval_classes(const EvalFlags& f) {
  EvalClasses c;
  if (!f.classes.empty()) {
    c.names = load_class_names(f.classes);
    c.source = "--classes " + f.classes;
  } else if (DatasetClasses found = find_dataset_classes(f.gt); !found.names.empty()) {
    c.names = std::move(found.names);
    c.source = found.source;
  } else if (f.num_classes > 0) {
    c.names = default_class_names(f.num_classes);
    c.source = fmt::format("--num-classes {}", f.num_classes);
    return c;
  } else {
    c.names = voc_class_names();
    c.source = "VOC (no classes.txt beside the ground truth)";
    return c;
  }
  PM_CHECK(f.num_classes <= 0 || static_cast<size_t>(f.num_classes) == c.names.size(),
           "--num-classes {} but {} names {} classes",
           f.num_classes,
           c.source,
           c.names.size());
  return c;
}

EvalOptions eval_options(const EvalFlags& f, const EvalClasses& classes, Progress& progress) {
  EvalOptions o;
  o.num_classes = static_cast<int>(classes.names.size());
  o.ignore = f.ignore;
  o.official_orandnet = f.official_orandnet;
  o.keep_going = f.keep_going;
  o.jobs = f.jobs;
  o.progress = [&progress](size_t done, size_t) { progress.update(done); };
  return o;
}

std::vector<std::string> report_class_names(const EvalClasses& classes, size_t count) {
  std::vector<std::string> names = classes.names;
  names.resize(count);
  return names;
}

nlohmann::json classes_json(const EvalClasses& classes) {
  return {{"count", classes.names.size()}, {"source", classes.source}};
}

EvalCoverage eval_coverage(const EvalFlags& f, size_t listed, size_t scored) {
  EvalCoverage c;
  c.scored = scored;
  if (!f.list.empty()) {
    c.expected = listed;
    c.of = "listed";
  } else {
    c.expected = list_files(f.gt, {".png"}).size();
    c.of = "ground-truth";
  }
  if (c.scored < c.expected) {
    std::fprintf(stderr,
                 "warning: %zu of the %zu %s images were scored; %zu have no prediction or "
                 "failed%s\n",
                 c.scored,
                 c.expected,
                 c.of.c_str(),
                 c.expected - c.scored,
                 f.list.empty() ? " (give --list to require every listed image)" : "");
  }
  return c;
}

nlohmann::json coverage_json(const EvalCoverage& c) {
  return {{"expected_images", c.expected},
          {"expected_from", c.of},
          {"images_not_scored", c.expected > c.scored ? c.expected - c.scored : 0}};
}

nlohmann::json confusion_json(const ConfusionMatrix& cm) {
  nlohmann::json rows = nlohmann::json::array();
  for (int g = 0; g < cm.num_classes(); ++g) {
    nlohmann::json row = nlohmann::json::array();
    for (int p = 0; p < cm.num_classes(); ++p)
      row.push_back(cm.at(g, p));
    rows.push_back(row);
  }
  return rows;
}

namespace {

nlohmann::json number_or_null(double v) {
  return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
}

std::string csv_number(double v) {
  return std::isnan(v) ? std::string() : fmt::format("{:.6f}", v);
}

}  // namespace

std::string images_csv(const std::vector<ImageMetrics>& images) {
  std::string out = "id,pixels,pixel_accuracy,mean_iou,mean_precision,mean_recall\n";
  for (const ImageMetrics& i : images) {
    const Metrics& m = i.metrics;
    out += fmt::format("{},{},{},{},{},{}\n",
                       i.id,
                       m.pixels,
                       csv_number(m.pixel_accuracy),
                       csv_number(m.mean_iou),
                       csv_number(m.mean_precision),
                       csv_number(m.mean_recall));
  }
  return out;
}

nlohmann::json images_json(const std::vector<ImageMetrics>& images,
                           const std::vector<std::string>& names) {
  nlohmann::json out = nlohmann::json::array();
  for (const ImageMetrics& i : images) {
    const Metrics& m = i.metrics;
    nlohmann::json iou = nlohmann::json::object();
    for (size_t c = 0; c < m.classes.size(); ++c) {
      if (!std::isnan(m.classes[c].iou))
        iou[c < names.size() ? names[c] : std::to_string(c)] = m.classes[c].iou;
    }
    out.push_back({{"id", i.id},
                   {"pixels", m.pixels},
                   {"pixel_accuracy", number_or_null(m.pixel_accuracy)},
                   {"mean_iou", number_or_null(m.mean_iou)},
                   {"mean_precision", number_or_null(m.mean_precision)},
                   {"mean_recall", number_or_null(m.mean_recall)},
                   {"iou", iou}});
  }
  return out;
}

std::string images_csv_path(const std::string& json) {
  if (json.empty())
    return {};
  std::filesystem::path p(json);
  return (p.parent_path() / (p.stem().string() + "_images.csv")).string();
}

nlohmann::json failures_json(const std::vector<EvalFailure>& failures) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : failures)
    out.push_back({{"id", f.id}, {"error", f.message}});
  return out;
}

}  // namespace pm::cli
