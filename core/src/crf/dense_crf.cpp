// SPDX-License-Identifier: MIT
// Mean-field inference for the fully-connected CRF (Krähenbühl & Koltun 2011, Algorithm 1),
// with the reference's float order: Q⁰ = softmax(−U); each iteration
// E = −U − Σ_k μ_k(K̃_k Q) (Potts: E = −U + Σ_k w_k·K̃_k Q), Q = softmax(E).
#include "pseudomask/core/crf/dense_crf.h"

#include <algorithm>
#include <cmath>

#include "fast_exp.h"
#include "pseudomask/core/common/error.h"

namespace pm {
namespace {

// The probability of a pixel's own label when a CRF is given labels (pydensecrf's gt_prob).
void check_gt_prob(float gt_prob) {
  PM_CHECK(gt_prob > 0.0f && gt_prob < 1.0f, "gt_prob must be in (0, 1), got {}", gt_prob);
}

// Per-pixel kernel normalisation from n_i = (K·1)_i, as the reference computes it.
void make_normalisation(const PermutohedralLattice& lattice, Normalization mode, size_t n,
                        std::vector<float>& before, std::vector<float>& after) {
  if (mode == Normalization::kNone) return;
  std::vector<float> ones(n, 1.0f), sums(n);
  LatticeWorkspace ws;
  lattice.filter(ones.data(), 1, sums.data(), ws);
  std::vector<float> norm(n);
  for (size_t i = 0; i < n; ++i) {
    norm[i] = mode == Normalization::kSymmetric
                  ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(sums[i]) + 1e-20))
                  : static_cast<float>(1.0 / (static_cast<double>(sums[i]) + 1e-20));
  }
  if (mode == Normalization::kSymmetric || mode == Normalization::kBefore) before = norm;
  if (mode == Normalization::kSymmetric || mode == Normalization::kAfter) after = std::move(norm);
}

// Softmax of one pixel's segment in place: subtract the max, exponentiate, divide by the sum.
__attribute__((target_clones("avx512f", "avx2", "default"))) void softmax_segment(float* e, int m) {
  float mx = e[0];
  for (int l = 1; l < m; ++l) mx = std::max(mx, e[l]);
  float sum = 0.0f;
  for (int l = 0; l < m; ++l) {
    e[l] = detail::exp_nonpositive(e[l] - mx);
    sum += e[l];
  }
  for (int l = 0; l < m; ++l) e[l] = e[l] / sum;
}

// A CRF's channels within a group's value rows.
struct Segment {
  int offset = 0;
  int labels = 0;
};

// Adds a kernel's message to a pixel's energies: Potts E += w·m, or a matrix E −= μ·m.
void add_message(const PairwiseTerm& term, const std::vector<Segment>& segments, const float* message,
                 float after, float* energy) {
  if (term.compat.empty()) {
    const float w = term.weight;
    for (const Segment& s : segments) {
      for (int c = s.offset; c < s.offset + s.labels; ++c) energy[c] += w * (message[c] * after);
    }
    return;
  }
  float scaled[256];
  for (const Segment& s : segments) {
    const int m = s.labels;
    for (int c = 0; c < m; ++c) scaled[c] = message[s.offset + c] * after;
    for (int l = 0; l < m; ++l) {
      float acc = 0.0f;
      for (int k = 0; k < m; ++k) {
        acc += 0.5f * (term.compat[static_cast<size_t>(l * m + k)] + term.compat[static_cast<size_t>(k * m + l)]) *
               scaled[k];
      }
      energy[s.offset + l] -= acc;
    }
  }
}

}  // namespace

CrfParams CrfParams::preset(const std::string& name) {
  CrfParams p;
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
  if (name == "deeplab") {
    p.terms = {gaussian(3, 3), bilateral(80, 13, 10)};
  } else if (name == "urn") {
    p.terms = {gaussian(1, 3), bilateral(67, 3, 4)};
  } else if (name == "irn") {
    p.terms = {gaussian(3, 3), bilateral(50, 5, 10)};
  } else {
    PM_FAIL("--preset {}: expected deeplab, urn or irn", name);
  }
  return p;
}

void CrfParams::validate() const {
  PM_CHECK(iterations >= 0 && iterations <= 10000, "CRF iterations must be in [0, 10000], got {}", iterations);
  for (const auto& t : terms) {
    PM_CHECK(t.sxy > 0.0f && std::isfinite(t.sxy), "CRF sxy must be > 0, got {}", t.sxy);
    PM_CHECK(t.srgb >= 0.0f && std::isfinite(t.srgb), "CRF srgb must be >= 0, got {}", t.srgb);
    PM_CHECK(std::isfinite(t.weight), "CRF compat weight must be finite, got {}", t.weight);
    const size_t m = static_cast<size_t>(std::lround(std::sqrt(static_cast<double>(t.compat.size()))));
    PM_CHECK(t.compat.empty() || (m * m == t.compat.size() && m <= 256),
             "CRF compatibility matrix has {} entries, not M×M (M ≤ 256)", t.compat.size());
  }
}

std::vector<float> crf_features(const RgbImage& image, const PairwiseTerm& term) {
  const int d = term.bilateral() ? 5 : 2;
  const size_t n = image.num_pixels();
  std::vector<float> f(n * static_cast<size_t>(d));
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const size_t p = static_cast<size_t>(y) * image.width + x;
      float* out = &f[p * static_cast<size_t>(d)];
      out[0] = static_cast<float>(x) / term.sxy;
      out[1] = static_cast<float>(y) / term.sxy;
      if (d == 5) {
        for (int c = 0; c < 3; ++c) out[2 + c] = static_cast<float>(image.pixels[p * 3 + c]) / term.srgb;
      }
    }
  }
  return f;
}

DenseCrf2D::DenseCrf2D(const RgbImage& image, CrfParams params)
    : width_(image.width), height_(image.height), params_(std::move(params)) {
  params_.validate();
  PM_CHECK(image.width > 0 && image.height > 0, "CRF image is empty");
  const size_t n = image.num_pixels();
  for (const auto& term : params_.terms) {
    Kernel k;
    k.term = term;
    const std::vector<float> f = crf_features(image, term);
    k.lattice = PermutohedralLattice::build(f.data(), n, term.bilateral() ? 5 : 2);
    make_normalisation(k.lattice, term.normalization, n, k.norm_before, k.norm_after);
    kernels_.push_back(std::move(k));
  }
}

size_t DenseCrf2D::memory_bytes() const {
  size_t bytes = 0;
  for (const auto& k : kernels_) {
    bytes += k.lattice.memory_bytes() + (k.norm_before.size() + k.norm_after.size()) * sizeof(float);
  }
  return bytes;
}

CrfResult DenseCrf2D::infer(const Unary& unary) const {
  std::vector<CrfResult> out = infer_batch({&unary}, /*max_group_channels=*/unary.labels);
  return std::move(out.front());
}

std::vector<CrfResult> DenseCrf2D::infer_batch(const std::vector<const Unary*>& batch,
                                               int max_group_channels) const {
  const size_t n = static_cast<size_t>(width_) * height_;
  for (const Unary* u : batch) {
    PM_CHECK(u != nullptr && u->labels >= 1 && u->labels <= 256, "CRF label count must be in [1, 256]");
    PM_CHECK(u->energy.size() == static_cast<size_t>(u->labels) * n,
             "CRF unary has {} values, expected {} labels × {} pixels", u->energy.size(), u->labels, n);
    for (const auto& k : kernels_) {
      PM_CHECK(k.term.compat.empty() || k.term.compat.size() == static_cast<size_t>(u->labels) * u->labels,
               "CRF compatibility matrix has {} entries but the unary has {} labels", k.term.compat.size(),
               u->labels);
    }
  }
  std::vector<CrfResult> results(batch.size());
  size_t start = 0;
  while (start < batch.size()) {
    size_t end = start;
    int channels = 0;
    while (end < batch.size() && (end == start || channels + batch[end]->labels <= max_group_channels)) {
      channels += batch[end++]->labels;
    }
    std::vector<const Unary*> group(batch.begin() + static_cast<std::ptrdiff_t>(start),
                                    batch.begin() + static_cast<std::ptrdiff_t>(end));
    std::vector<CrfResult> out;
    infer_group(group, out);
    for (size_t i = 0; i < out.size(); ++i) results[start + i] = std::move(out[i]);
    start = end;
  }
  return results;
}

void DenseCrf2D::infer_group(const std::vector<const Unary*>& group, std::vector<CrfResult>& out) const {
  const size_t n = static_cast<size_t>(width_) * height_;
  std::vector<Segment> segments;
  std::vector<ChannelRange> ranges;
  int channels = 0;
  for (const Unary* u : group) {
    segments.push_back({channels, u->labels});
    // The reference slices rows of ≤ 2 values with its scalar code, wider rows with SSE.
    const SliceOrder order = u->labels <= 2 ? SliceOrder::kAlphaLast : SliceOrder::kWeightTimesAlphaFirst;
    if (!ranges.empty() && ranges.back().order == order) {
      ranges.back().end = channels + u->labels;
    } else {
      ranges.push_back({channels, channels + u->labels, order});
    }
    channels += u->labels;
  }
  const size_t ch = static_cast<size_t>(channels);
  // Pixel-major rows: neg_unary = −U, q = Q.
  std::vector<float> neg_unary(n * ch), q(n * ch);
  for (size_t s = 0; s < group.size(); ++s) {
    const Segment& seg = segments[s];
    const float* u = group[s]->energy.data();
    for (int l = 0; l < seg.labels; ++l) {
      for (size_t p = 0; p < n; ++p) neg_unary[p * ch + static_cast<size_t>(seg.offset + l)] = -u[static_cast<size_t>(l) * n + p];
    }
  }
  auto softmax_row = [&](float* row) {
    for (const Segment& seg : segments) softmax_segment(row + seg.offset, seg.labels);
  };
  q = neg_unary;
  for (size_t p = 0; p < n; ++p) softmax_row(&q[p * ch]);

  std::vector<LatticeWorkspace> ws(kernels_.size());
  std::vector<float> message(ch);
  for (int it = 0; it < params_.iterations; ++it) {
    for (size_t k = 0; k < kernels_.size(); ++k) {
      const Kernel& kern = kernels_[k];
      kern.lattice.splat_and_blur(q.data(), kern.norm_before.empty() ? nullptr : kern.norm_before.data(), channels,
                                  ws[k]);
    }
    for (size_t p = 0; p < n; ++p) {
      float* row = &q[p * ch];
      std::copy(&neg_unary[p * ch], &neg_unary[p * ch] + ch, row);
      for (size_t k = 0; k < kernels_.size(); ++k) {
        const Kernel& kern = kernels_[k];
        kern.lattice.slice_point(p, ws[k].values.data(), channels, ranges, message.data());
        add_message(kern.term, segments, message.data(), kern.norm_after.empty() ? 1.0f : kern.norm_after[p], row);
      }
      softmax_row(row);
    }
  }

  out.resize(group.size());
  for (size_t s = 0; s < group.size(); ++s) {
    const Segment& seg = segments[s];
    CrfResult& r = out[s];
    r.labels = seg.labels;
    r.q.resize(static_cast<size_t>(seg.labels) * n);
    r.map = LabelMap(width_, height_, 0);
    for (size_t p = 0; p < n; ++p) {
      const float* row = &q[p * ch + static_cast<size_t>(seg.offset)];
      int best = 0;
      for (int l = 0; l < seg.labels; ++l) {
        r.q[static_cast<size_t>(l) * n + p] = row[l];
        if (row[l] > row[best]) best = l;
      }
      r.map.labels[p] = static_cast<uint8_t>(std::min(best, 255));
    }
  }
}

Unary unary_from_probabilities(const float* probs, int labels, size_t pixels, float clip) {
  PM_CHECK(labels >= 1 && labels <= 256, "CRF label count must be in [1, 256], got {}", labels);
  PM_CHECK(clip > 0.0f && clip <= 1.0f, "probability clip must be in (0, 1], got {}", clip);
  Unary u;
  u.labels = labels;
  u.energy.resize(static_cast<size_t>(labels) * pixels);
  for (size_t i = 0; i < u.energy.size(); ++i) {
    const float p = std::isnan(probs[i]) ? clip : std::min(std::max(probs[i], clip), 1.0f);
    u.energy[i] = -std::log(p);
  }
  return u;
}

Unary unary_from_labels(const LabelMap& labels, int num_labels, float gt_prob, bool zero_unsure) {
  PM_CHECK(num_labels >= 2 && num_labels <= 256, "CRF label count must be in [2, 256], got {}", num_labels);
  check_gt_prob(gt_prob);
  const size_t n = labels.num_pixels();
  const float other = static_cast<float>(-std::log((1.0 - gt_prob) / (num_labels - 1)));
  const float own = static_cast<float>(-std::log(static_cast<double>(gt_prob)));
  const float unsure = static_cast<float>(-std::log(1.0 / num_labels));
  Unary u;
  u.labels = num_labels;
  u.energy.assign(static_cast<size_t>(num_labels) * n, other);
  for (size_t p = 0; p < n; ++p) {
    const int v = labels.labels[p];
    if (zero_unsure && v == 0) {
      for (int l = 0; l < num_labels; ++l) u.energy[static_cast<size_t>(l) * n + p] = unsure;
      continue;
    }
    const int l = zero_unsure ? v - 1 : v;
    PM_CHECK(l >= 0 && l < num_labels, "label {} at pixel {} is out of range for {} CRF labels", v, p, num_labels);
    u.energy[static_cast<size_t>(l) * n + p] = own;
  }
  return u;
}

}  // namespace pm
