// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "../support/crf_reference.h"
#include "../support/expect_error.h"
#include "../support/test_paths.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/resize.h"
#include "pseudomask/core/crf/crf_inputs.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"

namespace pm {
namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

/// zlib's CRC-32 of a byte range.
uint32_t crc32(const void* data, size_t size) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    c ^= bytes[i];
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

// The reference unaries are derived from the annotations (tests/data does not store them); the
// derivation equals the reference's files bit for bit: CRC-32 of their float32 data
// (zlib.crc32(np.load(f).tobytes()) of the reference folder's im{1,2}_unary_M{2,3,21}.npy).
TEST(CrfUnary, FromLabelsReproducesTheReferenceUnariesBitForBit) {
  const std::map<std::pair<int, int>, uint32_t> want = {{{1, 2}, 0x1679a9fau},
                                                        {{1, 3}, 0xda20bf3au},
                                                        {{1, 21}, 0xed1fc509u},
                                                        {{2, 2}, 0xa74c1e58u},
                                                        {{2, 3}, 0x1158728bu},
                                                        {{2, 21}, 0xecefa102u}};
  for (const auto& [key, crc] : want) {
    const auto [image, m] = key;
    const Unary u = test::reference_unary(test::data_file("crf"), image, m);
    ASSERT_EQ(u.size(), static_cast<size_t>(m) * (image == 1 ? 320 * 240 : 320 * 213));
    EXPECT_EQ(crc32(u.data(), u.size() * sizeof(float)), crc) << "im" << image << " M" << m;
  }
  // The two M = 21 unaries stored for the CLI's smoke test are these arrays.
  for (int image : {1, 2}) {
    const NDArray stored =
        read_npz(test::data_file("crf/reference/im" + std::to_string(image) + "_unary_M21.npz"))
            .begin()
            ->second;
    EXPECT_EQ(stored.to_float_vector(),
              test::reference_unary(test::data_file("crf"), image, 21).values());
  }
  // The constants of the reference README for M = 21.
  LabelMap one(2, 1);
  one.labels = {1, 0};
  const Unary u = unary_from_labels(one, 21, 0.7, true);
  EXPECT_EQ(bits(u.data()[0]), 0x3eb69e19u);  // −ln 0.7, label 0 at the known pixel
  EXPECT_EQ(bits(u.data()[2]), 0x408663fcu);  // −ln(0.3/20), label 1 at the known pixel
  EXPECT_EQ(bits(u.data()[1]), 0x4042d975u);  // ln 21 at the unknown pixel
  EXPECT_THROW(unary_from_labels(one, 21, 1.0, true), Error);
  one.labels = {22, 0};
  EXPECT_THROW(unary_from_labels(one, 21, 0.7, true), Error);
}

TEST(CrfUnary, FromProbabilitiesClipsLikePydensecrf) {
  const Planes probs(2, 1, 2, std::vector<float>{0.5f, 0.0f, 1.0f, 1e-7f});
  const Unary u = unary_from_probabilities(probs);
  EXPECT_FLOAT_EQ(u.data()[0], -std::log(0.5f));
  EXPECT_FLOAT_EQ(u.data()[1], -std::log(1e-5f));
  EXPECT_FLOAT_EQ(u.data()[2], 0.0f);
  EXPECT_FLOAT_EQ(u.data()[3], -std::log(1e-5f));
}

// A small random test image and a unary of `m` labels with a few confident regions.
struct Small {
  RgbImage image;
  Unary unary;
};

Small small_case(int w, int h, int m, uint32_t seed) {
  std::mt19937 rng(seed);
  Small s{RgbImage(w, h), Unary{}};
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& v : s.image.pixels)
    v = static_cast<uint8_t>(byte(rng) / 64 * 64);
  std::vector<float> probs(static_cast<size_t>(m) * w * h);
  std::uniform_real_distribution<float> u01(0.0f, 1.0f);
  for (int p = 0; p < w * h; ++p) {
    float sum = 0;
    for (int l = 0; l < m; ++l)
      sum += probs[static_cast<size_t>(l) * w * h + p] =
          u01(rng) + (l == (p / 7) % m ? 2.0f : 0.0f);
    for (int l = 0; l < m; ++l)
      probs[static_cast<size_t>(l) * w * h + p] /= sum;
  }
  s.unary = unary_from_probabilities(Planes(m, h, w, std::move(probs)));
  return s;
}

TEST(CrfBatch, BatchedResultsEqualIndividualRunsBitForBit) {
  Small a = small_case(37, 23, 21, 1);
  const Unary u3 = small_case(37, 23, 3, 2).unary;
  const Unary u2 = small_case(37, 23, 2, 3).unary;
  const Unary u5 = small_case(37, 23, 5, 4).unary;
  const DenseCrf2D crf(a.image, CrfParams::preset(CrfPreset::kUrn));
  const std::vector<const Unary*> batch = {&a.unary, &u3, &u2, &u3, &u5, &u2, &u3};
  for (int group : {1, 8, 24, 64}) {
    const std::vector<CrfResult> together = crf.infer_batch(batch, group);
    ASSERT_EQ(together.size(), batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      const CrfResult alone = crf.infer(*batch[i]);
      EXPECT_EQ(together[i].map.labels, alone.map.labels) << "group " << group << " crf " << i;
      EXPECT_EQ(std::memcmp(together[i].q.data(), alone.q.data(), alone.q.size() * sizeof(float)),
                0)
          << "group " << group << " crf " << i;
    }
  }
}

// Batches of CRFs that all have the same label count take a specialised update (URN's variants);
// it must give every CRF the bits of its own run, for each label count and row width.
TEST(CrfBatch, EqualLabelCountBatchesEqualIndividualRunsBitForBit) {
  const Small a = small_case(29, 19, 3, 31);
  const DenseCrf2D crf(a.image, CrfParams::preset(CrfPreset::kUrn));
  for (int m : {1, 2, 3, 4, 5, 8}) {
    std::vector<Unary> unaries;
    for (int i = 0; i < 9; ++i)
      unaries.push_back(small_case(29, 19, m, 100 + 10 * m + i).unary);
    std::vector<const Unary*> batch;
    for (const Unary& u : unaries)
      batch.push_back(&u);
    std::vector<CrfResult> alone;
    for (const Unary* u : batch)
      alone.push_back(crf.infer(*u));
    for (int group : {2 * m, 64}) {
      const std::vector<CrfResult> together = crf.infer_batch(batch, group);
      ASSERT_EQ(together.size(), batch.size());
      for (size_t i = 0; i < batch.size(); ++i) {
        EXPECT_EQ(together[i].map.labels, alone[i].map.labels)
            << m << " labels, group " << group << ", crf " << i;
        EXPECT_EQ(
            std::memcmp(together[i].q.data(), alone[i].q.data(), alone[i].q.size() * sizeof(float)),
            0)
            << m << " labels, group " << group << ", crf " << i;
      }
    }
  }
}

// Every CRF of `batch` gives the same labels and the same Q bits with the specialised kernels of
// core/src/crf/kernels/ as with the plain mean_field_step.
void expect_kernels_equal_plain_step(DenseCrf2D& crf,
                                     const std::vector<const Unary*>& batch,
                                     int group,
                                     const std::string& what) {
  crf.set_specialised_kernels(false);
  const std::vector<CrfResult> plain = crf.infer_batch(batch, group);
  crf.set_specialised_kernels(true);
  const std::vector<CrfResult> fast = crf.infer_batch(batch, group);
  ASSERT_EQ(fast.size(), plain.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(fast[i].map.labels, plain[i].map.labels) << what << ", crf " << i;
    ASSERT_EQ(fast[i].q.size(), plain[i].q.size());
    EXPECT_EQ(std::memcmp(fast[i].q.data(), plain[i].q.data(), plain[i].q.size() * sizeof(float)),
              0)
        << what << ", crf " << i;
  }
}

// kernels/potts_single.cpp: one Potts CRF per group (≤ 48 labels, both slice orders), with the
// presets' kernel pair (unrolled corners) and with one Gaussian kernel (corner loop).
TEST(CrfKernels, PottsSingleEqualsThePlainStepBitForBit) {
  const Small a = small_case(31, 17, 3, 41);
  CrfParams gaussian_only = CrfParams::preset(CrfPreset::kUrn);
  gaussian_only.terms.resize(1);
  for (const CrfParams& params : {CrfParams::preset(CrfPreset::kDeepLab),
                                  CrfParams::preset(CrfPreset::kUrn),
                                  gaussian_only}) {
    DenseCrf2D crf(a.image, params);
    for (int m : {1, 2, 3, 5, 8, 9, 21, 40, 48}) {
      const Unary u = small_case(31, 17, m, 200 + m).unary;
      expect_kernels_equal_plain_step(crf, {&u}, m, std::to_string(m) + " labels");
    }
  }
}

// kernels/potts_batch.cpp: groups of CRFs with the same small label count (URN's variants), on a
// real image (at half size) with URN's CRF.
TEST(CrfKernels, PottsBatchEqualsThePlainStepBitForBit) {
  const RgbImage image = resize_bilinear(read_image(test::data_file("crf/im1.png")), 160, 120);
  DenseCrf2D crf(image, CrfParams::preset(CrfPreset::kUrn));
  for (int m : {2, 3, 4, 5, 8}) {
    std::vector<Unary> unaries;
    for (int i = 0; i < 9; ++i)
      unaries.push_back(small_case(image.width, image.height, m, 300 + 10 * m + i).unary);
    std::vector<const Unary*> batch;
    for (const Unary& u : unaries)
      batch.push_back(&u);
    for (int group : {2 * m, 64})
      expect_kernels_equal_plain_step(
          crf, batch, group, std::to_string(m) + " labels, group " + std::to_string(group));
  }
}

TEST(CrfModel, PottsEqualsTheNegatedIdentityMatrix) {
  const Small s = small_case(20, 16, 4, 7);
  CrfParams potts = CrfParams::preset(CrfPreset::kDeepLab);
  CrfParams matrix = potts;
  for (auto& t : matrix.terms) {
    t.compat.assign(16, 0.0f);
    for (int l = 0; l < 4; ++l)
      t.compat[static_cast<size_t>(l * 5)] = -t.weight;
  }
  const CrfResult a = DenseCrf2D(s.image, potts).infer(s.unary);
  const CrfResult b = DenseCrf2D(s.image, matrix).infer(s.unary);
  EXPECT_EQ(a.map.labels, b.map.labels);
  EXPECT_EQ(std::memcmp(a.q.data(), b.q.data(), a.q.size() * sizeof(float)), 0);
  // A matrix of the wrong size is refused.
  const Small s3 = small_case(20, 16, 3, 7);
  EXPECT_THROW(DenseCrf2D(s3.image, matrix).infer(s3.unary), Error);
}

TEST(CrfModel, ZeroIterationsIsTheSoftmaxOfTheUnaryAndMarginalsSumToOne) {
  const Small s = small_case(16, 9, 5, 11);
  CrfParams p = CrfParams::preset(CrfPreset::kDeepLab);
  p.iterations = 0;
  const CrfResult r = DenseCrf2D(s.image, p).infer(s.unary);
  const size_t n = 16 * 9;
  for (size_t px = 0; px < n; ++px) {
    double z = 0;
    for (int l = 0; l < 5; ++l)
      z += std::exp(-static_cast<double>(s.unary.data()[l * n + px]));
    for (int l = 0; l < 5; ++l) {
      EXPECT_NEAR(r.q.data()[l * n + px],
                  std::exp(-static_cast<double>(s.unary.data()[l * n + px])) / z,
                  2e-6);
    }
  }
  p.iterations = 10;
  for (Normalization mode : {Normalization::kNone, Normalization::kBefore, Normalization::kAfter}) {
    for (auto& t : p.terms)
      t.normalization = mode;
    const CrfResult q = DenseCrf2D(s.image, p).infer(s.unary);
    for (size_t px = 0; px < n; ++px) {
      double sum = 0;
      for (int l = 0; l < 5; ++l)
        sum += q.q.data()[l * n + px];
      ASSERT_NEAR(sum, 1.0, 1e-5);
    }
  }
}

TEST(CrfModel, ArgmaxTiesGoToTheLowestLabel) {
  RgbImage image(3, 1);
  // pixel 0: tie 0/1; pixel 1: tie 0/1/2; pixel 2: tie 1/2
  const Unary u(3, 1, 3, std::vector<float>{1, 1, 2, 1, 1, 1, 2, 1, 1});
  CrfParams p;
  p.iterations = 0;
  const CrfResult r = DenseCrf2D(image, p).infer(u);
  EXPECT_EQ(r.map.labels, (std::vector<uint8_t>{0, 0, 1}));
}

// Exact Gaussian filtering, O(N²), the obviously correct reference the lattice approximates.
std::vector<double> brute_force_filter(const std::vector<float>& f,
                                       int d,
                                       const std::vector<float>& v) {
  const size_t n = v.size();
  std::vector<double> out(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      double d2 = 0;
      for (int k = 0; k < d; ++k) {
        const double diff = f[i * d + k] - f[j * d + k];
        d2 += diff * diff;
      }
      out[i] += std::exp(-0.5 * d2) * v[j];
    }
  }
  return out;
}

TEST(CrfLattice, NormalisedFilterApproximatesExactGaussianFiltering) {
  for (int d : {2, 5}) {
    std::mt19937 rng(static_cast<uint32_t>(d));
    std::uniform_real_distribution<float> pos(0.0f, 6.0f), val(0.0f, 1.0f);
    const size_t n = 24 * 24;
    std::vector<float> f(n * static_cast<size_t>(d)), v(n), ones(n, 1.0f), out(n), norm(n);
    for (auto& x : f)
      x = pos(rng);
    for (size_t i = 0; i < n; ++i)
      v[i] = 0.5f + 0.5f * std::sin(f[i * d] + f[i * d + 1]);  // smooth signal
    const PermutohedralLattice lat = PermutohedralLattice::build(f.data(), n, d);
    LatticeWorkspace ws;
    lat.filter(v.data(), 1, out.data(), ws);
    lat.filter(ones.data(), 1, norm.data(), ws);
    const std::vector<double> exact = brute_force_filter(f, d, v);
    const std::vector<double> exact_norm = brute_force_filter(f, d, std::vector<float>(n, 1.0f));
    double err = 0;
    for (size_t i = 0; i < n; ++i)
      err += std::fabs(out[i] / norm[i] - exact[i] / exact_norm[i]);
    err /= static_cast<double>(n);
    std::printf("[ lattice ] d=%d: %zu vertices, mean |normalised lattice − exact| = %.4f\n",
                d,
                lat.num_vertices(),
                err);
    // The lattice blurs with a slightly different effective width than the exact Gaussian and is
    // coarser in 5-D; a wrong blur or slice gives errors several times larger.
    EXPECT_LT(err, d == 2 ? 0.03 : 0.08);
  }
}

TEST(CrfLattice, FilterIsLinearAndRejectsBadDimensions) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0.0f, 3.0f);
  const size_t n = 200;
  std::vector<float> f(n * 3), a(n * 2), b(n * 2), ab(n * 2), ra(n * 2), rb(n * 2), rab(n * 2);
  for (auto& x : f)
    x = u(rng);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = u(rng);
    b[i] = u(rng);
    ab[i] = a[i] + b[i];
  }
  const PermutohedralLattice lat = PermutohedralLattice::build(f.data(), n, 3);
  LatticeWorkspace ws;
  lat.filter(a.data(), 2, ra.data(), ws);
  lat.filter(b.data(), 2, rb.data(), ws);
  lat.filter(ab.data(), 2, rab.data(), ws);
  for (size_t i = 0; i < ra.size(); ++i)
    EXPECT_NEAR(rab[i], ra[i] + rb[i], 1e-4 * (1 + std::fabs(rab[i])));
  EXPECT_THROW(PermutohedralLattice::build(f.data(), n, 0), Error);
  EXPECT_THROW(PermutohedralLattice::build(f.data(), n, 17), Error);
}

TEST(CrfModel, BadInputsAreRefused) {
  const Small s = small_case(8, 8, 3, 1);
  const DenseCrf2D crf(s.image, CrfParams::preset(CrfPreset::kDeepLab));
  // A unary one pixel short of the image.
  const Unary bad(s.unary.channels(), s.unary.height(), s.unary.width() - 1);
  EXPECT_THROW(crf.infer(bad), Error);
  CrfParams p = CrfParams::preset(CrfPreset::kDeepLab);
  p.terms[0].sxy = 0;
  test::expect_error([&] { DenseCrf2D(s.image, p); }, {"CrfParams::terms[0].sxy must be > 0"});
}

}  // namespace
}  // namespace pm

namespace pm {
namespace {

TEST(CrfThreads, ResultsAreIdenticalForAnyThreadCount) {
  const Small a = small_case(61, 47, 21, 21);
  const Unary u3 = small_case(61, 47, 3, 22).unary;
  const Unary u2 = small_case(61, 47, 2, 23).unary;
  const std::vector<const Unary*> batch = {&a.unary, &u3, &u3, &u3, &u2, &u2};
  const DenseCrf2D crf(a.image, CrfParams::preset(CrfPreset::kUrn));
  const std::vector<CrfResult> one = crf.infer_batch(batch);
  const CrfResult single = crf.infer(a.unary);  // 21 labels: rows of 3 blocks (run splat)
  auto same = [](const CrfResult& x, const CrfResult& y) {
    return x.map.labels == y.map.labels && x.q.size() == y.q.size() &&
           std::memcmp(x.q.data(), y.q.data(), x.q.size() * sizeof(float)) == 0;
  };
  for (int threads : {2, 3, 8}) {
    const DenseCrf2D threaded(
        a.image, CrfParams::preset(CrfPreset::kUrn), threads);  // lattices built side by side
    const std::vector<CrfResult> many = threaded.infer_batch(batch);
    for (size_t i = 0; i < batch.size(); ++i)
      EXPECT_TRUE(same(many[i], one[i])) << threads << " threads, crf " << i;
    EXPECT_TRUE(same(threaded.infer(a.unary), single)) << threads << " threads, single CRF";
  }
}

// Probability maps as np.savez_compressed stores them (one array in a deflated .npz) read the
// same as the .npy.
TEST(CrfInputs, ReadsPlanesFromANpyOrAOneArrayNpz) {
  const test::TempDir dir("planes");
  const NDArray planes =
      NDArray::from(std::vector<float>{0.25f, 0.5f, 0.75f, 0.5f, 0.25f, 0.75f}, {2, 1, 3});
  write_npy(dir / "a.npy", planes);
  write_npz(dir / "a.npz", {{"probs", planes}}, /*compress=*/true);
  write_npz(dir / "two.npz", {{"a", planes}, {"b", planes}});
  const Planes a = read_label_planes(dir / "a.npy", 3, 1);
  const Planes b = read_label_planes(dir / "a.npz", 3, 1);
  EXPECT_EQ(b.values(), a.values());
  EXPECT_EQ(b.channels(), 2);
  EXPECT_EQ(a.channels(), 2);
  test::expect_error([&] { read_label_planes(dir / "two.npz", 3, 1); },
                     {"two.npz: expected one array in the .npz, found 2"});
}

// The kernels of a preset given as features (pydensecrf's generic addPairwiseEnergy path, which
// the Python drop-in uses for every kernel) give the image constructor's bits.
TEST(CrfFeatures, KernelsGivenAsFeaturesEqualTheImageConstructorBitForBit) {
  const Small s = small_case(31, 17, 4, 41);
  const CrfParams params = CrfParams::preset(CrfPreset::kDeepLab);
  std::vector<PairwiseFeatures> kernels;
  for (const PairwiseTerm& t : params.terms) {
    PairwiseFeatures k;
    k.term = t;
    k.dims = t.bilateral() ? 5 : 2;
    k.features = crf_features(s.image, t);
    kernels.push_back(std::move(k));
  }
  const CrfResult a = DenseCrf2D(s.image, params).infer(s.unary);
  const CrfResult b = DenseCrf2D(31, 17, kernels, params.iterations).infer(s.unary);
  EXPECT_EQ(a.map.labels, b.map.labels);
  EXPECT_EQ(std::memcmp(a.q.data(), b.q.data(), a.q.size() * sizeof(float)), 0);
  // A feature count that does not fit the size, and a width too small for the lattice (what a
  // tiny srgb gives; the reference corrupts its heap), are refused.
  std::vector<PairwiseFeatures> short_features = kernels;
  short_features[0].features.pop_back();
  EXPECT_THROW(DenseCrf2D(31, 17, short_features, 10), Error);
  std::vector<PairwiseFeatures> tiny_width = kernels;
  for (float& f : tiny_width[1].features)
    f *= 1e6f;
  EXPECT_THROW(DenseCrf2D(31, 17, tiny_width, 10), Error);
}

// pydensecrf's startInference/stepInference: steps continued from given marginals equal the same
// number of steps at once, and the KL divergence (its klDivergence) decreases along them.
TEST(CrfSteps, ContinuedStepsEqualOneRunAndLowerTheKlDivergence) {
  const Small s = small_case(23, 19, 3, 43);
  CrfParams params = CrfParams::preset(CrfPreset::kDeepLab);
  params.iterations = 0;
  const DenseCrf2D crf(s.image, params);
  const CrfResult start = crf.infer(s.unary);
  // Continuing from no marginals starts from softmax(−U), as infer() does.
  const CrfResult from_unary = crf.continue_inference(s.unary, Planes(), 3);
  const CrfResult three = crf.continue_inference(s.unary, start.q, 3);
  const CrfResult five = crf.continue_inference(s.unary, three.q, 2);
  EXPECT_EQ(std::memcmp(from_unary.q.data(), three.q.data(), three.q.size() * sizeof(float)), 0);
  params.iterations = 5;
  const CrfResult at_once = DenseCrf2D(s.image, params).infer(s.unary);
  EXPECT_EQ(five.map.labels, at_once.map.labels);
  EXPECT_EQ(std::memcmp(five.q.data(), at_once.q.data(), five.q.size() * sizeof(float)), 0);
  const double kl0 = crf.kl_divergence(s.unary, start.q);
  const double kl3 = crf.kl_divergence(s.unary, three.q);
  const double kl5 = crf.kl_divergence(s.unary, five.q);
  EXPECT_LT(kl3, kl0);
  EXPECT_LE(kl5, kl3 + 1e-3 * std::fabs(kl3));
  // With no pairwise terms the KL divergence is Σ q·log q + Σ U·q, computed here directly.
  CrfParams none;
  none.iterations = 0;
  double want = 0.0;
  for (size_t i = 0; i < start.q.size(); ++i)
    want += start.q.data()[i] * (std::log(start.q.data()[i]) + s.unary.data()[i]);
  EXPECT_NEAR(
      DenseCrf2D(s.image, none).kl_divergence(s.unary, start.q), want, 1e-6 * std::fabs(want));
  EXPECT_THROW(crf.continue_inference(s.unary, Planes(2, 19, 23), 1), Error);
}

}  // namespace
}  // namespace pm
