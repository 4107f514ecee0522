// SPDX-License-Identifier: MIT
#include "common/eval_flags.h"

#include "pseudomask/core/datasets/classes.h"

namespace pm::cli {

void add_eval_flags(CLI::App* sub, EvalFlags& f) {
  sub->add_option("--gt", f.gt, "Ground-truth label PNG folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--list", f.list, "Image-id list (default: every input file)")
      ->check(CLI::ExistingFile);
  sub->add_option("--num-classes", f.num_classes, "Number of labels incl. background")
      ->capture_default_str()
      ->check(CLI::Range(1, 255));
  sub->add_option("--ignore", f.ignore, "Ground-truth label to skip")
      ->capture_default_str()
      ->check(CLI::Range(0, 255));
  sub->add_option("--classes",
                  f.classes,
                  "Class names: voc, coco, coco91 or a file (default by --num-classes)");
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

EvalOptions eval_options(const EvalFlags& f, Progress& progress) {
  EvalOptions o;
  o.num_classes = f.num_classes;
  o.ignore = f.ignore;
  o.official_orandnet = f.official_orandnet;
  o.keep_going = f.keep_going;
  o.jobs = f.jobs;
  o.progress = [&progress](size_t done, size_t) { progress.update(done); };
  return o;
}

std::vector<std::string> report_class_names(const EvalFlags& f, size_t count) {
  std::vector<std::string> names =
      f.classes.empty() ? default_class_names(f.num_classes) : load_class_names(f.classes);
  names.resize(count);
  return names;
}

nlohmann::json failures_json(const std::vector<EvalFailure>& failures) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : failures)
    out.push_back({{"id", f.id}, {"error", f.message}});
  return out;
}

}  // namespace pm::cli
