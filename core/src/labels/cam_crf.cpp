// SPDX-License-Identifier: MIT
#include "pseudomask/core/labels/cam_crf.h"

#include <algorithm>
#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/value_checks.h"
#include "pseudomask/core/labels/threshold.h"

namespace pm {
namespace {

// The CAMs must cover the CRF's image exactly, and hold finite values.
void check_cams_fit(const DenseCrf2D& crf, const Planes& cams, const std::string& name) {
  PM_CHECK(cams.height() == crf.height() && cams.width() == crf.width(),
           "{}: CAMs are {}x{}, the image is {}x{}",
           name,
           cams.width(),
           cams.height(),
           crf.width(),
           crf.height());
  check_finite(cams, name, "the CAM array");
}

void check_keys(const Planes& cams, const std::vector<int>& keys, const std::string& name) {
  PM_CHECK(static_cast<size_t>(cams.channels()) == keys.size(),
           "{}: CAMs {} do not match {} keys",
           name,
           cams.describe(),
           keys.size());
}

bool is_background(uint8_t v) {
  return v == 0;
}

}  // namespace

const char* background_model_name(BackgroundModel model) {
  switch (model) {
    case BackgroundModel::kPower:
      return "power";
    case BackgroundModel::kConstant:
      return "constant";
  }
  return "?";
}

void CamCrfOptions::validate() const {
  PM_CHECK(std::isfinite(alpha) && alpha > 0.0f, "CamCrfOptions::alpha must be > 0, got {}", alpha);
  PM_CHECK(std::isfinite(threshold) && threshold >= 0.0f && threshold <= 1.0f,
           "CamCrfOptions::threshold must be in [0, 1], got {}",
           threshold);
}

const char* uncertain_rule_name(UncertainRule rule) {
  switch (rule) {
    case UncertainRule::kIrn:
      return "irn";
    case UncertainRule::kAnyDisagreement:
      return "disagree";
  }
  return "?";
}

void ConfidentLabelOptions::validate() const {
  PM_CHECK(
      std::isfinite(conf_fg) && std::isfinite(conf_bg) && conf_bg >= 0.0f && conf_bg <= conf_fg &&
          conf_fg <= 1.0f,
      "ConfidentLabelOptions::conf_bg {} and conf_fg {} must satisfy 0 <= conf_bg <= conf_fg <= 1",
      conf_bg,
      conf_fg);
  PM_CHECK(gt_prob > 0.0 && gt_prob < 1.0,
           "ConfidentLabelOptions::gt_prob must be in (0, 1), got {}",
           gt_prob);
  PM_CHECK(uncertain_label == kIgnoreLabel || uncertain_label == 0,
           "the uncertain label must be 255 (ignore) or 0 (background), got {}",
           uncertain_label);
}

// The background map of CRF refinement: (1 − max_k cam_k)^α (ORANDNet crf_refine, after PSA's
// crf_with_alpha) or a constant plane at the threshold.
Planes background_and_cam_probabilities(const Planes& cams, const CamCrfOptions& options) {
  const size_t pixels = cams.pixels();
  const size_t k_count = static_cast<size_t>(cams.channels());
  Planes probs(cams.channels() + 1, cams.height(), cams.width());
  const float* src = cams.data();
  std::copy(src, src + k_count * pixels, probs.plane(1));
  float* background = probs.plane(0);
  if (options.background == BackgroundModel::kConstant) {
    std::fill_n(background, pixels, options.threshold);
    return probs;
  }
  const CamPeak peak = cam_peaks(cams);
  for (size_t p = 0; p < pixels; ++p) {
    const float rest = k_count ? std::clamp(1.0f - peak.value[p], 0.0f, 1.0f) : 1.0f;
    background[p] = std::pow(rest, options.alpha);
  }
  return probs;
}

LabelMap crf_labels_from_cams(const DenseCrf2D& crf,
                              const Planes& cams,
                              const std::vector<int>& keys,
                              const CamCrfOptions& options,
                              const std::string& name,
                              CrfWorkspace* workspace) {
  options.validate();
  check_keys(cams, keys, name);
  check_cams_fit(crf, cams, name);
  if (keys.empty())
    return LabelMap(crf.width(), crf.height(), 0);
  const Unary unary = unary_from_probabilities(background_and_cam_probabilities(cams, options));
  const CrfResult r = crf.infer(unary, workspace, CrfOutputs::kLabels);
  return local_labels_to_classes(r.map, keys, name);
}

LabelMap refine_labels_with_crf(const DenseCrf2D& crf,
                                const LabelMap& labels,
                                int num_labels,
                                double gt_prob,
                                CrfWorkspace* workspace) {
  PM_CHECK(labels.width == crf.width() && labels.height == crf.height(),
           "label map is {}x{}, the image is {}x{}",
           labels.width,
           labels.height,
           crf.width(),
           crf.height());
  const Unary unary = unary_from_labels(labels, num_labels, gt_prob, /*zero_unsure=*/false);
  return crf.infer(unary, workspace, CrfOutputs::kLabels).map;
}

LabelMap combine_confident_labels(const LabelMap& fg,
                                  const LabelMap& bg,
                                  UncertainRule rule,
                                  uint8_t uncertain_label) {
  PM_CHECK(fg.width == bg.width && fg.height == bg.height,
           "confident maps differ in size: {}x{} and {}x{}",
           fg.width,
           fg.height,
           bg.width,
           bg.height);
  LabelMap out = fg;
  for (size_t p = 0; p < out.labels.size(); ++p) {
    const uint8_t f = fg.labels[p], b = bg.labels[p];
    const bool uncertain =
        rule == UncertainRule::kIrn ? is_background(f) && !is_background(b) : f != b;
    if (uncertain)
      out.labels[p] = uncertain_label;
  }
  return out;
}

// IRN cam_to_ir_label.py: confident foreground at conf_fg and confident background at conf_bg,
// each thresholded (background wins ties) and refined by a label CRF with K + 1 labels.
ConfidentMaps confident_maps(const DenseCrf2D& crf,
                             const Planes& cams,
                             const ConfidentLabelOptions& options,
                             const std::string& name,
                             CrfWorkspace* workspace) {
  options.validate();
  check_cams_fit(crf, cams, name);
  const int labels = cams.channels() + 1;
  ConfidentMaps maps;
  if (labels == 1) {
    maps.fg = maps.bg = LabelMap(crf.width(), crf.height(), 0);
    return maps;
  }
  maps.fg = refine_labels_with_crf(
      crf, local_labels_from_cams(cams, options.conf_fg), labels, options.gt_prob, workspace);
  maps.bg = refine_labels_with_crf(
      crf, local_labels_from_cams(cams, options.conf_bg), labels, options.gt_prob, workspace);
  return maps;
}

LabelMap confident_labels_from_cams(const DenseCrf2D& crf,
                                    const Planes& cams,
                                    const std::vector<int>& keys,
                                    const ConfidentLabelOptions& options,
                                    const std::string& name,
                                    CrfWorkspace* workspace) {
  check_keys(cams, keys, name);
  const ConfidentMaps maps = confident_maps(crf, cams, options, name, workspace);
  return local_labels_to_classes(
      combine_confident_labels(maps.fg, maps.bg, options.rule, options.uncertain_label),
      keys,
      name);
}

}  // namespace pm
