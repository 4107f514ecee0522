// SPDX-License-Identifier: MIT
// Pseudo-masks from CAMs refined with a dense CRF: ORANDNet's crf_refine (a background map in
// front of the CAMs, probability unary) and IRN's confident-region labels (two thresholds, each
// refined by a label CRF, "ignore" between them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"
#include "pseudomask/core/common/ndarray.h"
#include "pseudomask/core/crf/dense_crf.h"

namespace pm {

/// The background map put in front of the CAMs for CRF refinement.
enum class BackgroundModel {
  kPower,     ///< bg = (1 − max_k cam_k)^α (ORANDNet crf/crf_refine.py and PSA/IRN, α = 4)
  kConstant,  ///< bg = threshold at every pixel (the plane of IRN-style thresholding)
};

/// The model's name: "power" or "constant".
const char* background_model_name(BackgroundModel model);

/// Options of CRF refinement of CAMs.
struct CamCrfOptions {
  BackgroundModel background = BackgroundModel::kPower;
  /// Exponent of the power background; larger α gives the background less weight.
  float alpha = 4.0f;
  /// The constant background's value.
  float threshold = 0.25f;
  /// Throws pm::Error naming the bad value (α ≤ 0, threshold outside [0, 1], non-finite).
  void validate() const;
};

/// Background plus CAM probabilities, (K+1, H, W) planes: plane 0 is the background
/// map, planes 1..K the CAMs as they are (not renormalised, as ORANDNet's crf_refine does). For
/// the power model 1 − max_k cam_k is clamped to [0, 1] first, so CAMs above 1 (the official
/// OR reaches 1.15) give background 0, never NaN. cams: (K, H, W).
Planes background_and_cam_probabilities(const Planes& cams, const CamCrfOptions& options);

/// ORANDNet crf_refine: a CRF on `crf`'s image with unary −log(clip(p, 1e−5, 1)) of
/// background_and_cam_probabilities, argmax (background wins ties), channel k → label
/// keys[k] + 1. cams: (K, H, W) at the CRF's image size; `name` starts errors.
LabelMap crf_labels_from_cams(const DenseCrf2D& crf,
                              const Planes& cams,
                              const std::vector<int>& keys,
                              const CamCrfOptions& options,
                              const std::string& name,
                              CrfWorkspace* workspace = nullptr);

/// Where IRN-mode labels become "uncertain".
enum class UncertainRule {
  /// IRN cam_to_ir_label.py: the fg map's label, except uncertain where the fg map says
  /// background and the bg map says foreground (both background → background).
  kIrn,
  /// Uncertain wherever the two refined maps differ; agreed labels are kept.
  kAnyDisagreement,
};

/// The rule's name: "irn" or "disagree".
const char* uncertain_rule_name(UncertainRule rule);

/// Options of IRN's confident-region labels.
struct ConfidentLabelOptions {
  /// Background plane of the confident-foreground map (IRN conf_fg_thres).
  float conf_fg = 0.30f;
  /// Background plane of the confident-background map (IRN conf_bg_thres); below conf_fg.
  float conf_bg = 0.05f;
  /// Label-CRF unary: probability of the given label (IRN's crf_inference_label gt_prob).
  double gt_prob = 0.7;
  /// Which pixels are uncertain.
  UncertainRule rule = UncertainRule::kIrn;
  /// The label written at uncertain pixels: 255 (ignore, IRN) or 0 (background).
  uint8_t uncertain_label = kIgnoreLabel;
  /// Throws pm::Error naming the bad value.
  void validate() const;
};

/// Refines a label map with a label CRF (IRN's crf_inference_label): unary_from_labels with
/// gt_prob over num_labels labels (0..num_labels−1, no "unknown"), then the argmax of the CRF.
LabelMap refine_labels_with_crf(const DenseCrf2D& crf,
                                const LabelMap& labels,
                                int num_labels,
                                double gt_prob,
                                CrfWorkspace* workspace = nullptr);

/// Combines the refined confident-foreground and confident-background maps (same size) by
/// `rule`; uncertain pixels get `uncertain_label`.
LabelMap combine_confident_labels(const LabelMap& fg,
                                  const LabelMap& bg,
                                  UncertainRule rule,
                                  uint8_t uncertain_label);

/// The two refined maps of IRN's confident-region labels, in local labels (0 = background,
/// k + 1 = channel k).
struct ConfidentMaps {
  LabelMap fg;  ///< threshold conf_fg, then the label CRF
  LabelMap bg;  ///< threshold conf_bg, then the label CRF
};

/// IRN cam_to_ir_label.py step 1: both thresholded maps, each refined by a label CRF with
/// K+1 labels. cams: (K, H, W) at the CRF's image size; `name` starts errors.
ConfidentMaps confident_maps(const DenseCrf2D& crf,
                             const Planes& cams,
                             const ConfidentLabelOptions& options,
                             const std::string& name,
                             CrfWorkspace* workspace = nullptr);

/// IRN's confident-region pseudo-mask: confident_maps, combined by options.rule, local labels
/// mapped through keys (k + 1 → keys[k] + 1). Use CrfParams::preset(CrfPreset::kIrn) for IRN's CRF.
LabelMap confident_labels_from_cams(const DenseCrf2D& crf,
                                    const Planes& cams,
                                    const std::vector<int>& keys,
                                    const ConfidentLabelOptions& options,
                                    const std::string& name,
                                    CrfWorkspace* workspace = nullptr);

}  // namespace pm
