// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "pseudomask/core/common/image.h"
#include "pseudomask/core/common/planes.h"
#include "pseudomask/core/crf/lattice.h"

namespace pm {

/// How a kernel is normalised (the reference's NormalizationType). With n_i = Σ_j k(f_i, f_j):
enum class Normalization {
  kNone,       ///< k unchanged
  kBefore,     ///< k(i,j) / n_j
  kAfter,      ///< k(i,j) / n_i
  kSymmetric,  ///< k(i,j) / sqrt(n_i · n_j)   (the reference's default, used by every WSSS code)
};

/// One pairwise term of the fully-connected CRF (Krähenbühl & Koltun 2011, Eq. 3):
/// k(f_i, f_j) = exp(−|p_i − p_j|² / 2·sxy² − |I_i − I_j|² / 2·srgb²), with a label
/// compatibility μ. srgb = 0 makes it the "smoothness" kernel on positions only.
struct PairwiseTerm {
  float sxy = 3.0f;   ///< spatial standard deviation, pixels
  float srgb = 0.0f;  ///< colour standard deviation (0..255 units); 0 = Gaussian kernel
  float weight =
      3.0f;  ///< Potts compatibility w: μ(l, l') = w·[l ≠ l'] (the "compat" of pydensecrf)
  /// Optional full label compatibility, M×M row-major, used instead of Potts for CRFs with M
  /// labels (symmetrised as (m + mᵀ)/2). As in the reference, μ here is an energy added as
  /// μ·K̃Q, so Potts w equals the matrix −w·I.
  std::vector<float> compat;
  Normalization normalization = Normalization::kSymmetric;

  bool bilateral() const { return srgb > 0.0f; }
};

/// The CRF parameter sets of the WSSS codes (Gaussian sxy/w, bilateral sxy/srgb/w).
enum class CrfPreset {
  kDeepLab,  ///< Gaussian 3/3, bilateral 80/13/10: DeepLab, PMM's PPMG, ORANDNet's crf_refine
  kUrn,      ///< Gaussian 1/3, bilateral 67/3/4: URN/PMM segmentation
  kIrn,      ///< Gaussian 3/3, bilateral 50/5/10: IRN's crf_inference_label
};
/// The preset's name ("deeplab", "urn", "irn").
const char* crf_preset_name(CrfPreset preset);

/// A CRF model: its pairwise terms (in the order they are added, which fixes the float order)
/// and the number of mean-field iterations.
struct CrfParams {
  std::vector<PairwiseTerm> terms;
  int iterations = 10;

  /// The parameters of a preset: its Gaussian term, then its bilateral term; 10 iterations.
  static CrfParams preset(CrfPreset preset);
  /// Throws pm::Error naming the bad field (e.g. CrfParams::terms[1].sxy) and value.
  void validate() const;
};

/// Unary energies of one CRF: (labels, H, W) planes, the label-major layout setUnaryEnergy
/// takes.
using Unary = Planes;

/// The output of one CRF.
struct CrfResult {
  int labels = 0;
  /// Marginals Q, (labels, H, W), each pixel's column summing to 1; empty when the caller asked
  /// for labels only (CrfOutputs::kLabels).
  Planes q;
  LabelMap map;  ///< argmax_l Q (lowest label wins ties)
};

/// What infer() returns besides the label map.
enum class CrfOutputs {
  kLabelsAndMarginals,  ///< map and Q
  kLabels,              ///< map only (saves an (M, N) buffer per CRF; URN's scaled CRFs need no Q)
};

/// Buffers of DenseCrf2D inference, reusable across calls so that many CRFs on one image (or on
/// many images in one thread) allocate once.
struct CrfWorkspace {
  std::vector<float> neg_unary;
  std::vector<float> q;
  std::vector<LatticeWorkspace> lattices;
};

/// A CRF's unary energies by reference: labels[l] points at label l's plane of H×W floats.
struct UnaryPlanes {
  std::vector<const float*> labels;
  int channels() const { return static_cast<int>(labels.size()); }
};

/// One pairwise kernel given by its features instead of an image (pydensecrf's generic
/// addPairwiseEnergy, and 2-D kernels with separate x/y or per-colour widths): the term's weight,
/// compat and normalization apply; its sxy and srgb are not used.
struct PairwiseFeatures {
  PairwiseTerm term;
  int dims = 0;                 ///< feature dimensions d, 1..16
  std::vector<float> features;  ///< pixel-major, n × d: feature k of pixel i at [i·d + k]
};

/// A dense CRF over one RGB image. The constructor builds one permutohedral lattice per pairwise
/// term (and its normalisation) once; infer() then runs any number of CRFs with any label counts
/// on that image, all sharing the lattices — URN runs 1 + K·6 CRFs per image this way.
class DenseCrf2D {
 public:
  /// `threads` > 1 builds the kernels' lattices side by side and is kept for infer() (see
  /// set_threads).
  DenseCrf2D(const RgbImage& image, CrfParams params, int threads = 1);
  /// A CRF over width×height pixels with kernels given by their features (already divided by
  /// their widths), in the order given; `iterations` mean-field steps. Throws pm::Error naming
  /// the kernel when a feature count is not width·height·dims or a feature lies beyond what the
  /// lattice resolves (PermutohedralLattice::max_resolved_feature).
  DenseCrf2D(int width,
             int height,
             std::vector<PairwiseFeatures> kernels,
             int iterations,
             int threads = 1);
  DenseCrf2D(const DenseCrf2D&) = delete;
  DenseCrf2D& operator=(const DenseCrf2D&) = delete;
  DenseCrf2D(DenseCrf2D&&) = default;

  int width() const { return width_; }
  int height() const { return height_; }
  const CrfParams& params() const { return params_; }
  /// Threads used within this image by infer() (default 1). Results are identical for any
  /// count; it pays on large images or when there are fewer images than cores.
  void set_threads(int threads) { threads_ = std::max(threads, 1); }
  int threads() const { return threads_; }
  /// Whether infer() may run a group's mean-field step with a specialised kernel
  /// (core/src/crf/kernels/, the default) or always with the plain step. The results are
  /// bit-identical either way; tests switch it off to prove that.
  void set_specialised_kernels(bool on) { specialised_kernels_ = on; }
  bool specialised_kernels() const { return specialised_kernels_; }

  /// Mean-field inference for one CRF.
  CrfResult infer(const Unary& unary,
                  CrfWorkspace* workspace = nullptr,
                  CrfOutputs outputs = CrfOutputs::kLabelsAndMarginals) const;

  /// Mean-field inference for a batch of CRFs sharing the lattices. CRFs are filtered together
  /// in groups of up to `max_group_channels` label channels (a memory/speed trade-off: one
  /// lattice traversal serves the whole group); results are identical to running each alone.
  std::vector<CrfResult> infer_batch(const std::vector<const Unary*>& batch,
                                     int max_group_channels = 48,
                                     CrfWorkspace* workspace = nullptr,
                                     CrfOutputs outputs = CrfOutputs::kLabelsAndMarginals) const;
  /// The same for unaries given as one plane pointer per label, each height() × width() floats,
  /// so that CRFs differing in a few labels share the others' planes (URN's scaled variants).
  std::vector<CrfResult> infer_batch(const std::vector<UnaryPlanes>& batch,
                                     int max_group_channels,
                                     CrfWorkspace* workspace,
                                     CrfOutputs outputs) const;

  /// `steps` mean-field iterations from the marginals `q` (labels, H, W) instead of from
  /// softmax(−U): pydensecrf's stepInference. Running k steps then m more gives the same bits as
  /// k + m at once. An empty q starts from softmax(−U), as infer() does. Throws when q's shape
  /// differs from the unary's.
  CrfResult continue_inference(const Unary& unary, const Planes& q, int steps) const;

  /// The KL divergence of marginals q from the CRF's distribution, up to a constant
  /// (Krähenbühl & Koltun 2011, Eq. 4; the reference's klDivergence): Σ q·log q + Σ U·q +
  /// Σ_k Σ q·μ_k(K̃_k q), summed in double. Lower is better; mean-field steps decrease it.
  double kl_divergence(const Unary& unary, const Planes& q) const;

  /// Bytes held by the lattices and normalisations.
  size_t memory_bytes() const;

 private:
  struct Kernel {
    PairwiseTerm term;
    PermutohedralLattice lattice;
    std::vector<float> norm_before;  // empty = 1
    std::vector<float> norm_after;   // empty = 1
  };
  void infer_group(const std::vector<UnaryPlanes>& group,
                   CrfWorkspace& ws,
                   CrfOutputs outputs,
                   std::vector<CrfResult>& out,
                   const Planes* initial_q = nullptr,
                   int iterations = -1) const;
  void check_unary_shape(const Unary& unary) const;

  int width_ = 0;
  int height_ = 0;
  CrfParams params_;
  std::vector<Kernel> kernels_;
  int threads_ = 1;
  bool specialised_kernels_ = true;
};

/// Features of a pairwise term at every pixel, pixel-major: (x/sxy, y/sxy) or
/// (x/sxy, y/sxy, R/srgb, G/srgb, B/srgb), x before y and R, G, B in that order, as the reference
/// computes them (feature order changes the lattice).
std::vector<float> crf_features(const RgbImage& image, const PairwiseTerm& term);

/// Unary from (C, H, W) probabilities: U = −log(clip(p, clip, 1)) (pydensecrf's
/// unary_from_softmax). Throws on NaN.
Unary unary_from_probabilities(const Planes& probs, float clip = 1e-5f);

/// Unary from a label map (pydensecrf's unary_from_labels): a pixel with label l gets energy
/// −log(gt_prob) for l and −log((1 − gt_prob)/(M − 1)) for the others. With zero_unsure, labels
/// are 1-based and 0 means "unknown" (energy log M for every label); otherwise labels are
/// 0..M−1. Computed in double and stored as float32. Labels out of range throw.
Unary unary_from_labels(const LabelMap& labels, int num_labels, double gt_prob, bool zero_unsure);

}  // namespace pm
