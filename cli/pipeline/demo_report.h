// SPDX-License-Identifier: MIT
#pragma once

// The demo's two result tables, built from the eval JSON files its steps wrote:
//  (1) pseudo-mask quality on the training images (ORANDNet Table 1 analogue);
//  (2) segmentation mIoU on val per training variant (URN Table 5, ORANDNet's scale scheduling).
// One JSON document holds the results; the Markdown and HTML views are rendered from it.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "pipeline/demo_plan.h"
#include "pipeline/step_runner.h"

namespace pm::cli {

/// Reads the eval outputs under `c.out` into the results document:
/// {"config", "pseudo_masks": [...], "cyclic", "segmentation": [...], "steps": [...],
/// "step_seconds" (the steps' own times, summed), "wall_seconds" (this run, start to end)}.
/// Throws pm::Error naming a missing or unreadable eval file.
nlohmann::json collect_demo_results(const DemoConfig& c,
                                    const std::vector<StepResult>& steps,
                                    double wall_seconds);

/// The two tables in Markdown, with the per-step timings as a short line.
std::string demo_results_markdown(const nlohmann::json& results);

/// A self-contained HTML page: tables, SVG bar charts, the overlay figures in report/.
std::string demo_results_html(const nlohmann::json& results);

/// Mean and sample standard deviation (0 for one value).
std::pair<double, double> mean_and_std(const std::vector<double>& values);

}  // namespace pm::cli
