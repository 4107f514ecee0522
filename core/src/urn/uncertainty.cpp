// SPDX-License-Identifier: MIT
// URN uncertainty via response scaling (Li et al., AAAI 2022, Eq. 4–12), as the official code
// computes it: M_c = argmax CRF(X); X̄ = X[L], the present classes (Eq. 5); for every present
// class c and scale s_n, a K-label CRF (Eq. 7) over X̄ with channel c raised to s_n (Eq. 6) and
// its argmax (Eq. 8) give B_{c,n}; U_raw = max_c Var_n B_{c,n} (Eq. 9, 10); U = min-max(U_raw)
// (Eq. 10); W8 = uint8((1 − U)·255) (Eq. 11); Y = t where W8/255 ≤ t, else 1 (Eq. 12).
#include "pseudomask/core/urn/uncertainty.h"

#include <algorithm>
#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/crf/crf_inputs.h"

namespace pm {
namespace {

// X̄ = X[L] (URN Eq. 5): the planes of the present classes, in their order.
Planes select_channels(const Planes& x, const std::vector<uint8_t>& present) {
  return select_planes(x, std::vector<int>(present.begin(), present.end()));
}

void check_crf_size(const Planes& probs, const DenseCrf2D& crf) {
  PM_CHECK(probs.height() == crf.height() && probs.width() == crf.width(),
           "URN probabilities are {}, expected (C, {}, {}) for the CRF's image",
           probs.describe(),
           crf.height(),
           crf.width());
}

// The official code's +1e-6 in the min-max denominator.
constexpr double kNormEpsilon = 1e-6;

}  // namespace

const char* urn_weight_mode_name(UrnWeightMode mode) {
  switch (mode) {
    case UrnWeightMode::kHard:
      return "hard";
    case UrnWeightMode::kSoft:
      return "soft";
    case UrnWeightMode::kProb:
      return "prob";
  }
  return "?";
}

const char* urn_dataset_name(UrnDataset dataset) {
  switch (dataset) {
    case UrnDataset::kVoc:
      return "voc";
    case UrnDataset::kCoco:
      return "coco";
  }
  return "?";
}

UrnOptions UrnOptions::preset(UrnDataset dataset) {
  UrnOptions o;
  switch (dataset) {
    case UrnDataset::kVoc:
      o.scales = {0.15f, 0.2f, 0.25f, 4.0f, 5.0f, 6.0f};
      break;
    case UrnDataset::kCoco:
      o.scales = {0.4f, 0.5f, 0.6f, 2.0f, 3.0f, 4.0f};
      break;
  }
  return o;
}

void UrnOptions::validate() const {
  PM_CHECK(!scales.empty() && scales.size() <= 255,
           "UrnOptions::scales must hold 1..255 response scales, got {}",
           scales.size());
  for (float s : scales) {
    PM_CHECK(std::isfinite(s) && s > 0.0f,
             "UrnOptions::scales: a response scale must be finite and > 0, got {}",
             s);
  }
  PM_CHECK(threshold >= 0.0f && threshold <= 1.0f,
           "UrnOptions::threshold (t) must be in [0, 1], got {}",
           threshold);
  PM_CHECK(prob_clip > 0.0f && prob_clip <= 1.0f,
           "UrnOptions::prob_clip must be in (0, 1], got {}",
           prob_clip);
  PM_CHECK(max_group_channels >= 1,
           "UrnOptions::max_group_channels must be >= 1, got {}",
           max_group_channels);
  crf.validate();
}

double UrnResult::uncertain_fraction() const {
  const size_t n = cyclic_mask.num_pixels();
  return n == 0 ? 0.0 : static_cast<double>(uncertain_pixels) / static_cast<double>(n);
}

Planes read_urn_probabilities(
    const std::string& path, int width, int height, bool logits, int expected_classes) {
  Planes planes = read_label_planes(path, width, height);
  const int classes = planes.channels();
  PM_CHECK(expected_classes <= 0 || classes == expected_classes,
           "{}: {} class channels, expected {}",
           path,
           classes,
           expected_classes);
  PM_CHECK(
      classes >= 2 && classes <= 255, "{}: {} class channels (URN needs 2..255)", path, classes);
  if (logits)
    softmax_labels(planes);
  check_probabilities(planes, path);
  return planes;
}

std::vector<uint8_t> present_classes(const LabelMap& mask) {
  bool seen[256] = {};
  for (uint8_t v : mask.labels)
    seen[v] = true;
  std::vector<uint8_t> out;
  for (int v = 0; v < 255; ++v) {
    if (seen[v])
      out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

// URN Eq. 6: X̄_c^s, element-wise.
void raise_channel(const Planes& x, int channel, float s, Planes& out) {
  PM_CHECK(channel >= 0 && channel < x.channels(),
           "raise_channel: channel {} of {} planes",
           channel,
           x.channels());
  if (out.channels() != 1 || out.height() != x.height() || out.width() != x.width())
    out = Planes(1, x.height(), x.width());
  const float* src = x.plane(channel);
  float* dst = out.data();
  for (size_t p = 0; p < x.pixels(); ++p)
    dst[p] = std::pow(src[p], s);  // float32 power, as numpy's float32 ** float
}

// URN Eq. 5–6: X̄ = X[L] with channel `scaled` replaced by X̄_c^s, no renormalisation.
Planes scale_response(const Planes& probs,
                      const std::vector<uint8_t>& present,
                      int scaled,
                      float s) {
  PM_CHECK(scaled >= 0 && static_cast<size_t>(scaled) < present.size(),
           "scaled channel {} is out of range for {} present classes",
           scaled,
           present.size());
  Planes out = select_channels(probs, present);
  Planes raised;
  raise_channel(out, scaled, s, raised);
  std::copy(raised.data(), raised.data() + raised.size(), out.plane(scaled));
  return out;
}

// numpy's var(ddof=0): mean first, then the mean of squared deviations, in float64.
double population_variance(const double* values, int n) {
  PM_CHECK(n >= 1, "variance of {} values", n);
  double sum = 0.0;
  for (int i = 0; i < n; ++i)
    sum += values[i];
  const double mean = sum / n;
  double sq = 0.0;
  for (int i = 0; i < n; ++i)
    sq += (values[i] - mean) * (values[i] - mean);
  return sq / n;
}

// URN Eq. 9: Var_n B_{c,n} of binary samples (ddof = 0, as the official code), tabulated by the
// count of ones.
std::vector<double> variance_over_scales(const std::vector<uint8_t>& ones, int samples) {
  PM_CHECK(samples >= 1 && samples <= 255, "variance over {} scales", samples);
  std::vector<double> table(static_cast<size_t>(samples) + 1);
  std::vector<double> x(static_cast<size_t>(samples));
  for (int m = 0; m <= samples; ++m) {
    for (int i = 0; i < samples; ++i)
      x[static_cast<size_t>(i)] = i < m ? 1.0 : 0.0;
    table[static_cast<size_t>(m)] = population_variance(x.data(), samples);
  }
  std::vector<double> out(ones.size());
  for (size_t p = 0; p < ones.size(); ++p) {
    PM_CHECK(ones[p] <= samples, "{} ones out of {} samples", ones[p], samples);
    out[p] = table[ones[p]];
  }
  return out;
}

// URN Eq. 10, Max: U_raw = max_c V_c.
std::vector<double> max_over_classes(const std::vector<std::vector<double>>& variances) {
  if (variances.empty())
    return {};
  std::vector<double> out = variances[0];
  for (size_t c = 1; c < variances.size(); ++c) {
    PM_CHECK(variances[c].size() == out.size(),
             "class {} has {} variances, class 0 has {}",
             c,
             variances[c].size(),
             out.size());
    for (size_t p = 0; p < out.size(); ++p)
      out[p] = std::max(out[p], variances[c][p]);
  }
  return out;
}

// URN Eq. 10, Norm, per image: U = (U_raw − min) / (max − min + 1e−6).
std::vector<double> min_max_normalise(const std::vector<double>& raw) {
  if (raw.empty())
    return {};
  const auto [lo, hi] = std::minmax_element(raw.begin(), raw.end());
  const double min = *lo, range = *hi - *lo + kNormEpsilon;
  std::vector<double> out(raw.size());
  for (size_t p = 0; p < raw.size(); ++p)
    out[p] = (raw[p] - min) / range;
  return out;
}

// URN Eq. 11: W = 1 − U, as the byte W8 = uint8((1 − U)·255), truncating.
uint8_t weight_byte_from_uncertainty(double u) {
  const double w = (1.0 - u) * 255.0;
  return static_cast<uint8_t>(std::clamp(w, 0.0, 255.0));
}

uint8_t weight_byte_from_probability(float p) {
  return static_cast<uint8_t>(std::clamp(static_cast<double>(p) * 255.0, 0.0, 255.0));
}

bool is_uncertain(uint8_t weight_byte, float t) {
  return static_cast<float>(weight_byte) / 255.0f <= t;
}

// URN Eq. 12: Y = t on uncertain pixels, 1 elsewhere.
float hard_weight(uint8_t weight_byte, float t) {
  return is_uncertain(weight_byte, t) ? t : 1.0f;
}

float soft_weight(uint8_t weight_byte, float t) {
  return std::max(static_cast<float>(weight_byte) / 255.0f, t);
}

float prob_weight(uint8_t weight_byte) {
  return static_cast<float>(weight_byte) / 255.0f;
}

float weight_from_byte(uint8_t weight_byte, UrnWeightMode mode, float t) {
  switch (mode) {
    case UrnWeightMode::kHard:
      return hard_weight(weight_byte, t);
    case UrnWeightMode::kSoft:
      return soft_weight(weight_byte, t);
    case UrnWeightMode::kProb:
      return prob_weight(weight_byte);
  }
  return 1.0f;
}

std::vector<double> response_scaling_uncertainty(const DenseCrf2D& crf,
                                                 const Planes& probs,
                                                 const std::vector<uint8_t>& present,
                                                 const UrnOptions& options,
                                                 CrfWorkspace* workspace) {
  const size_t n = static_cast<size_t>(crf.width()) * crf.height();
  check_crf_size(probs, crf);
  const int k_count = static_cast<int>(present.size());
  PM_CHECK(k_count >= 1, "URN needs at least one present class");
  if (k_count == 1)
    return std::vector<double>(n, 0.0);  // one label: B = 1 at every scale, variance 0
  const int samples = static_cast<int>(options.scales.size());

  // URN Eq. 5: X̄ = X[L], the present classes, as unscaled K-label energies shared by every
  // variant; each variant differs in its scaled channel only.
  const Planes selected = select_channels(probs, present);
  const Unary base = unary_from_probabilities(selected, options.prob_clip);

  // ones[k][p]: scales at which B_{k,n}(p) = 1. Variants (k, s_n) run in batches of about
  // max_group_channels channels to bound memory; results do not depend on the batching.
  std::vector<std::vector<uint8_t>> ones(static_cast<size_t>(k_count), std::vector<uint8_t>(n, 0));
  const int variants = k_count * samples;
  const int per_batch = std::max(1, options.max_group_channels / k_count);
  // A variant's unary is the base's planes with channel k's replaced: only that plane is stored.
  Planes raised(per_batch, probs.height(), probs.width());
  Planes scaled;
  std::vector<UnaryPlanes> batch;
  for (int first = 0; first < variants; first += per_batch) {
    const int last = std::min(variants, first + per_batch);
    batch.clear();
    for (int v = first; v < last; ++v) {
      const int k = v / samples;
      const float s = options.scales[static_cast<size_t>(v % samples)];
      // URN Eq. 6: channel k ← X̄_k^s, the others unchanged (as scale_response gives them);
      // only channel k's energies are new, so only it is raised.
      // raise_channel gives that one plane, and its energies are the variant's plane k.
      raise_channel(selected, k, s, scaled);
      const Unary u = unary_from_probabilities(scaled, options.prob_clip);
      float* own = raised.plane(v - first);
      std::copy(u.data(), u.data() + n, own);
      UnaryPlanes variant;
      for (int l = 0; l < k_count; ++l)
        variant.labels.push_back(l == k ? own : base.plane(l));
      batch.push_back(std::move(variant));
    }
    // URN Eq. 7–8: the CRF of every variant and its argmax.
    const std::vector<CrfResult> results =
        crf.infer_batch(batch, options.max_group_channels, workspace, CrfOutputs::kLabels);
    for (int v = first; v < last; ++v) {
      const int k = v / samples;
      const LabelMap& map = results[static_cast<size_t>(v - first)].map;
      std::vector<uint8_t>& count = ones[static_cast<size_t>(k)];
      for (size_t p = 0; p < n; ++p)
        count[p] = static_cast<uint8_t>(count[p] + (map.labels[p] == k));  // B_{k,n}
    }
  }

  // URN Eq. 9, variance over scales, then Eq. 10's max over classes.
  std::vector<std::vector<double>> variances;
  variances.reserve(ones.size());
  for (const auto& count : ones)
    variances.push_back(variance_over_scales(count, samples));
  return max_over_classes(variances);
}

UrnResult compute_urn(const DenseCrf2D& crf,
                      const Planes& probs,
                      const UrnOptions& options,
                      CrfWorkspace* workspace) {
  options.validate();
  const int classes = probs.channels();
  PM_CHECK(classes >= 2 && classes <= 255, "URN needs 2..255 classes, got {}", classes);
  check_crf_size(probs, crf);
  const size_t n = probs.pixels();
  UrnResult r;
  // M_c: the CRF over all C classes of X (Eq. 4).
  CrfResult full =
      crf.infer(unary_from_probabilities(probs, options.prob_clip), workspace, CrfOutputs::kLabels);
  r.cyclic_mask = std::move(full.map);
  r.present = present_classes(r.cyclic_mask);
  r.weight_byte = WeightMap(crf.width(), crf.height());
  r.weight = Planes(1, crf.height(), crf.width());

  if (options.mode == UrnWeightMode::kProb) {
    // URN Table 5 baseline: the model's probability of the pseudo-label.
    for (size_t p = 0; p < n; ++p) {
      const size_t label = r.cyclic_mask.labels[p];
      r.weight_byte.bytes[p] = weight_byte_from_probability(probs.plane(label)[p]);
    }
  } else {
    r.uncertainty = min_max_normalise(  // URN Eq. 10, Norm
        response_scaling_uncertainty(crf, probs, r.present, options, workspace));
    for (size_t p = 0; p < n; ++p)
      r.weight_byte.bytes[p] = weight_byte_from_uncertainty(r.uncertainty[p]);
  }
  for (size_t p = 0; p < n; ++p) {
    const uint8_t g = r.weight_byte.bytes[p];
    r.weight.data()[p] = weight_from_byte(g, options.mode, options.threshold);
    r.uncertain_pixels += is_uncertain(g, options.threshold);
  }
  return r;
}

}  // namespace pm
