// SPDX-License-Identifier: MIT
// PermutohedralLattice::build must give the same lattice, bit for bit, as the straightforward
// build it was optimised from: the golden hashes below were computed with that build (commit
// 7e5044e). Each hash covers the vertex count, every point's corner ids and barycentric weights,
// and filter() outputs on 1, 3 and 8 channels (which is where the private blur neighbours and
// first-splat flags show).
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "../support/test_paths.h"
#include "pseudomask/core/common/resize.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/crf/lattice.h"
#include "pseudomask/core/io/image/image_io.h"

namespace pm {
namespace {

// FNV-1a, 64 bits.
class Fnv1a {
 public:
  void add(const void* data, size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < bytes; ++i)
      h_ = (h_ ^ p[i]) * 0x100000001B3ull;
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xCBF29CE484222325ull;
};

// A fixed pseudo-random stream (PCG's LCG step, top bits), the same on every platform.
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : x_(seed) {}
  /// Uniform in [lo, hi).
  float uniform(float lo, float hi) {
    x_ = x_ * 6364136223846793005ull + 1442695040888963407ull;
    const float u = static_cast<float>(x_ >> 40) / static_cast<float>(1 << 24);
    return lo + (hi - lo) * u;
  }

 private:
  uint64_t x_;
};

uint64_t lattice_hash(const std::vector<float>& features, size_t n, int d) {
  const PermutohedralLattice lat = PermutohedralLattice::build(features.data(), n, d);
  const size_t d1 = static_cast<size_t>(d + 1);
  Fnv1a h;
  const uint64_t m = lat.num_vertices();
  h.add(&m, sizeof(m));
  h.add(lat.corner_offsets(), n * d1 * sizeof(int32_t));
  h.add(lat.corner_weights(), n * d1 * sizeof(float));
  LatticeWorkspace ws;
  for (int channels : {1, 3, 8}) {
    Lcg rng(static_cast<uint64_t>(channels));
    std::vector<float> in(n * static_cast<size_t>(channels));
    for (float& v : in)
      v = rng.uniform(0.0f, 1.0f);
    std::vector<float> out(in.size());
    lat.filter(in.data(), channels, out.data(), ws);
    h.add(out.data(), out.size() * sizeof(float));
  }
  return h.value();
}

uint64_t image_case(const RgbImage& image, CrfPreset preset, int term) {
  const PairwiseTerm t = CrfParams::preset(preset).terms[static_cast<size_t>(term)];
  return lattice_hash(crf_features(image, t), image.num_pixels(), t.bilateral() ? 5 : 2);
}

std::vector<float> random_features(size_t n, int d, float lo, float hi, uint64_t seed) {
  Lcg rng(seed);
  std::vector<float> f(n * static_cast<size_t>(d));
  for (float& v : f)
    v = rng.uniform(lo, hi);
  return f;
}

// Random points on a coarse grid: many repeated simplices and vertices.
std::vector<float> clustered_features(size_t n, int d, uint64_t seed) {
  std::vector<float> f = random_features(n, d, 0.0f, 8.0f, seed);
  for (float& v : f)
    v = static_cast<float>(static_cast<int>(v)) * 0.5f;
  return f;
}

struct Case {
  std::string name;
  std::function<uint64_t()> hash;
  uint64_t golden;
};

std::vector<Case> cases() {
  const RgbImage im1 = read_image(test::data_file("crf/im1.png"));
  const RgbImage voc = resize_bilinear(im1, 500, 375);
  auto random_case = [](size_t n, int d, float lo, float hi, uint64_t seed) {
    return [=] { return lattice_hash(random_features(n, d, lo, hi, seed), n, d); };
  };
  return {
      {"deeplab_im1_gaussian",
       [=] { return image_case(im1, CrfPreset::kDeepLab, 0); },
       0x5d5640e8237f9f1dull},
      {"deeplab_im1_bilateral",
       [=] { return image_case(im1, CrfPreset::kDeepLab, 1); },
       0x3e54d93c7222faeull},
      {"urn_im1_gaussian",
       [=] { return image_case(im1, CrfPreset::kUrn, 0); },
       0xaee04295fb6dcbb9ull},
      {"urn_im1_bilateral",
       [=] { return image_case(im1, CrfPreset::kUrn, 1); },
       0x12bf90e70d227968ull},
      {"urn_voc_gaussian",
       [=] { return image_case(voc, CrfPreset::kUrn, 0); },
       0xaac4549145e1644aull},
      {"urn_voc_bilateral",
       [=] { return image_case(voc, CrfPreset::kUrn, 1); },
       0x9f74b0dd724057a7ull},
      {"random_d1", random_case(3000, 1, -20.0f, 20.0f, 11), 0xcd094430caa1d8a6ull},
      {"random_d2", random_case(3000, 2, -20.0f, 20.0f, 12), 0x85e0e97bb9e400aeull},
      {"random_d3", random_case(3000, 3, -20.0f, 20.0f, 13), 0xb01a0c6259a7ef7eull},
      {"random_d4", random_case(3000, 4, -20.0f, 20.0f, 14), 0xa237cd54a6485144ull},
      {"random_d5", random_case(3000, 5, -20.0f, 20.0f, 15), 0x8944817dd53853bbull},
      {"random_d6", random_case(3000, 6, -20.0f, 20.0f, 16), 0x279243019ca63167ull},
      {"random_d5_dense", random_case(20000, 5, 0.0f, 4.0f, 17), 0x1adf21546cab4623ull},
      {"random_d16", random_case(500, 16, -5.0f, 5.0f, 18), 0x6c0c41ef7c87df92ull},
      {"large_magnitudes_d3", random_case(1000, 3, -3.0e7f, 3.0e7f, 19), 0xe45574834555e723ull},
      {"clustered_d5",
       [] { return lattice_hash(clustered_features(5000, 5, 20), 5000, 5); },
       0xbc37001c65b6f404ull},
      {"all_equal_d5",
       [] { return lattice_hash(std::vector<float>(5000, 1.25f), 1000, 5); },
       0x8c3a24af50c4e693ull},
      {"single_point_d3",
       [] {
         return lattice_hash({0.3f, -1.7f, 2.2f}, 1, 3);
       },
       0x5e425716b4398112ull},
      {"no_points_d2", [] { return lattice_hash({}, 0, 2); }, 0xa8c7f832281a39c5ull},
  };
}

TEST(LatticeBuild, IsBitIdenticalToTheOriginalBuild) {
  for (const Case& c : cases()) {
    const uint64_t h = c.hash();
    EXPECT_EQ(h, c.golden) << c.name << ": 0x" << std::hex << h << "ull";
  }
}

}  // namespace
}  // namespace pm
