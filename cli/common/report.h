// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

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

}  // namespace pm::cli
