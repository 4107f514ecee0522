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
  int num_classes = 21;            ///< label ids 0..N-1
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

/// EvalOptions from the flags, reporting progress to `progress`.
EvalOptions eval_options(const EvalFlags& f, Progress& progress);

/// Class names for a report of `count` classes (from --classes or the default for --num-classes).
std::vector<std::string> report_class_names(const EvalFlags& f, size_t count);

/// [{"id": ..., "error": ...}, ...]
nlohmann::json failures_json(const std::vector<EvalFailure>& failures);

}  // namespace pm::cli
