// SPDX-License-Identifier: MIT
// ORANDNet's ensemble of two CAM sets (Park & Shim, "Precision matters", Eq. 1): the
// probabilistic OR and AND of the CAMs of two classifiers, and the naive mean ensemble.
#pragma once

#include <string>

#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/ndarray.h"

namespace pm {

/// The official code's shift of the second (ViT) CAM before combining, "compensating threshold
/// difference" (metadata/dataset.py:make_input_output).
constexpr float kOfficialSecondShift = 0.15f;
/// The epsilon of the official code's per-class max normalisation (module/simple_addition.py).
constexpr float kOfficialMaxEpsilon = 1e-5f;

/// How two CAMs are combined.
enum class EnsembleMode {
  kOr,    ///< probabilistic OR a + b − a·b (ORANDNet Eq. 1)
  kAnd,   ///< probabilistic AND a·b (ORANDNet Eq. 1)
  kMean,  ///< the naive ensemble (a + b) / 2
};

/// The mode's name: "or", "and" or "mean".
const char* ensemble_mode_name(EnsembleMode mode);

/// What to write as the stride-4 `cam` member of the result.
enum class LowResPolicy {
  kCombine,     ///< combine the inputs' `cam` members when both have one (else omit it)
  kDownsample,  ///< bilinear ÷4 of the combined high_res, (H−1)/4+1 (official make_orand.py)
  kNone,        ///< write high_res only
};

/// The policy's name: "combine", "downsample" or "none".
const char* low_res_policy_name(LowResPolicy policy);

/// Options of the ensemble.
struct EnsembleOptions {
  /// The operator.
  EnsembleMode mode = EnsembleMode::kOr;
  /// false (the paper): the result of every mode is divided by its per-class spatial maximum.
  /// true (the official code): kOfficialSecondShift (0.15) is added to the second CAM; OR/AND are
  /// not normalised; mean is module/simple_addition.py: ReLU((a + b + 0.15)/2) / (max + 1e-5).
  bool official = false;
  /// The `cam` member of the result.
  LowResPolicy low_res = LowResPolicy::kCombine;
};

/// ORANDNet Eq. 1 (OR): a + b − a⊙b, elementwise. a, b: of one shape.
Planes probabilistic_or(const Planes& a, const Planes& b);

/// ORANDNet Eq. 1 (AND): a⊙b, elementwise. a, b: of one shape.
Planes probabilistic_and(const Planes& a, const Planes& b);

/// The naive ensemble: (a + b) / 2, elementwise. a, b: of one shape.
Planes mean_ensemble(const Planes& a, const Planes& b);

/// ORANDNet Eq. 1's denominators: divides each class plane by (its spatial maximum + eps), in
/// place. A plane whose maximum is not positive is left as it is (an all-zero class stays zero,
/// never NaN).
void normalize_by_class_max(Planes& planes, float eps = 0.0f);

/// Combines two aligned (K, H, W) CAM stacks with `options` (operator, normalisation, the
/// official shift). Channel k of a and b must be the same class.
Planes combine_cams(const Planes& a, const Planes& b, const EnsembleOptions& options);

/// Brings `b` onto `a`'s layout: channels reordered to a's keys (the key sets must be equal),
/// and each member (high_res, cam) resized bilinearly to a's size where the sizes differ.
/// Members that `a` lacks are dropped. Errors name both files (name_a, name_b). Sets *resized
/// when any member had to be resized.
CamFile align_cams(const CamFile& a,
                   const CamFile& b,
                   const std::string& name_a,
                   const std::string& name_b,
                   bool* resized = nullptr);

/// The ensemble of two CAM files of one image (ORANDNet Eq. 1 or the mean): `b` is aligned to
/// `a` (align_cams), then high_res is combined when both have one, and `cam` as
/// options.low_res says. One file with high_res and the other without is an error, as is a
/// result with no member at all. Every input value must be finite.
CamFile ensemble_cams(const CamFile& a,
                      const CamFile& b,
                      const EnsembleOptions& options,
                      const std::string& name_a,
                      const std::string& name_b,
                      bool* resized = nullptr);

}  // namespace pm
