// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/eval/confusion.h"

namespace pm::cli {

/// Metrics as JSON: means, pixel accuracy and one object per class (NaN → null).
nlohmann::json metrics_json(const Metrics& m, const std::vector<std::string>& class_names);

/// A Markdown table of per-class IoU / precision / recall / FP / FN shares with the means last;
/// classes absent from ground truth and predictions are listed as "-".
std::string metrics_table(const Metrics& m, const std::vector<std::string>& class_names);

/// The same per-class figures as CSV (one header line, one line per class, then "mean").
std::string metrics_csv(const Metrics& m, const std::vector<std::string>& class_names);

/// Writes pretty-printed JSON atomically.
void write_json(const std::string& path, const nlohmann::json& j);

/// "12.34" for a fraction 0.1234, "-" for NaN.
std::string percent(double fraction);

/// A float32 setting as the decimal the user wrote (0.15, not 0.15000000596046448).
double shortest(float v);

/// The CRF parameters of a summary: {"iterations": N, "terms": [{"sxy", "srgb", "compat",
/// "kind"}, ...]}, the one format of every command that runs a dense CRF.
nlohmann::json crf_params_json(const CrfParams& params);

}  // namespace pm::cli
