// SPDX-License-Identifier: MIT
#include "pseudomask/core/ensemble/ensemble.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/resize.h"
#include "pseudomask/core/common/value_checks.h"

namespace pm {
namespace {

// Stride of IRN's low-resolution `cam` member.
constexpr int kLowResStride = 4;

void check_same_shape(const Planes& a, const Planes& b, const char* what) {
  PM_CHECK(a.channels() == b.channels() && a.height() == b.height() && a.width() == b.width(),
           "{}: operands must be of one shape, got {} and {}",
           what,
           a.describe(),
           b.describe());
}

// out[i] = f(a[i], b[i]) over two stacks of planes of one shape.
template <class F>
Planes elementwise(const Planes& a, const Planes& b, const char* what, F f) {
  check_same_shape(a, b, what);
  Planes out(a.channels(), a.height(), a.width());
  const float* pa = a.data();
  const float* pb = b.data();
  float* po = out.data();
  const size_t n = a.size();
  for (size_t i = 0; i < n; ++i)
    po[i] = f(pa[i], pb[i]);
  return out;
}

void add_constant(Planes& planes, float value) {
  for (float& v : planes.values())
    v += value;
}

void clamp_negative_to_zero(Planes& planes) {
  for (float& v : planes.values())
    v = std::max(v, 0.0f);
}

std::string keys_text(const std::vector<int>& keys) {
  std::string s = "[";
  for (size_t i = 0; i < keys.size(); ++i)
    s += (i ? " " : "") + std::to_string(keys[i]);
  return s + "]";
}

// b's member reordered to a's keys and resized to `like`'s plane size.
Planes align_member(const Planes& member,
                    const Planes& like,
                    const std::vector<int>& order,
                    const std::string& name,
                    const char* what,
                    bool* resized) {
  PM_CHECK(static_cast<size_t>(member.channels()) == order.size(),
           "{}: {} is {}, expected {} channels",
           name,
           what,
           member.describe(),
           order.size());
  Planes out = select_planes(member, order);
  if (out.height() != like.height() || out.width() != like.width()) {
    out = resize_planes_bilinear(out, like.height(), like.width());
    *resized = true;
  }
  return out;
}

void check_member(const Planes& planes, size_t keys, const std::string& name, const char* what) {
  if (planes.empty())
    return;
  PM_CHECK(static_cast<size_t>(planes.channels()) == keys,
           "{}: {} is {}, expected ({}, H, W) for {} keys",
           name,
           what,
           planes.describe(),
           keys,
           keys);
  PM_CHECK(planes.height() > 0 && planes.width() > 0, "{}: {} is empty", name, what);
  check_finite(planes, name, what);
}

}  // namespace

const char* ensemble_mode_name(EnsembleMode mode) {
  switch (mode) {
    case EnsembleMode::kOr:
      return "or";
    case EnsembleMode::kAnd:
      return "and";
    case EnsembleMode::kMean:
      return "mean";
  }
  return "?";
}

const char* low_res_policy_name(LowResPolicy policy) {
  switch (policy) {
    case LowResPolicy::kCombine:
      return "combine";
    case LowResPolicy::kDownsample:
      return "downsample";
    case LowResPolicy::kNone:
      return "none";
  }
  return "?";
}

// ORANDNet Eq. 1 (OR): the probability that either classifier fires.
Planes probabilistic_or(const Planes& a, const Planes& b) {
  return elementwise(a, b, "probabilistic OR", [](float x, float y) { return x + y - x * y; });
}

// ORANDNet Eq. 1 (AND): the probability that both classifiers fire.
Planes probabilistic_and(const Planes& a, const Planes& b) {
  return elementwise(a, b, "probabilistic AND", [](float x, float y) { return x * y; });
}

Planes mean_ensemble(const Planes& a, const Planes& b) {
  return elementwise(a, b, "mean ensemble", [](float x, float y) { return (x + y) * 0.5f; });
}

void normalize_by_class_max(Planes& planes, float eps) {
  const size_t plane = planes.pixels();
  for (int k = 0; k < planes.channels(); ++k) {
    float* p = planes.plane(k);
    const float peak = plane > 0 ? *std::max_element(p, p + plane) : 0.0f;
    if (!(peak > 0.0f))
      continue;  // an absent class stays as it is: no division by zero
    const float scale = peak + eps;
    for (size_t i = 0; i < plane; ++i)
      p[i] /= scale;
  }
}

Planes combine_cams(const Planes& a, const Planes& b, const EnsembleOptions& options) {
  check_same_shape(a, b, ensemble_mode_name(options.mode));
  Planes second = b;
  if (options.official)
    add_constant(second, kOfficialSecondShift);
  Planes out;
  switch (options.mode) {
    case EnsembleMode::kOr:
      out = probabilistic_or(a, second);
      break;
    case EnsembleMode::kAnd:
      out = probabilistic_and(a, second);
      break;
    case EnsembleMode::kMean:
      out = mean_ensemble(a, second);
      break;
  }
  if (!options.official) {
    normalize_by_class_max(out);  // ORANDNet Eq. 1: each result divided by its per-class max
  } else if (options.mode == EnsembleMode::kMean) {
    // module/simple_addition.py: ReLU, then / (max_c + 1e-5); OR/AND are left raw.
    clamp_negative_to_zero(out);
    normalize_by_class_max(out, kOfficialMaxEpsilon);
  }
  return out;
}

CamFile align_cams(const CamFile& a,
                   const CamFile& b,
                   const std::string& name_a,
                   const std::string& name_b,
                   bool* resized) {
  std::map<int, size_t> b_channel;
  for (size_t k = 0; k < b.keys.size(); ++k) {
    PM_CHECK(b_channel.emplace(b.keys[k], k).second, "{}: key {} repeats", name_b, b.keys[k]);
  }
  std::vector<int> order;
  bool keys_match = a.keys.size() == b.keys.size();
  for (size_t k = 0; keys_match && k < a.keys.size(); ++k) {
    const auto it = b_channel.find(a.keys[k]);
    keys_match = it != b_channel.end();
    if (keys_match)
      order.push_back(static_cast<int>(it->second));
  }
  PM_CHECK(keys_match,
           "{}: keys {} do not match the keys {} of {}",
           name_b,
           keys_text(b.keys),
           keys_text(a.keys),
           name_a);
  bool any_resized = false;
  CamFile out;
  out.keys = a.keys;
  if (!a.high_res.empty() && !b.high_res.empty())
    out.high_res = align_member(b.high_res, a.high_res, order, name_b, "high_res", &any_resized);
  if (!a.cam.empty() && !b.cam.empty())
    out.cam = align_member(b.cam, a.cam, order, name_b, "cam", &any_resized);
  if (resized)
    *resized = any_resized;
  return out;
}

CamFile ensemble_cams(const CamFile& a,
                      const CamFile& b,
                      const EnsembleOptions& options,
                      const std::string& name_a,
                      const std::string& name_b,
                      bool* resized) {
  check_member(a.high_res, a.keys.size(), name_a, "high_res");
  check_member(a.cam, a.keys.size(), name_a, "cam");
  check_member(b.high_res, b.keys.size(), name_b, "high_res");
  check_member(b.cam, b.keys.size(), name_b, "cam");
  if (a.high_res.empty() != b.high_res.empty()) {
    PM_FAIL("{}: has no high_res, but {} has one",
            a.high_res.empty() ? name_a : name_b,
            a.high_res.empty() ? name_b : name_a);
  }
  const CamFile bb = align_cams(a, b, name_a, name_b, resized);
  CamFile out;
  out.keys = a.keys;
  if (!a.high_res.empty())
    out.high_res = combine_cams(a.high_res, bb.high_res, options);
  if (options.low_res == LowResPolicy::kCombine && !bb.cam.empty()) {
    out.cam = combine_cams(a.cam, bb.cam, options);
  } else if (options.low_res == LowResPolicy::kDownsample && !out.high_res.empty()) {
    const int h = out.high_res.height(), w = out.high_res.width();
    out.cam = resize_planes_bilinear(
        out.high_res, (h - 1) / kLowResStride + 1, (w - 1) / kLowResStride + 1);
  }
  PM_CHECK(!out.high_res.empty() || !out.cam.empty(),
           "{}: nothing to combine with {} (no high_res in either, and no cam in both)",
           name_a,
           name_b);
  return out;
}

}  // namespace pm
