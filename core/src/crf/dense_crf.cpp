// SPDX-License-Identifier: MIT
// The fully-connected CRF model (Krähenbühl & Koltun 2011): its parameters and presets, unaries,
// the grouping of a batch of CRFs into shared lattice traversals, and mean-field inference
// (Algorithm 1) with the reference's float order: Q⁰ = softmax(−U); each iteration
// E = −U − Σ_k μ_k(K̃_k Q) (Potts: E = −U + Σ_k w_k·K̃_k Q), Q = softmax(E). The step reads as the
// paper in mean_field_step; kernels/ holds specialised copies of it, each bit-identical.
#include "pseudomask/core/crf/dense_crf.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "buffer.h"
#include "kernels/potts_batch.h"
#include "kernels/potts_single.h"
#include "mean_field.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/parallel.h"
#include "simd8.h"
#include "slice.h"

namespace pm {
namespace {

using detail::KernelView;
using detail::kPrefetchAhead;
using detail::prefetch_corner_rows;
using detail::Segment;

// Per-pixel kernel normalisation from n_i = (K·1)_i, as the reference computes it.
void make_normalisation(const PermutohedralLattice& lattice,
                        Normalization mode,
                        size_t n,
                        std::vector<float>& before,
                        std::vector<float>& after) {
  if (mode == Normalization::kNone)
    return;
  std::vector<float> ones(n, 1.0f), sums(n);
  LatticeWorkspace ws;
  lattice.filter(ones.data(), 1, sums.data(), ws);
  std::vector<float> norm(n);
  for (size_t i = 0; i < n; ++i) {
    norm[i] = mode == Normalization::kSymmetric
                  ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(sums[i]) + 1e-20))
                  : static_cast<float>(1.0 / (static_cast<double>(sums[i]) + 1e-20));
  }
  if (mode == Normalization::kSymmetric || mode == Normalization::kBefore)
    before = norm;
  if (mode == Normalization::kSymmetric || mode == Normalization::kAfter)
    after = std::move(norm);
}

// Adds a kernel's message to a pixel's energies (Krähenbühl & Koltun 2011, Algorithm 1, the
// compatibility transform): Potts E += w·m, or a full matrix E −= μ·m with μ symmetrised.
PM_ALWAYS_INLINE void add_message(const KernelView& k,
                                  const Segment* segs,
                                  size_t ns,
                                  size_t ch,
                                  const float* __restrict message,
                                  float after,
                                  float* __restrict energy) {
  if (!k.compat) {  // padding channels carry 0 messages, so the whole row can be updated
    for (size_t c = 0; c < ch; c += kChannelBlock) {
      detail::store8(energy + c,
                     detail::load8(energy + c) + k.weight * (detail::load8(message + c) * after));
    }
    return;
  }
  for (size_t s = 0; s < ns; ++s) {
    const int o = segs[s].offset, m = segs[s].labels;
    for (int l = 0; l < m; ++l) {
      float acc = 0.0f;
      for (int j = 0; j < m; ++j) {
        const float mu = 0.5f * (k.compat[l * m + j] + k.compat[j * m + l]);
        acc += mu * (message[o + j] * after);
      }
      energy[o + l] -= acc;
    }
  }
}

// The largest row a group may have (channels, padded).
constexpr size_t kMaxRowChannels = 512;

// Masked max of m values starting at p (blocks relative to p, lanes past m ignored).
PM_ALWAYS_INLINE float segment_max(const float* __restrict p, int m) {
  const detail::i8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  detail::f8 mx = detail::splat8(-1e30f);
  for (int l = 0; l < m; l += static_cast<int>(kChannelBlock)) {
    const detail::f8 v = detail::load8(p + l);
    mx = ((lane < m - l) & (v > mx)) ? v : mx;
  }
  return detail::horizontal_max(mx);
}

// Masked sum of m values starting at p: lane-wise over blocks relative to p, then pairwise. The
// order depends only on m, not on where the segment sits in a row, so a CRF gives the same bits
// alone or batched.
PM_ALWAYS_INLINE float segment_sum(const float* __restrict p, int m) {
  const detail::i8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  detail::f8 sum = detail::splat8(0.0f);
  for (int l = 0; l < m; l += static_cast<int>(kChannelBlock)) {
    sum += (lane < m - l) ? detail::load8(p + l) : detail::splat8(0.0f);
  }
  return detail::horizontal_sum(sum);
}

// Softmax of every segment of one padded row in place: per segment subtract its max,
// exponentiate, divide by its sum. The exponentials run over the whole row in 8-lane blocks, so
// a row of many small CRFs costs no more than one CRF with as many labels. Padding channels stay 0.
PM_ALWAYS_INLINE void softmax_row(float* __restrict row,
                                  size_t ch,
                                  const Segment* segs,
                                  size_t ns) {
  const detail::i8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  alignas(32) float buf[kMaxRowChannels + kChannelBlock];
  if (ns == 1) {  // one CRF: the same arithmetic with broadcast max and sum
    const int m = segs[0].labels;
    const detail::f8 top = detail::splat8(segment_max(row, m));
    for (size_t c = 0; c < ch; c += kChannelBlock) {
      detail::store8(buf + c, detail::exp8_nonpositive(detail::load8(row + c) - top));
    }
    const float total = segment_sum(buf, m);
    for (size_t c = 0; c < ch; c += kChannelBlock) {
      const detail::f8 q = detail::load8(buf + c) / total;
      detail::store8(row + c, (lane < m - static_cast<int>(c)) ? q : detail::splat8(0.0f));
    }
    return;
  }
  alignas(32) float shift[kMaxRowChannels];
  alignas(32) float denom[kMaxRowChannels];
  for (size_t c = 0; c < ch; c += kChannelBlock)
    detail::store8(buf + c, detail::load8(row + c));
  for (size_t c = 0; c < ch; ++c) {
    shift[c] = 0.0f;
    denom[c] = 1.0f;
  }
  for (size_t s = 0; s < ns; ++s) {
    const float top = segment_max(buf + segs[s].offset, segs[s].labels);
    for (int c = segs[s].offset; c < segs[s].offset + segs[s].labels; ++c)
      shift[c] = top;
  }
  for (size_t c = 0; c < ch; c += kChannelBlock) {
    detail::store8(buf + c,
                   detail::exp8_nonpositive(detail::load8(buf + c) - detail::load8(shift + c)));
  }
  const int used = segs[ns - 1].offset + segs[ns - 1].labels;
  for (size_t s = 0; s < ns; ++s) {
    const float total = segment_sum(buf + segs[s].offset, segs[s].labels);
    for (int c = segs[s].offset; c < segs[s].offset + segs[s].labels; ++c)
      denom[c] = total;
  }
  for (size_t c = 0; c < ch; c += kChannelBlock) {
    const detail::f8 q = detail::load8(buf + c) / detail::load8(denom + c);
    detail::store8(row + c, (lane < used - static_cast<int>(c)) ? q : detail::splat8(0.0f));
  }
}

// Softmax of every segment of every pixel row.
__attribute__((target_clones("avx512f", "avx2", "default"))) void softmax_rows(
    float* __restrict q, size_t n, size_t ch, const Segment* segs, size_t ns) {
  for (size_t p = 0; p < n; ++p)
    softmax_row(q + p * ch, ch, segs, ns);
}

// Message passing for pixel p (Krähenbühl & Koltun 2011, Algorithm 1): Q̃_i = Σ_j k(f_i, f_j)·Q_j,
// sliced out of the kernel's lattice, which holds the splatted and blurred Q.
PM_ALWAYS_INLINE void slice_message(
    const KernelView& kv, size_t p, size_t ch, SliceOrder order, float* __restrict message) {
  detail::slice_corners(kv.offsets + p * kv.d1,
                        kv.weights + p * kv.d1,
                        kv.d1,
                        kv.alpha,
                        kv.values,
                        ch,
                        order,
                        message);
}

// One mean-field iteration for pixels [p_begin, p_end) (Krähenbühl & Koltun 2011, Algorithm 1),
// once every kernel's lattice holds the splatted and blurred Q:
//   message passing          Q̃ᵐ_i = Σ_j kᵐ(f_i, f_j)·Q_j         slice_message
//   compatibility transform  Q̂_i = Σ_m μᵐ·Q̃ᵐ_i                   add_message (Potts: w·[l ≠ l'])
//   local update             E_i = −U_i − Q̂_i                      energies start at −U
//   normalise                Q_i = exp(E_i) / Σ_l exp(E_i(l))       softmax_row
// The new Q_i is written over the old one (the splats are done). This is the plain step: the
// specialised kernels of kernels/ give the same bits for the groups they serve.
__attribute__((target_clones("avx512f", "avx2", "default"))) void mean_field_step(
    size_t p_begin,
    size_t p_end,
    size_t ch,
    const float* __restrict neg_unary,
    float* __restrict q,
    const KernelView* kernels,
    size_t nk,
    const Segment* segs,
    size_t ns,
    SliceOrder order,
    float* __restrict message) {
  for (size_t p = p_begin; p < p_end; ++p) {
    prefetch_corner_rows(kernels, nk, p + kPrefetchAhead, p_end, ch);
    float* __restrict energy = q + p * ch;
    const float* __restrict u = neg_unary + p * ch;
    for (size_t c = 0; c < ch; c += kChannelBlock)
      detail::store8(energy + c, detail::load8(u + c));
    for (size_t k = 0; k < nk; ++k) {
      const KernelView& kv = kernels[k];
      slice_message(kv, p, ch, order, message);
      add_message(kv, segs, ns, ch, message, kv.after ? kv.after[p] : 1.0f, energy);
    }
    softmax_row(energy, ch, segs, ns);
  }
}

// What the step needs of a kernel whose lattice `ws` holds the blurred rows of `ch` channels.
KernelView kernel_view(const PermutohedralLattice& lattice,
                       const PairwiseTerm& term,
                       const std::vector<float>& norm_after,
                       const LatticeWorkspace& ws,
                       size_t ch) {
  return {lattice.corner_offsets(),
          lattice.corner_weights(),
          static_cast<size_t>(lattice.dim() + 1),
          lattice.alpha(),
          ws.values.data(),
          norm_after.empty() ? nullptr : norm_after.data(),
          term.weight,
          term.compat.empty() ? nullptr : term.compat.data(),
          detail::worth_prefetching((lattice.num_vertices() + 1) * ch * sizeof(float))};
}

// Which kernel runs a group's step: the plain mean_field_step, or a specialised one of kernels/
// for Potts kernels (one CRF of at most 48 labels, or a batch of CRFs with the same label count
// ≤ 8 in at most 64 channels).
enum class StepKernel { kPlain, kPottsSingle, kPottsBatch };

StepKernel step_kernel(
    const KernelView* kernels, size_t nk, const Segment* segs, size_t ns, size_t ch) {
  for (size_t k = 0; k < nk; ++k) {
    if (kernels[k].compat)
      return StepKernel::kPlain;
  }
  const size_t blocks = ch / kChannelBlock;
  if (ns == 1)
    return blocks <= detail::kMaxPottsSingleBlocks ? StepKernel::kPottsSingle : StepKernel::kPlain;
  if (blocks > detail::kMaxPottsBatchBlocks || segs[0].labels > detail::kMaxPottsBatchLabels)
    return StepKernel::kPlain;
  for (size_t s = 0; s < ns; ++s) {
    if (segs[s].labels != segs[0].labels)
      return StepKernel::kPlain;
  }
  return StepKernel::kPottsBatch;
}

// One mean-field step of pixels [begin, end) by `kernel` (all give mean_field_step's bits).
void run_step(StepKernel kernel,
              size_t begin,
              size_t end,
              size_t ch,
              const float* neg_unary,
              float* q,
              const std::vector<KernelView>& views,
              const std::vector<Segment>& segments,
              SliceOrder order,
              float* message) {
  switch (kernel) {
    case StepKernel::kPottsSingle:
      detail::mean_field_step_potts_single(
          begin, end, ch, segments.front().labels, neg_unary, q, views.data(), views.size(), order);
      return;
    case StepKernel::kPottsBatch:
      detail::mean_field_step_potts_batch(begin,
                                          end,
                                          ch,
                                          segments.front().labels,
                                          static_cast<int>(segments.size()),
                                          neg_unary,
                                          q,
                                          views.data(),
                                          views.size(),
                                          order);
      return;
    case StepKernel::kPlain:
      mean_field_step(begin,
                      end,
                      ch,
                      neg_unary,
                      q,
                      views.data(),
                      views.size(),
                      segments.data(),
                      segments.size(),
                      order,
                      message);
      return;
  }
}

// Calls fn(begin, end) on tiles of at most 256 pixels of [0, n), threads taking runs of tiles:
// 256 rows of 64 channels are 64 KB, so a tile's rows stay in cache between passes.
template <typename Fn>
void for_each_tile(size_t n, int threads, const Fn& fn) {
  constexpr size_t kTile = 256;
  const size_t tiles = (n + kTile - 1) / kTile;
  const size_t tasks = std::max<size_t>(1, std::min(tiles, static_cast<size_t>(threads)));
  parallel_for(tasks, threads, [&](size_t t) {
    for (size_t i = tiles * t / tasks; i < tiles * (t + 1) / tasks; ++i)
      fn(i * kTile, std::min(n, (i + 1) * kTile));
  });
}

// Fills the pixel-major rows of −U (the group's planes interleaved, padding channels 0) and
// Q⁰ = softmax(−U), a tile of pixels at a time: the tile's rows stay in cache while each plane
// is transposed into them, copied and normalised, instead of each pass sweeping the whole
// (tens of MB) table.
void initial_rows(const std::vector<UnaryPlanes>& group,
                  const std::vector<Segment>& segments,
                  size_t n,
                  size_t ch,
                  int threads,
                  float* neg_unary,
                  float* q) {
  const size_t used =
      static_cast<size_t>(segments.back().offset) + static_cast<size_t>(segments.back().labels);
  for_each_tile(n, threads, [&](size_t begin, size_t end) {
    for (size_t p = begin; p < end; ++p)
      std::fill(neg_unary + p * ch + used, neg_unary + (p + 1) * ch, 0.0f);
    for (size_t s = 0; s < group.size(); ++s) {
      for (int l = 0; l < segments[s].labels; ++l) {
        float* dst = neg_unary + segments[s].offset + l;
        const float* src = group[s].labels[static_cast<size_t>(l)];
        for (size_t p = begin; p < end; ++p)
          dst[p * ch] = -src[p];
      }
    }
    std::copy(neg_unary + begin * ch, neg_unary + end * ch, q + begin * ch);
    softmax_rows(q + begin * ch, end - begin, ch, segments.data(), segments.size());
  });
}

// Each CRF's label map (argmax, lowest label on ties) and, if asked, its Q planes, from the
// group's pixel-major rows: a tile of pixels at a time for all CRFs, so the (tens of MB) table is
// read once rather than once per CRF.
void extract_results(const std::vector<Segment>& segments,
                     const float* q,
                     size_t ch,
                     int width,
                     int height,
                     CrfOutputs outputs,
                     int threads,
                     std::vector<CrfResult>& out) {
  const size_t n = static_cast<size_t>(width) * height;
  out.resize(segments.size());
  for (size_t s = 0; s < segments.size(); ++s) {
    out[s].labels = segments[s].labels;
    out[s].map = LabelMap(width, height, 0);
    if (outputs == CrfOutputs::kLabelsAndMarginals)
      out[s].q = Planes(segments[s].labels, height, width);
  }
  for_each_tile(n, threads, [&](size_t begin, size_t end) {
    for (size_t s = 0; s < segments.size(); ++s) {
      const Segment& seg = segments[s];
      CrfResult& r = out[s];
      for (size_t p = begin; p < end; ++p) {
        const float* row = q + p * ch + static_cast<size_t>(seg.offset);
        int best = 0;
        for (int l = 1; l < seg.labels; ++l)
          best = row[l] > row[best] ? l : best;
        r.map.labels[p] = static_cast<uint8_t>(best);  // ≤ 255: at most 256 labels
      }
      if (outputs == CrfOutputs::kLabels)
        continue;
      for (int l = 0; l < seg.labels; ++l) {
        float* dst = r.q.plane(l);
        const float* src = q + static_cast<size_t>(seg.offset + l);
        for (size_t p = begin; p < end; ++p)
          dst[p] = src[p * ch];
      }
    }
  });
}

}  // namespace

const char* crf_preset_name(CrfPreset preset) {
  switch (preset) {
    case CrfPreset::kDeepLab:
      return "deeplab";
    case CrfPreset::kUrn:
      return "urn";
    case CrfPreset::kIrn:
      return "irn";
  }
  return "?";
}

CrfParams CrfParams::preset(CrfPreset preset) {
  auto gaussian = [](float sxy, float w) {
    PairwiseTerm t;
    t.sxy = sxy;
    t.weight = w;
    return t;
  };
  auto bilateral = [](float sxy, float srgb, float w) {
    PairwiseTerm t;
    t.sxy = sxy;
    t.srgb = srgb;
    t.weight = w;
    return t;
  };
  CrfParams p;
  switch (preset) {
    case CrfPreset::kDeepLab:
      p.terms = {gaussian(3, 3), bilateral(80, 13, 10)};
      break;
    case CrfPreset::kUrn:
      p.terms = {gaussian(1, 3), bilateral(67, 3, 4)};
      break;
    case CrfPreset::kIrn:
      p.terms = {gaussian(3, 3), bilateral(50, 5, 10)};
      break;
  }
  return p;
}

namespace {

constexpr int kBilateralDims = 5;
constexpr int kGaussianDims = 2;
constexpr float kLargestColour = 255.0f;

int feature_dims(const PairwiseTerm& t) {
  return t.bilateral() ? kBilateralDims : kGaussianDims;
}

// `v` rounded up to 3 significant digits (a width suggested in a message that must then work).
double round_up_3_digits(double v) {
  const double unit = std::pow(10.0, std::floor(std::log10(v)) - 2);
  return std::ceil(v / unit) * unit;
}

// Colour features (0..255) / srgb must stay within what the lattice resolves.
void check_colour_width_fits(const PairwiseTerm& t, size_t k) {
  if (!t.bilateral())
    return;
  const double limit = PermutohedralLattice::max_resolved_feature(kBilateralDims);
  PM_CHECK(kLargestColour / t.srgb <= limit,
           "CrfParams::terms[{}].srgb = {} is too small: colours / srgb reach {:.3g}, beyond the "
           "{:.0f} the CRF lattice resolves (use srgb >= {:.3g})",
           k,
           t.srgb,
           kLargestColour / t.srgb,
           limit,
           round_up_3_digits(kLargestColour / limit));
}

// Positions / sxy must stay within what the lattice resolves on an image of this size (the
// features crf_features computes).
void check_position_widths_fit(const CrfParams& params, int width, int height) {
  const float largest = static_cast<float>(std::max(width, height) - 1);
  for (size_t k = 0; k < params.terms.size(); ++k) {
    const PairwiseTerm& t = params.terms[k];
    const double limit = PermutohedralLattice::max_resolved_feature(feature_dims(t));
    PM_CHECK(largest / t.sxy <= limit,
             "CrfParams::terms[{}].sxy = {} is too small for a {}x{} image: positions / sxy "
             "reach {:.3g}, beyond the {:.0f} the CRF lattice resolves (use sxy >= {:.3g})",
             k,
             t.sxy,
             width,
             height,
             largest / t.sxy,
             limit,
             round_up_3_digits(largest / limit));
  }
}

}  // namespace

void CrfParams::validate() const {
  PM_CHECK(iterations >= 0 && iterations <= 10000,
           "CrfParams::iterations must be in [0, 10000], got {}",
           iterations);
  for (size_t k = 0; k < terms.size(); ++k) {
    const PairwiseTerm& t = terms[k];
    PM_CHECK(t.sxy > 0.0f && std::isfinite(t.sxy),
             "CrfParams::terms[{}].sxy must be > 0, got {}",
             k,
             t.sxy);
    PM_CHECK(t.srgb >= 0.0f && std::isfinite(t.srgb),
             "CrfParams::terms[{}].srgb must be >= 0, got {}",
             k,
             t.srgb);
    check_colour_width_fits(t, k);
    PM_CHECK(
        std::isfinite(t.weight), "CrfParams::terms[{}].weight must be finite, got {}", k, t.weight);
    const size_t m =
        static_cast<size_t>(std::lround(std::sqrt(static_cast<double>(t.compat.size()))));
    PM_CHECK(t.compat.empty() || (m * m == t.compat.size() && m <= 256),
             "CrfParams::terms[{}].compat has {} entries, not M×M (M ≤ 256)",
             k,
             t.compat.size());
  }
}

std::vector<float> crf_features(const RgbImage& image, const PairwiseTerm& term) {
  const int d = feature_dims(term);
  const size_t n = image.num_pixels();
  std::vector<float> f(n * static_cast<size_t>(d));
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const size_t p = static_cast<size_t>(y) * image.width + x;
      float* out = &f[p * static_cast<size_t>(d)];
      out[0] = static_cast<float>(x) / term.sxy;
      out[1] = static_cast<float>(y) / term.sxy;
      if (d == 5) {
        for (int c = 0; c < 3; ++c)
          out[2 + c] = static_cast<float>(image.pixels[p * 3 + c]) / term.srgb;
      }
    }
  }
  return f;
}

DenseCrf2D::DenseCrf2D(const RgbImage& image, CrfParams params, int threads)
    : width_(image.width), height_(image.height), params_(std::move(params)) {
  params_.validate();
  PM_CHECK(image.width > 0 && image.height > 0, "CRF image is empty");
  check_position_widths_fit(params_, image.width, image.height);
  set_threads(threads);
  const size_t n = image.num_pixels();
  kernels_.resize(params_.terms.size());
  // The kernels' lattices are independent: threads build them side by side.
  parallel_for(kernels_.size(), threads_, [&](size_t i) {
    Kernel& k = kernels_[i];
    k.term = params_.terms[i];
    const std::vector<float> f = crf_features(image, k.term);
    k.lattice = PermutohedralLattice::build(f.data(), n, feature_dims(k.term));
    make_normalisation(k.lattice, k.term.normalization, n, k.norm_before, k.norm_after);
  });
}

namespace {

// Refuses a kernel's features beyond what the lattice resolves (the image constructor's
// check_colour_width_fits and check_position_widths_fit, for features given directly).
void check_kernel_features(const PairwiseFeatures& k, size_t index, size_t n) {
  PM_CHECK(k.dims >= 1 && k.dims <= 16,
           "CRF kernel {}: {} feature dimensions, expected 1..16",
           index,
           k.dims);
  PM_CHECK(k.features.size() == n * static_cast<size_t>(k.dims),
           "CRF kernel {}: {} features, expected {} pixels × {} dimensions",
           index,
           k.features.size(),
           n,
           k.dims);
  const double limit = PermutohedralLattice::max_resolved_feature(k.dims);
  for (size_t i = 0; i < k.features.size(); ++i) {
    const float f = k.features[i];
    PM_CHECK(std::fabs(f) <= limit,
             "CRF kernel {}: feature {} of pixel {} is {:.4g}, beyond the ±{:.0f} the lattice "
             "resolves (a kernel width too small, e.g. a tiny srgb or sxy)",
             index,
             i % static_cast<size_t>(k.dims),
             i / static_cast<size_t>(k.dims),
             f,
             limit);
  }
}

}  // namespace

DenseCrf2D::DenseCrf2D(
    int width, int height, std::vector<PairwiseFeatures> kernels, int iterations, int threads)
    : width_(width), height_(height) {
  PM_CHECK(width > 0 && height > 0, "CRF size must be positive, got {}x{}", width, height);
  params_.iterations = iterations;
  for (const PairwiseFeatures& k : kernels)
    params_.terms.push_back(k.term);
  params_.validate();
  set_threads(threads);
  const size_t n = static_cast<size_t>(width) * height;
  for (size_t i = 0; i < kernels.size(); ++i)
    check_kernel_features(kernels[i], i, n);
  kernels_.resize(kernels.size());
  parallel_for(kernels_.size(), threads_, [&](size_t i) {
    Kernel& k = kernels_[i];
    k.term = kernels[i].term;
    k.lattice = PermutohedralLattice::build(kernels[i].features.data(), n, kernels[i].dims);
    make_normalisation(k.lattice, k.term.normalization, n, k.norm_before, k.norm_after);
  });
}

void DenseCrf2D::check_unary_shape(const Unary& unary) const {
  PM_CHECK(unary.channels() >= 1 && unary.channels() <= 256 && unary.height() == height_ &&
               unary.width() == width_,
           "CRF unary is {}, expected (labels ≤ 256, {}, {})",
           unary.describe(),
           height_,
           width_);
}

CrfResult DenseCrf2D::continue_inference(const Unary& unary, const Planes& q, int steps) const {
  check_unary_shape(unary);
  PM_CHECK(q.empty() ||
               (q.channels() == unary.channels() && q.height() == height_ && q.width() == width_),
           "CRF marginals are {}, expected {} like the unary",
           q.describe(),
           unary.describe());
  PM_CHECK(steps >= 0 && steps <= 10000, "CRF steps must be in [0, 10000], got {}", steps);
  UnaryPlanes planes;
  for (int l = 0; l < unary.channels(); ++l)
    planes.labels.push_back(unary.plane(l));
  CrfWorkspace ws;
  std::vector<CrfResult> out;
  infer_group({planes}, ws, CrfOutputs::kLabelsAndMarginals, out, q.empty() ? nullptr : &q, steps);
  return std::move(out.front());
}

double DenseCrf2D::kl_divergence(const Unary& unary, const Planes& q) const {
  check_unary_shape(unary);
  PM_CHECK(q.channels() == unary.channels() && q.height() == height_ && q.width() == width_,
           "CRF marginals are {}, expected {} like the unary",
           q.describe(),
           unary.describe());
  const size_t n = static_cast<size_t>(width_) * height_;
  const int m = q.channels();
  double kl = 0.0;
  for (size_t i = 0; i < q.size(); ++i) {
    const float v = q.data()[i];
    kl += static_cast<double>(v) * std::log(std::max(v, 1e-20f));
    kl += static_cast<double>(unary.data()[i]) * v;
  }
  // Pixel-major rows of q for the lattices, and each kernel's message K̃q.
  std::vector<float> rows(n * static_cast<size_t>(m)), filtered(rows.size());
  LatticeWorkspace lws;
  for (const Kernel& k : kernels_) {
    for (size_t p = 0; p < n; ++p) {
      const float before = k.norm_before.empty() ? 1.0f : k.norm_before[p];
      for (int l = 0; l < m; ++l)
        rows[p * m + l] = q.plane(l)[p] * before;
    }
    k.lattice.filter(rows.data(), m, filtered.data(), lws);
    for (size_t p = 0; p < n; ++p) {
      const float after = k.norm_after.empty() ? 1.0f : k.norm_after[p];
      for (int l = 0; l < m; ++l) {
        // The pairwise energy μ(K̃q): Potts −w·K̃q, or the symmetrised matrix times K̃q.
        double energy = 0.0;
        if (k.term.compat.empty()) {
          energy = -static_cast<double>(k.term.weight) * filtered[p * m + l] * after;
        } else {
          for (int j = 0; j < m; ++j) {
            const double mu = 0.5 * (k.term.compat[l * m + j] + k.term.compat[j * m + l]);
            energy += mu * filtered[p * m + j] * after;
          }
        }
        kl += static_cast<double>(q.plane(l)[p]) * energy;
      }
    }
  }
  return kl;
}

size_t DenseCrf2D::memory_bytes() const {
  size_t bytes = 0;
  for (const auto& k : kernels_) {
    bytes +=
        k.lattice.memory_bytes() + (k.norm_before.size() + k.norm_after.size()) * sizeof(float);
  }
  return bytes;
}

CrfResult DenseCrf2D::infer(const Unary& unary, CrfWorkspace* workspace, CrfOutputs outputs) const {
  std::vector<CrfResult> out =
      infer_batch({&unary}, /*max_group_channels=*/unary.channels(), workspace, outputs);
  return std::move(out.front());
}

std::vector<CrfResult> DenseCrf2D::infer_batch(const std::vector<const Unary*>& batch,
                                               int max_group_channels,
                                               CrfWorkspace* workspace,
                                               CrfOutputs outputs) const {
  std::vector<UnaryPlanes> planes(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const Unary* u = batch[i];
    PM_CHECK(u != nullptr && u->channels() >= 1 && u->channels() <= 256,
             "CRF label count must be in [1, 256]");
    PM_CHECK(u->height() == height_ && u->width() == width_,
             "CRF unary is {}, expected (labels, {}, {})",
             u->describe(),
             height_,
             width_);
    for (int l = 0; l < u->channels(); ++l)
      planes[i].labels.push_back(u->plane(l));
  }
  return infer_batch(planes, max_group_channels, workspace, outputs);
}

std::vector<CrfResult> DenseCrf2D::infer_batch(const std::vector<UnaryPlanes>& batch,
                                               int max_group_channels,
                                               CrfWorkspace* workspace,
                                               CrfOutputs outputs) const {
  CrfWorkspace local;
  CrfWorkspace& ws = workspace ? *workspace : local;
  max_group_channels =
      std::min(max_group_channels, 256);  // a single CRF may still have up to 256 labels
  for (const UnaryPlanes& u : batch) {
    PM_CHECK(u.channels() >= 1 && u.channels() <= 256, "CRF label count must be in [1, 256]");
    for (const float* plane : u.labels)
      PM_CHECK(plane != nullptr, "CRF unary plane is missing");
    for (const auto& k : kernels_) {
      PM_CHECK(k.term.compat.empty() ||
                   k.term.compat.size() == static_cast<size_t>(u.channels()) * u.channels(),
               "CRF compatibility matrix has {} entries but the unary has {} labels",
               k.term.compat.size(),
               u.channels());
    }
  }
  std::vector<CrfResult> results(batch.size());
  size_t start = 0;
  while (start < batch.size()) {
    size_t end = start;
    int channels = 0;
    // A group shares one slice order (the reference's ≤ 2-label and wider CRFs differ).
    const SliceOrder order = reference_slice_order(batch[start].channels());
    while (end < batch.size() &&
           (end == start || (channels + batch[end].channels() <= max_group_channels &&
                             reference_slice_order(batch[end].channels()) == order))) {
      channels += batch[end++].channels();
    }
    std::vector<UnaryPlanes> group(batch.begin() + static_cast<std::ptrdiff_t>(start),
                                   batch.begin() + static_cast<std::ptrdiff_t>(end));
    std::vector<CrfResult> out;
    infer_group(group, ws, outputs, out);
    for (size_t i = 0; i < out.size(); ++i)
      results[start + i] = std::move(out[i]);
    start = end;
  }
  return results;
}

void DenseCrf2D::infer_group(const std::vector<UnaryPlanes>& group,
                             CrfWorkspace& ws,
                             CrfOutputs outputs,
                             std::vector<CrfResult>& out,
                             const Planes* initial_q,
                             int iterations) const {
  const size_t n = static_cast<size_t>(width_) * height_;
  std::vector<Segment> segments;
  int used = 0;
  for (const UnaryPlanes& u : group) {
    segments.push_back({used, u.channels()});
    used += u.channels();
  }
  // The reference slices rows of ≤ 2 values with its scalar code, wider rows with SSE code, in
  // different float orders; groups never mix the two.
  const SliceOrder order = reference_slice_order(group.front().channels());
  // Rows padded with zero channels to whole blocks.
  const size_t ch = (static_cast<size_t>(used) + kChannelBlock - 1) / kChannelBlock * kChannelBlock;
  PM_CHECK(ch <= kMaxRowChannels, "CRF group of {} channels exceeds {}", ch, kMaxRowChannels);
  const int channels = static_cast<int>(ch);
  // Pixel-major rows: −U and Q⁰ = softmax(−U).
  // Grown only (never shrunk), so that a workspace alternating between groups of different widths
  // does not zero-fill the difference on every call; initial_rows writes every value used.
  detail::grow_discarding(ws.neg_unary, n * ch);
  detail::grow_discarding(ws.q, n * ch);
  initial_rows(group, segments, n, ch, threads_, ws.neg_unary.data(), ws.q.data());
  if (initial_q) {  // one CRF continued from given marginals (continue_inference)
    for (int l = 0; l < initial_q->channels(); ++l) {
      const float* src = initial_q->plane(l);
      for (size_t p = 0; p < n; ++p)
        ws.q[p * ch + static_cast<size_t>(l)] = src[p];
    }
  }
  if (iterations < 0)
    iterations = params_.iterations;

  ws.lattices.resize(kernels_.size());
  std::vector<KernelView> views(kernels_.size());
  const size_t tasks = static_cast<size_t>(std::max(threads_, 1));
  std::vector<float> messages(tasks * ch);
  for (int it = 0; it < iterations; ++it) {
    // Message passing, its first half: each kernel splats Q onto its lattice and blurs it.
    for (size_t k = 0; k < kernels_.size(); ++k) {
      const Kernel& kern = kernels_[k];
      kern.lattice.splat_and_blur(ws.q.data(),
                                  kern.norm_before.empty() ? nullptr : kern.norm_before.data(),
                                  channels,
                                  ws.lattices[k],
                                  threads_);
      views[k] = kernel_view(kern.lattice, kern.term, kern.norm_after, ws.lattices[k], ch);
    }
    // The rest of the step, pixel by pixel: pixels are independent here, so threads split them.
    const StepKernel kernel =
        specialised_kernels_
            ? step_kernel(views.data(), views.size(), segments.data(), segments.size(), ch)
            : StepKernel::kPlain;
    parallel_for(tasks, threads_, [&](size_t t) {
      run_step(kernel,
               n * t / tasks,
               n * (t + 1) / tasks,
               ch,
               ws.neg_unary.data(),
               ws.q.data(),
               views,
               segments,
               order,
               &messages[t * ch]);
    });
  }

  extract_results(segments, ws.q.data(), ch, width_, height_, outputs, threads_, out);
}

Unary unary_from_probabilities(const Planes& probs, float clip) {
  const int labels = probs.channels();
  PM_CHECK(labels >= 1 && labels <= 256, "CRF label count must be in [1, 256], got {}", labels);
  PM_CHECK(clip > 0.0f && clip <= 1.0f, "probability clip must be in (0, 1], got {}", clip);
  Unary u(labels, probs.height(), probs.width());
  const size_t pixels = probs.pixels();
  const float* p = probs.data();
  float* energy = u.data();
  for (size_t i = 0; i < u.size(); ++i) {
    PM_CHECK(
        !std::isnan(p[i]), "probability {} (label {}, pixel {}) is NaN", i, i / pixels, i % pixels);
    energy[i] = -std::log(std::min(std::max(p[i], clip), 1.0f));
  }
  return u;
}

Unary unary_from_labels(const LabelMap& labels, int num_labels, double gt_prob, bool zero_unsure) {
  PM_CHECK(num_labels >= 2 && num_labels <= 256,
           "CRF label count must be in [2, 256], got {}",
           num_labels);
  PM_CHECK(gt_prob > 0.0 && gt_prob < 1.0, "gt_prob must be in (0, 1), got {}", gt_prob);
  const size_t n = labels.num_pixels();
  const float other = static_cast<float>(-std::log((1.0 - gt_prob) / (num_labels - 1)));
  const float own = static_cast<float>(-std::log(gt_prob));
  const float unsure = static_cast<float>(-std::log(1.0 / num_labels));
  Unary u(num_labels, labels.height, labels.width, other);
  float* energy = u.data();
  for (size_t p = 0; p < n; ++p) {
    const int v = labels.labels[p];
    if (zero_unsure && v == 0) {
      for (int l = 0; l < num_labels; ++l)
        energy[static_cast<size_t>(l) * n + p] = unsure;
      continue;
    }
    const int l = zero_unsure ? v - 1 : v;
    PM_CHECK(l >= 0 && l < num_labels,
             "label {} at pixel {} is out of range for {} CRF labels",
             v,
             p,
             num_labels);
    energy[static_cast<size_t>(l) * n + p] = own;
  }
  return u;
}

}  // namespace pm
