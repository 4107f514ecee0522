// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"
#include "pseudomask/core/common/value_checks.h"  // check_probabilities
#include "pseudomask/core/crf/dense_crf.h"

// URN (Li et al., AAAI 2022): uncertainty estimation via response scaling. Each step cites the
// paper's equation: X = F_S(I) (Eq. 4, the probabilities passed in), channel selection X̄ (Eq. 5),
// response scaling P (Eq. 6), CRF (Eq. 7), argmax M̄ (Eq. 8), variance over scales (Eq. 9), max
// over classes and min-max normalisation U (Eq. 10), W = 1 − U (Eq. 11), the weight mask Y
// (Eq. 12) and the weighted loss (Eq. 13, nn/seg/seg_loss.h). Where the official code differs
// from the paper (population variance, W stored as a byte, t ≤ comparison), the code is followed
// and the comment says so.

namespace pm {

/// How the uncertainty becomes the per-pixel loss weight Y. Every mode derives Y from one byte per
/// pixel, the "weight byte" G that the official 3-channel PNG stores in its G and R channels, so
/// that Y can be recomputed from the file, the mode and t alone.
enum class UrnWeightMode {
  kHard,  ///< URN Eq. 12 as the official code: G = W8 = uint8((1 − U)·255); Y = t where G/255 ≤ t,
          ///< else 1
  kSoft,  ///< G = W8; Y = max(G/255, t) (W itself, floored at t)
  kProb,  ///< URN Table 5 baseline: G = uint8(P_{M_c}·255), the model's (detached) probability
          ///< of the pseudo-label; Y = G/255. No response scaling is run.
};

/// The mode's name ("hard", "soft", "prob").
const char* urn_weight_mode_name(UrnWeightMode mode);

/// The datasets of URN's official settings (their response scales).
enum class UrnDataset {
  kVoc,   ///< PASCAL VOC: scales {0.15, 0.2, 0.25, 4, 5, 6}
  kCoco,  ///< MS COCO: scales {0.4, 0.5, 0.6, 2, 3, 4}
};
/// The dataset's name ("voc", "coco").
const char* urn_dataset_name(UrnDataset dataset);

/// Options of the URN uncertainty pass, with the official defaults (VOC).
struct UrnOptions {
  /// Response scales S (URN Eq. 6): each present class's probability is raised to each s_n
  /// (VOC set).
  std::vector<float> scales = {0.15f, 0.2f, 0.25f, 4.0f, 5.0f, 6.0f};
  float threshold = 0.05f;                    ///< t of URN Eq. 12: the weight of uncertain pixels
  UrnWeightMode mode = UrnWeightMode::kHard;  ///< how U becomes Y
  /// URN's CRF (Eq. 7): Gaussian 1/3, bilateral 67/3/4.
  CrfParams crf = CrfParams::preset(CrfPreset::kUrn);
  float prob_clip = 1e-5f;  ///< unary −log(clip(p, prob_clip, 1))
  /// Label channels filtered per lattice traversal by the scaled CRFs (speed/memory trade-off;
  /// results do not depend on it). Each channel costs its −U and Q rows and one row per lattice
  /// vertex and kernel (about 4 MB on a 500×375 image; the blur runs in place). 40 keeps a whole
  /// URN job at or below the reference densecrf's 225 MiB on the VOC sample (K = 3: 203 MB;
  /// K = 5: 222 MB; the first build of this needed 517 MiB) at the speed of 48; 24 needs about
  /// 150 MB and is up to 30 % slower on images with five classes.
  int max_group_channels = 40;

  /// The official settings of a dataset (URN paper, Implementation details: the scales S of
  /// Eq. 6); t = 0.05 and URN's CRF for both.
  static UrnOptions preset(UrnDataset dataset);
  /// Throws pm::Error naming the bad field (e.g. UrnOptions::threshold) and value.
  void validate() const;
};

/// The output of the URN pass on one image. All maps are W×H, row-major.
struct UrnResult {
  LabelMap cyclic_mask;          ///< M_c: argmax of the CRF over all C classes
  std::vector<uint8_t> present;  ///< the classes present in M_c, ascending (K = size)
  /// U ∈ [0, 1] after per-image min-max normalisation, float64 as in the official numpy code
  /// (empty in prob mode).
  std::vector<double> uncertainty;
  WeightMap weight_byte;        ///< G: W8 (hard, soft) or uint8(P_{M_c}·255) (prob)
  Planes weight;                ///< Y, (1, H, W) (see UrnWeightMode)
  size_t uncertain_pixels = 0;  ///< pixels with G/255 ≤ t (Y = t in hard mode)

  /// uncertain_pixels / pixels.
  double uncertain_fraction() const;
};

/// Reads the probability map of one image for URN: a .npy (C, H, W) or (C, H·W), float16/32/64,
/// as (C, H, W) float32 planes; with `logits`, a softmax over C first. Throws naming the file when
/// the shape does not fit the width×height image, when C differs from `expected_classes` (> 0),
/// when C is outside 2..255, or when values are not probabilities (check_probabilities).
Planes read_urn_probabilities(
    const std::string& path, int width, int height, bool logits, int expected_classes);

/// The classes present in a label map (the official code's set of labels in M_c, background
/// included), ascending. Ignore (255) is never produced by a CRF and is not listed.
std::vector<uint8_t> present_classes(const LabelMap& mask);

/// URN Eq. 6, response scaling of one channel: out = x[channel]^s, (1, H, W) (element-wise
/// float32 power, as numpy computes it). `out` is reshaped if needed, so a loop can reuse it.
void raise_channel(const Planes& x, int channel, float s, Planes& out);

/// URN Eq. 5–6, channel selection and response scaling: the K-channel probability map of one
/// variant: channel k is X̄_k = P_{present[k]}, except channel `scaled` which is X̄_{scaled}^s
/// (element-wise power, float32 as numpy computes it). Not renormalised.
Planes scale_response(const Planes& probs,
                      const std::vector<uint8_t>& present,
                      int scaled,
                      float s);

/// Population variance (ddof = 0) of n values, in numpy's order of operations: mean = Σx / n,
/// then Σ(x − mean)² / n, in float64.
double population_variance(const double* values, int n);

/// URN Eq. 9, variance over scales: V_c per pixel from the number of scales (out of `samples`)
/// at which the pixel's binary mask B_{c,n} = [M̄_{c,n} = c] is 1: the population variance of
/// `ones` ones and `samples − ones` zeros (ddof = 0 as the official numpy code; Eq. 9 prints
/// 1/(N − 1)).
std::vector<double> variance_over_scales(const std::vector<uint8_t>& ones, int samples);

/// URN Eq. 10, its Max: U_raw = max_c V_c, pixel-wise. Each V_c has the same length.
std::vector<double> max_over_classes(const std::vector<std::vector<double>>& variances);

/// URN Eq. 10, its Norm, per image: U = (U_raw − min) / (max − min + 1e−6). A constant map
/// (including K = 1) gives U = 0 everywhere, i.e. every pixel certain — as the official code.
std::vector<double> min_max_normalise(const std::vector<double>& raw);

/// URN Eq. 11, W = 1 − U, stored as the official code's byte: W8 = uint8((1 − U)·255),
/// truncated as numpy's astype(uint8).
uint8_t weight_byte_from_uncertainty(double u);

/// URN Eq. 12, the official loss weight: t where W8/255 ≤ t (float32 comparison, as torch; the
/// paper writes W < t), else 1.
float hard_weight(uint8_t weight_byte, float t);
/// The soft weight: max(W8/255, t).
float soft_weight(uint8_t weight_byte, float t);
/// The probability baseline: G/255 with G = uint8(P·255).
float prob_weight(uint8_t weight_byte);
/// The weight byte of the probability baseline: uint8(p·255), truncated.
uint8_t weight_byte_from_probability(float p);
/// Y of a weight byte under `mode`.
float weight_from_byte(uint8_t weight_byte, UrnWeightMode mode, float t);
/// Whether a pixel counts as uncertain: G/255 ≤ t (float32).
bool is_uncertain(uint8_t weight_byte, float t);

/// The raw uncertainty U_raw = max_c Var_n[B_{c,n}] (URN Eq. 5–10 before Norm): for every present
/// class c and scale s_n, the CRF (Eq. 7) over the K-channel response-scaled map (Eq. 6,
/// scale_response) and its argmax (Eq. 8) give the binary mask B_{c,n} = [argmax == c]. All K·N
/// CRFs run through `crf`'s shared lattices (infer_batch).
/// probs: (C, H, W) of the image `crf` was built on; present: classes of M_c. K = 1 gives
/// zeros without running a CRF (a 1-label CRF's argmax is 0 everywhere, so the variance is 0).
std::vector<double> response_scaling_uncertainty(const DenseCrf2D& crf,
                                                 const Planes& probs,
                                                 const std::vector<uint8_t>& present,
                                                 const UrnOptions& options,
                                                 CrfWorkspace* workspace = nullptr);

/// The whole URN pass on one image: M_c from the C-label CRF over `probs` (X of Eq. 4), then
/// (hard, soft) the response-scaling uncertainty, normalisation (Eq. 5–10), weight byte (Eq. 11)
/// and Y (Eq. 12), or (prob) Y from P_{M_c}.
/// probs: (C, H, W) probabilities for the image `crf` was built on, 2 ≤ C ≤ 255. The result
/// does not depend on crf.threads().
UrnResult compute_urn(const DenseCrf2D& crf,
                      const Planes& probs,
                      const UrnOptions& options,
                      CrfWorkspace* workspace = nullptr);

}  // namespace pm
