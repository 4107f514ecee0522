// SPDX-License-Identifier: MIT
#pragma once

// Deterministic, order-independent values for every parameter and buffer of a module, so that a
// full-size network can be compared with a PyTorch reference without committing its weights.
// tests/fixtures/nn/make_backbone_fixtures.py (hash_fill) computes the same float32 values:
//
//   seed(name)  = FNV-1a 64 of the state-dict key (UTF-8 bytes)
//   bits(i)     = splitmix64 output for state seed(name) + (i + 1) · 0x9E3779B97F4A7C15,
//                 i the element's flat (C-order) index
//   u           = (bits >> 40) · 2^-24, in [0, 1); s = 2u − 1, in [−1, 1)
//   value       = float32 of, in float64:
//     "…running_var"   0.5 + u                       (positive)
//     "…running_mean"  0.1 · s
//     1-d "…weight"    1 + 0.1 · s                   (norm scales)
//     1-d "…bias"      0.1 · s
//     any other        s · sqrt(3 / fan_in), fan_in = numel / size(0)  (variance 1 / fan_in)
//   Integer buffers (num_batches_tracked) are left as they are.
// The key, not the position in the state dict, seeds a tensor, because libtorch lists all
// parameters before all buffers while PyTorch's state_dict interleaves them per module.

#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/module.h>
#include <torch/types.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace pm::test {

/// FNV-1a 64 of `key`.
inline uint64_t fnv1a64(const std::string& key) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (const unsigned char c : key) {
    h ^= c;
    h *= 0x100000001B3ULL;
  }
  return h;
}

/// splitmix64's output for the state `z` (already advanced).
inline uint64_t splitmix64_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// The uniform value in [0, 1) of element `index` of the tensor keyed `seed`.
inline double hash_uniform(uint64_t seed, uint64_t index) {
  const uint64_t bits = splitmix64_mix(seed + (index + 1) * 0x9E3779B97F4A7C15ULL);
  return static_cast<double>(bits >> 40) * (1.0 / 16777216.0);
}

inline bool key_ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Fills `t` (float32, any shape) in place with the values of key `key` (rules above).
inline void hash_fill_tensor(const std::string& key, torch::Tensor t) {
  if (!t.is_floating_point())
    return;
  torch::NoGradGuard no_grad;
  const uint64_t seed = fnv1a64(key);
  const int64_t n = t.numel();
  torch::Tensor values = torch::empty({n}, torch::kFloat);
  float* v = values.data_ptr<float>();
  const bool one_d = t.dim() == 1;
  const double fan_in = t.dim() == 0 || t.size(0) == 0 ? 1.0 : static_cast<double>(n) / t.size(0);
  const double scale = std::sqrt(3.0 / fan_in);
  for (int64_t i = 0; i < n; ++i) {
    const double u = hash_uniform(seed, static_cast<uint64_t>(i));
    const double s = 2.0 * u - 1.0;
    double x;
    if (key_ends_with(key, "running_var"))
      x = 0.5 + u;
    else if (key_ends_with(key, "running_mean"))
      x = 0.1 * s;
    else if (one_d && key_ends_with(key, "weight"))
      x = 1.0 + 0.1 * s;
    else if (one_d && key_ends_with(key, "bias"))
      x = 0.1 * s;
    else
      x = s * scale;
    v[i] = static_cast<float>(x);
  }
  t.copy_(values.view(t.sizes()));
}

/// Fills every parameter and floating-point buffer of `module` (keys as named_parameters /
/// named_buffers give them, with `prefix` prepended) by hash_fill_tensor.
inline void hash_fill(torch::nn::Module& module, const std::string& prefix = "") {
  for (auto& p : module.named_parameters())
    hash_fill_tensor(prefix + p.key(), p.value());
  for (auto& b : module.named_buffers())
    hash_fill_tensor(prefix + b.key(), b.value());
}

}  // namespace pm::test
