// SPDX-License-Identifier: MIT
// URN's steps on hand-checkable inputs (docs/reference/urn-official-code.md §1–3).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "../support/expect_error.h"
#include "../support/test_paths.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/urn/uncertainty.h"

namespace pm {
namespace {

TEST(UrnScaleResponse, RaisesOnlyTheScaledChannelAndDoesNotRenormalise) {
  // C = 3 classes, N = 2 pixels, label-major; present classes {0, 2}.
  const Planes probs(
      3, 1, 2, std::vector<float>{0.5f, 0.2f, /*class 1*/ 0.1f, 0.1f, /*class 2*/ 0.5f, 0.75f});
  const std::vector<float> a = scale_response(probs, {0, 2}, /*scaled=*/1, 2.0f).values();
  EXPECT_EQ(a, (std::vector<float>{0.5f, 0.2f, 0.25f, 0.5625f}));  // P_0 unchanged, P_2²
  const std::vector<float> b = scale_response(probs, {0, 2}, /*scaled=*/0, 0.5f).values();
  EXPECT_FLOAT_EQ(b[0], std::sqrt(0.5f));
  EXPECT_FLOAT_EQ(b[1], std::sqrt(0.2f));
  EXPECT_EQ(b[2], 0.5f);
  EXPECT_EQ(b[3], 0.75f);
  EXPECT_GT(b[0] + b[2], 1.2f);  // no renormalisation: 0.707 + 0.5
  test::expect_error(
      [&] {
        scale_response(probs, {0, 2}, 2, 2.0f);
      },
      {"scaled channel 2", "2 present classes"});
}

TEST(UrnScaleResponse, RaiseChannelIsTheScaledChannelOfScaleResponse) {
  // The production path raises one channel (raise_channel); scale_response builds the whole
  // variant from it. Both must give the same floats for the scaled channel.
  const Planes probs(
      2, 1, 3, std::vector<float>{0.3f, 0.9f, 1e-4f, /*class 1*/ 0.7f, 0.1f, 0.9999f});
  for (const float s : {0.15f, 0.2f, 0.25f, 4.0f, 5.0f, 6.0f}) {
    Planes out;
    raise_channel(probs, /*channel=*/1, s, out);
    const std::vector<float>& raised = out.values();
    const std::vector<float> variant = scale_response(probs, {0, 1}, /*scaled=*/1, s).values();
    EXPECT_EQ(raised, std::vector<float>(variant.begin() + 3, variant.end())) << s;
    EXPECT_EQ(raised[0], std::pow(0.7f, s)) << s;
  }
}

TEST(UrnVariance, PopulationVarianceIsNumpysDdofZero) {
  const double x[] = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(population_variance(x, 4), 1.25);  // np.var([1,2,3,4]); ddof=1 gives 1.667
  const double b[] = {1, 1, 0, 0, 0, 0};
  EXPECT_DOUBLE_EQ(population_variance(b, 6), 8.0 / 36.0);
  const double c[] = {7};
  EXPECT_EQ(population_variance(c, 1), 0.0);
}

TEST(UrnVariance, OverSixBinaryScalesTakesTheFourOfficialLevels) {
  const std::vector<double> v = variance_over_scales({0, 1, 2, 3, 4, 5, 6}, 6);
  const double want[] = {0, 5.0 / 36, 8.0 / 36, 9.0 / 36, 8.0 / 36, 5.0 / 36, 0};
  ASSERT_EQ(v.size(), 7u);
  for (size_t i = 0; i < v.size(); ++i)
    EXPECT_NEAR(v[i], want[i], 1e-15) << i << " ones";
  test::expect_error([] { variance_over_scales({7}, 6); }, {"7 ones out of 6"});
}

TEST(UrnMaxOverClasses, TakesThePixelwiseMaximum) {
  const std::vector<double> u =
      max_over_classes({{0.0, 0.25, 0.1}, {0.2, 0.0, 0.1}, {0.1, 0.1, 0.0}});
  EXPECT_EQ(u, (std::vector<double>{0.2, 0.25, 0.1}));
  test::expect_error([] { max_over_classes({{0.0, 1.0}, {0.0}}); }, {"class 1 has 1"});
}

TEST(UrnMinMax, NormalisesPerImageWithTheOfficialEpsilon) {
  const std::vector<double> u = min_max_normalise({0.0, 0.25, 0.125, 5.0 / 36});
  EXPECT_EQ(u[0], 0.0);
  EXPECT_DOUBLE_EQ(u[1], 0.25 / (0.25 + 1e-6));  // the maximum stays just below 1
  EXPECT_LT(u[1], 1.0);
  EXPECT_DOUBLE_EQ(u[2], 0.125 / (0.25 + 1e-6));
  // An offset does not matter: the minimum maps to 0.
  const std::vector<double> shifted = min_max_normalise({0.5, 0.75});
  EXPECT_EQ(shifted[0], 0.0);
  EXPECT_DOUBLE_EQ(shifted[1], 0.25 / (0.25 + 1e-6));
}

TEST(UrnMinMax, ConstantMapIsCertainEverywhereAsTheOfficialCode) {
  // (U_raw − min) / (0 + 1e−6) = 0 for any constant, even a maximal one: no pixel is uncertain.
  for (double level : {0.0, 9.0 / 36}) {
    const std::vector<double> u = min_max_normalise(std::vector<double>(5, level));
    for (double v : u) {
      EXPECT_EQ(v, 0.0);
      EXPECT_EQ(weight_byte_from_uncertainty(v), 255);
      EXPECT_EQ(hard_weight(weight_byte_from_uncertainty(v), 0.05f), 1.0f);
    }
  }
}

TEST(UrnWeightByte, TruncatesAndGivesTheOfficialLevels) {
  EXPECT_EQ(weight_byte_from_uncertainty(0.0), 255);
  EXPECT_EQ(weight_byte_from_uncertainty(1.0), 0);
  EXPECT_EQ(weight_byte_from_uncertainty(1.0 - 12.9 / 255), 12);  // truncation, not rounding
  // The levels of a VOC image whose maximum variance is 9/36 (urn-official-code.md §3).
  const std::vector<double> u = min_max_normalise({0.0, 5.0 / 36, 8.0 / 36, 9.0 / 36});
  EXPECT_EQ(weight_byte_from_uncertainty(u[0]), 255);
  EXPECT_EQ(weight_byte_from_uncertainty(u[1]), 113);
  EXPECT_EQ(weight_byte_from_uncertainty(u[2]), 28);
  EXPECT_EQ(weight_byte_from_uncertainty(u[3]), 0);
}

TEST(UrnWeights, HardThresholdIncludesExactlyT) {
  const float t = 12.0f / 255.0f;  // a threshold that a weight byte hits exactly
  EXPECT_EQ(hard_weight(12, t), t);
  EXPECT_EQ(hard_weight(13, t), 1.0f);
  // The default t = 0.05 sits between bytes 12 (0.047) and 13 (0.051).
  EXPECT_EQ(hard_weight(0, 0.05f), 0.05f);
  EXPECT_EQ(hard_weight(12, 0.05f), 0.05f);
  EXPECT_EQ(hard_weight(13, 0.05f), 1.0f);
  EXPECT_EQ(hard_weight(28, 0.05f), 1.0f);
  EXPECT_TRUE(is_uncertain(12, 0.05f));
  EXPECT_FALSE(is_uncertain(13, 0.05f));
}

TEST(UrnWeights, SoftIsWFlooredAtTAndProbIsTheByte) {
  EXPECT_EQ(soft_weight(0, 0.05f), 0.05f);
  EXPECT_EQ(soft_weight(12, 0.05f), 0.05f);
  EXPECT_FLOAT_EQ(soft_weight(28, 0.05f), 28.0f / 255);
  EXPECT_EQ(soft_weight(255, 0.05f), 1.0f);
  EXPECT_FLOAT_EQ(prob_weight(51), 0.2f);
  EXPECT_EQ(weight_byte_from_probability(1.0f), 255);
  EXPECT_EQ(weight_byte_from_probability(0.999f), 254);  // truncation
  EXPECT_EQ(weight_byte_from_probability(0.0f), 0);
  EXPECT_EQ(weight_from_byte(28, UrnWeightMode::kHard, 0.05f), 1.0f);
  EXPECT_FLOAT_EQ(weight_from_byte(28, UrnWeightMode::kSoft, 0.05f), 28.0f / 255);
  EXPECT_FLOAT_EQ(weight_from_byte(28, UrnWeightMode::kProb, 0.05f), 28.0f / 255);
}

TEST(UrnPresentClasses, ListsTheLabelsOfTheMaskAscending) {
  LabelMap m(4, 1);
  m.labels = {20, 5, 0, 5};
  EXPECT_EQ(present_classes(m), (std::vector<uint8_t>{0, 5, 20}));
  m.labels = {7, 7, 7, 7};
  EXPECT_EQ(present_classes(m), (std::vector<uint8_t>{7}));  // background only if predicted
}

TEST(UrnOptions, PresetsAreTheOfficialScaleSets) {
  EXPECT_EQ(UrnOptions::preset(UrnDataset::kVoc).scales,
            (std::vector<float>{0.15f, 0.2f, 0.25f, 4.0f, 5.0f, 6.0f}));
  EXPECT_EQ(UrnOptions::preset(UrnDataset::kCoco).scales,
            (std::vector<float>{0.4f, 0.5f, 0.6f, 2.0f, 3.0f, 4.0f}));
  UrnOptions o = UrnOptions::preset(UrnDataset::kVoc);
  o.max_group_channels = 24;  // the width of the 21-label CRF's rows
  EXPECT_EQ(o.threshold, 0.05f);
  ASSERT_EQ(o.crf.terms.size(), 2u);
  EXPECT_EQ(o.crf.terms[0].sxy, 1.0f);
  EXPECT_EQ(o.crf.terms[1].sxy, 67.0f);
  EXPECT_EQ(o.crf.terms[1].srgb, 3.0f);
  EXPECT_EQ(o.crf.terms[1].weight, 4.0f);
  EXPECT_STREQ(urn_dataset_name(UrnDataset::kCoco), "coco");
  UrnOptions bad = o;
  bad.scales = {0.5f, -1.0f};
  test::expect_error([&] { bad.validate(); }, {"UrnOptions::scales", "-1"});
  bad = o;
  bad.threshold = 1.5f;
  test::expect_error([&] { bad.validate(); }, {"UrnOptions::threshold", "1.5"});
  EXPECT_STREQ(urn_weight_mode_name(UrnWeightMode::kSoft), "soft");
}

// A synthetic image: left part dark, right part bright; class a on the left, class b on the
// right, with probabilities that blend linearly over a band in the middle.
struct Scene {
  RgbImage image;
  std::vector<float> probs;  // (C, N)
  int classes = 4;

  /// The probabilities as (C, H, W) planes.
  Planes planes() const { return Planes(classes, image.height, image.width, probs); }
};

uint8_t byte_at(const WeightMap& m, int x, int y) {
  return m.bytes[static_cast<size_t>(y) * m.width + x];
}

Scene two_region_scene(int w, int h, uint8_t a, uint8_t b) {
  Scene s;
  s.image = RgbImage(w, h);
  const size_t n = static_cast<size_t>(w) * h;
  s.probs.assign(static_cast<size_t>(s.classes) * n, 0.01f);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const size_t p = static_cast<size_t>(y) * w + x;
      const uint8_t v = x < w / 2 ? 40 : 200;
      for (int c = 0; c < 3; ++c)
        s.image.pixels[3 * p + c] = v;
      // P_b rises from 0.03 to 0.95 across the image; P_a takes the rest.
      const float pb = 0.03f + 0.92f * static_cast<float>(x) / static_cast<float>(w - 1);
      s.probs[b * n + p] = pb;
      s.probs[a * n + p] = 0.97f - pb;
    }
  }
  return s;
}

// The URN options with a Gaussian (smoothness) term only: on an image this small URN's bilateral
// term (sxy 67) joins every pixel of a colour, and each region would flip as a whole.
UrnOptions local_options() {
  UrnOptions o = UrnOptions::preset(UrnDataset::kVoc);
  o.crf.terms.resize(1);
  return o;
}

TEST(UrnCompute, SingleClassImageIsCertainEverywhere) {
  Scene s = two_region_scene(24, 16, 3, 1);
  for (size_t p = 0; p < s.image.num_pixels(); ++p) {  // class 3 wins everywhere
    s.probs[3 * s.image.num_pixels() + p] = 0.9f;
    s.probs[1 * s.image.num_pixels() + p] = 0.05f;
  }
  const DenseCrf2D crf(s.image, CrfParams::preset(CrfPreset::kUrn));
  const UrnResult r = compute_urn(crf, s.planes(), UrnOptions::preset(UrnDataset::kVoc));
  EXPECT_EQ(r.present, (std::vector<uint8_t>{3}));
  for (size_t p = 0; p < s.image.num_pixels(); ++p) {
    ASSERT_EQ(r.cyclic_mask.labels[p], 3);
    ASSERT_EQ(r.uncertainty[p], 0.0);
    ASSERT_EQ(r.weight_byte.bytes[p], 255);
    ASSERT_EQ(r.weight.values()[p], 1.0f);
  }
  EXPECT_EQ(r.uncertain_pixels, 0u);
}

TEST(UrnCompute, UncertaintyMarksTheAmbiguousBandBetweenTwoClasses) {
  const int w = 40, h = 12;
  const Scene s = two_region_scene(w, h, 0, 2);
  const UrnOptions o = local_options();
  const DenseCrf2D crf(s.image, o.crf);
  const UrnResult r = compute_urn(crf, s.planes(), o);
  EXPECT_EQ(r.present, (std::vector<uint8_t>{0, 2}));
  EXPECT_EQ(r.cyclic_mask.at(0, 5), 0);
  EXPECT_EQ(r.cyclic_mask.at(w - 1, 5), 2);
  // The extreme columns keep their class at every scale; some middle column does not.
  ASSERT_GT(r.uncertain_pixels, 0u);
  size_t uncertain = 0;
  for (int y = 0; y < h; ++y) {
    EXPECT_EQ(byte_at(r.weight_byte, 0, y), 255);
    EXPECT_EQ(byte_at(r.weight_byte, w - 1, y), 255);
    // Column 20: P_2 = 0.502, P_0 = 0.468: class 2 at s < 1, class 0 at s > 1, i.e. 3 of 6
    // scales, variance 9/36, the maximum: W8 = 0.
    EXPECT_EQ(byte_at(r.weight_byte, w / 2, y), 0);
    for (int x = 0; x < w; ++x) {
      const size_t p = static_cast<size_t>(y) * w + x;
      const uint8_t g = r.weight_byte.bytes[p];
      EXPECT_EQ(g, weight_byte_from_uncertainty(r.uncertainty[p]));
      // The hard weight is binary: t on the top variance level, 1 elsewhere.
      EXPECT_EQ(r.weight.values()[p], g <= 12 ? 0.05f : 1.0f);
      uncertain += g <= 12;
      if (g <= 12) {
        EXPECT_GT(x, 2);
        EXPECT_LT(x, w - 3);
      }
    }
  }
  EXPECT_EQ(uncertain, r.uncertain_pixels);
  EXPECT_NEAR(r.uncertain_fraction(), static_cast<double>(uncertain) / (w * h), 1e-12);
  // The maximum of U is just below 1 (the +1e-6), the minimum 0.
  EXPECT_EQ(*std::min_element(r.uncertainty.begin(), r.uncertainty.end()), 0.0);
  EXPECT_GT(*std::max_element(r.uncertainty.begin(), r.uncertainty.end()), 0.99999);
}

TEST(UrnCompute, SoftAndProbModes) {
  const Scene s = two_region_scene(40, 12, 0, 2);
  UrnOptions o = local_options();
  const DenseCrf2D crf(s.image, o.crf);
  const UrnResult hard = compute_urn(crf, s.planes(), o);
  o.mode = UrnWeightMode::kSoft;
  const UrnResult soft = compute_urn(crf, s.planes(), o);
  o.mode = UrnWeightMode::kProb;
  const UrnResult prob = compute_urn(crf, s.planes(), o);
  const size_t n = s.image.num_pixels();
  EXPECT_EQ(soft.weight_byte.bytes, hard.weight_byte.bytes);
  EXPECT_EQ(soft.cyclic_mask.labels, hard.cyclic_mask.labels);
  EXPECT_TRUE(prob.uncertainty.empty());
  for (size_t p = 0; p < n; ++p) {
    EXPECT_FLOAT_EQ(soft.weight.values()[p], std::max(hard.weight_byte.bytes[p] / 255.0f, 0.05f));
    const uint8_t label = prob.cyclic_mask.labels[p];
    const uint8_t g = static_cast<uint8_t>(s.probs[label * n + p] * 255.0);
    EXPECT_EQ(prob.weight_byte.bytes[p], g);
    EXPECT_FLOAT_EQ(prob.weight.values()[p], g / 255.0f);
  }
}

TEST(UrnCompute, ResultsDoNotDependOnThreadsOrBatching) {
  const Scene s = two_region_scene(48, 20, 1, 3);
  UrnOptions o = UrnOptions::preset(UrnDataset::kCoco);
  DenseCrf2D one(s.image, o.crf);
  const UrnResult a = compute_urn(one, s.planes(), o);
  const DenseCrf2D three(s.image, o.crf, /*threads=*/3);
  o.max_group_channels = 3;  // one scaled CRF per lattice traversal
  CrfWorkspace ws;
  const UrnResult b = compute_urn(three, s.planes(), o, &ws);
  EXPECT_EQ(a.cyclic_mask.labels, b.cyclic_mask.labels);
  EXPECT_EQ(a.uncertainty, b.uncertainty);
  EXPECT_EQ(a.weight_byte.bytes, b.weight_byte.bytes);
  EXPECT_GT(a.uncertain_pixels, 0u);
}

// Bytes a CRF workspace holds.
size_t workspace_bytes(const CrfWorkspace& ws) {
  size_t floats = ws.neg_unary.capacity() + ws.q.capacity();
  for (const LatticeWorkspace& l : ws.lattices)
    floats += l.values.capacity();
  return floats * sizeof(float);
}

// The memory bound of a URN job: on a real VOC image (21 classes, K = 3), K·N scaled CRFs run in
// groups no wider than M_c's CRF (--group-channels 24) need no more workspace than it.
TEST(UrnCompute, ScaledCrfsNeedNoMoreWorkspaceThanTheCyclicMaskCrf) {
  const std::string id = "2007_000129";
  const RgbImage image = read_image(test::data_file("voc_sample/JPEGImages/" + id + ".jpg"));
  const Planes probs =
      read_urn_probabilities(test::data_file("voc_sample/probs_espnetv2/" + id + ".npz"),
                             image.width,
                             image.height,
                             false,
                             21);
  UrnOptions o = UrnOptions::preset(UrnDataset::kVoc);
  o.max_group_channels = 24;  // the width of the 21-label CRF's rows
  const DenseCrf2D crf(image, o.crf);
  CrfWorkspace ws;
  crf.infer(unary_from_probabilities(probs), &ws, CrfOutputs::kLabels);
  const size_t cyclic = workspace_bytes(ws);
  const UrnResult r = compute_urn(crf, probs, o, &ws);
  EXPECT_EQ(r.present.size(), 3u);
  EXPECT_EQ(workspace_bytes(ws), cyclic);
  // The blur runs in place: per channel, the −U and Q rows and one table per kernel, nothing more
  // (21 classes pad to 24 channels).
  ASSERT_EQ(ws.lattices.size(), 2u);
  const size_t ch = 24;
  EXPECT_EQ(ws.neg_unary.size(), probs.pixels() * ch);
  for (const LatticeWorkspace& l : ws.lattices)
    EXPECT_EQ(l.values.capacity() % ch, 0u);
  EXPECT_EQ(workspace_bytes(ws),
            (2 * probs.pixels() + ws.lattices[0].values.capacity() / ch +
             ws.lattices[1].values.capacity() / ch) *
                ch * sizeof(float));
}

TEST(UrnCompute, RejectsBadClassCounts) {
  const Scene s = two_region_scene(8, 4, 0, 1);
  const DenseCrf2D crf(s.image, CrfParams::preset(CrfPreset::kUrn));
  test::expect_error(
      [&] {
        // One class: the scene's first plane alone.
        const std::vector<float> first(s.probs.begin(), s.probs.begin() + s.image.num_pixels());
        const Planes one(1, s.image.height, s.image.width, first);
        compute_urn(crf, one, UrnOptions::preset(UrnDataset::kVoc));
      },
      {"2..255 classes, got 1"});
}

TEST(UrnInputs, RejectsLogitsNaNAndWrongShapesNamingTheFile) {
  test::TempDir dir("urn_inputs");
  const int w = 5, h = 3, c = 4;
  std::vector<float> p(static_cast<size_t>(c) * w * h, 0.25f);
  const std::string good = dir / "good.npy";
  write_npy(good, NDArray::from(p, {c, h, w}));
  const Planes read = read_urn_probabilities(good, w, h, false, 4);
  EXPECT_EQ(read.values(), p);
  EXPECT_EQ(read.channels(), 4);
  // Wrong image size, and C different from the dataset's class count.
  test::expect_error([&] { read_urn_probabilities(good, 6, 3, false, 0); },
                     {"good.npy", "expected", "(4, 3, 5)"});
  test::expect_error([&] { read_urn_probabilities(good, w, h, false, 21); },
                     {"good.npy", "4 class channels, expected 21"});
  // One channel cannot be URN's input.
  const std::string one = dir / "one.npy";
  write_npy(one, NDArray::from(std::vector<float>(w * h, 1.0f), {1, h, w}));
  test::expect_error([&] { read_urn_probabilities(one, w, h, false, 0); },
                     {"one.npy", "1 class channels"});
  // Logits given as probabilities, and NaN.
  std::vector<float> logits = p;
  logits[2 * w * h + 1 * w + 3] = 3.5f;  // class 2, pixel (x=3, y=1)
  const std::string lg = dir / "logits.npy";
  write_npy(lg, NDArray::from(logits, {c, h, w}));
  test::expect_error([&] { read_urn_probabilities(lg, w, h, false, 0); },
                     {"logits.npy", "3.5", "class 2", "x=3, y=1", "logits need a softmax"});
  const std::vector<float> soft = read_urn_probabilities(lg, w, h, true, 0).values();
  const size_t px = 1 * w + 3;
  EXPECT_NEAR(soft[2 * w * h + px], std::exp(3.5) / (std::exp(3.5) + 3 * std::exp(0.25)), 1e-6);
  std::vector<float> nan = p;
  nan[7] = std::numeric_limits<float>::quiet_NaN();
  const std::string bad = dir / "nan.npy";
  write_npy(bad, NDArray::from(nan, {c, h, w}));
  test::expect_error([&] { read_urn_probabilities(bad, w, h, false, 0); }, {"nan.npy", "NaN"});
}

}  // namespace
}  // namespace pm
