// SPDX-License-Identifier: MIT
// The lattice's splat and blur split their work between threads by vertex; the table they leave
// must be the same, bit for bit, for any thread count, on every splat path: the register-run
// splat (rows of 1–4 blocks), the unrolled point splat (5–8 blocks) and the generic one (other
// widths and dimensions).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../support/test_paths.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/crf/lattice.h"
#include "pseudomask/core/io/image/image_io.h"

namespace pm {
namespace {

struct LatticeCase {
  std::string name;
  std::vector<float> features;
  size_t n;
  int d;
};

std::vector<LatticeCase> lattice_cases() {
  const RgbImage im1 = read_image(test::data_file("crf/im1.png"));
  std::vector<LatticeCase> cases;
  const std::pair<CrfPreset, const char*> presets[] = {{CrfPreset::kDeepLab, "deeplab"},
                                                       {CrfPreset::kUrn, "urn"}};
  for (const auto& [preset, name] : presets) {
    for (size_t k = 0; k < 2; ++k) {
      const PairwiseTerm t = CrfParams::preset(preset).terms[k];
      cases.push_back({std::string(name) + (k ? "_bilateral" : "_gaussian"),
                       crf_features(im1, t),
                       im1.num_pixels(),
                       t.bilateral() ? 5 : 2});
    }
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 6.0f);
  std::vector<float> f(2000 * 3);
  for (float& v : f)
    v = u(rng);
  cases.push_back({"random_d3", f, 2000, 3});
  return cases;
}

// The table (row 0 and one row per vertex) after splat_and_blur of `in` with `threads` threads.
std::vector<float> blurred_table(const PermutohedralLattice& lattice,
                                 const std::vector<float>& in,
                                 const std::vector<float>& scale,
                                 int channels,
                                 int threads) {
  LatticeWorkspace ws;
  lattice.splat_and_blur(in.data(), scale.data(), channels, ws, threads);
  const size_t size = (lattice.num_vertices() + 1) * static_cast<size_t>(channels);
  return std::vector<float>(ws.values.begin(), ws.values.begin() + static_cast<long>(size));
}

TEST(LatticeThreads, SplatAndBlurAreBitIdenticalForAnyThreadCount) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (const LatticeCase& c : lattice_cases()) {
    const PermutohedralLattice lattice = PermutohedralLattice::build(c.features.data(), c.n, c.d);
    std::vector<float> scale(c.n);
    for (float& s : scale)
      s = 0.5f + u(rng);
    // 3 and 12: generic splat; 8, 24, 32: register runs; 40, 64: point splat; 72: generic.
    for (int channels : {3, 8, 12, 24, 32, 40, 64, 72}) {
      std::vector<float> in(c.n * static_cast<size_t>(channels));
      for (float& v : in)
        v = u(rng);
      const std::vector<float> one = blurred_table(lattice, in, scale, channels, 1);
      for (int threads : {2, 3, 7}) {
        const std::vector<float> many = blurred_table(lattice, in, scale, channels, threads);
        ASSERT_EQ(many.size(), one.size());
        EXPECT_EQ(std::memcmp(many.data(), one.data(), one.size() * sizeof(float)), 0)
            << c.name << ", " << channels << " channels, " << threads << " threads";
      }
    }
  }
}

}  // namespace
}  // namespace pm
