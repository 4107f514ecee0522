// SPDX-License-Identifier: MIT
// Agreement with Krähenbühl's densecrf (through pydensecrf's DenseCRF2D) on the cases in
// tests/data/crf/reference: labels per pixel and the marginals Q.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "../support/crf_reference.h"
#include "../support/test_paths.h"
#include "pseudomask/core/crf/crf_inputs.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"

namespace pm {
namespace {

struct Case {
  int image;
  int labels;
  int iterations;
};

std::string reference_file(const std::string& name) {
  return test::data_file("crf/reference/" + name);
}

// The reference's unary, derived from its annotation (support/crf_reference.h).
Unary load_unary(int image, int labels, size_t pixels) {
  Unary u = test::reference_unary(test::data_file("crf"), image, labels);
  EXPECT_EQ(u.size(), static_cast<size_t>(labels) * pixels);
  return u;
}

class CrfReference : public ::testing::TestWithParam<Case> {};

TEST_P(CrfReference, LabelsAgreeWithTheReference) {
  const Case c = GetParam();
  const RgbImage image = read_image(test::data_file("crf/im" + std::to_string(c.image) + ".png"));
  CrfParams params = CrfParams::preset(CrfPreset::kDeepLab);
  params.iterations = c.iterations;
  const DenseCrf2D crf(image, params);
  const CrfResult r = crf.infer(load_unary(c.image, c.labels, image.num_pixels()));
  const std::string stem = "im" + std::to_string(c.image) + "_M" + std::to_string(c.labels) +
                           "_it" + std::to_string(c.iterations);
  const LabelMap want = read_label_png(reference_file(stem + "_labels.png"));
  ASSERT_EQ(want.labels.size(), r.map.labels.size());
  size_t same = 0;
  for (size_t p = 0; p < want.labels.size(); ++p)
    same += want.labels[p] == r.map.labels[p];
  const double agreement = static_cast<double>(same) / static_cast<double>(want.labels.size());
  std::printf("[ crf ref ] %s: %zu/%zu pixels agree (%.4f %%)\n",
              stem.c_str(),
              same,
              want.labels.size(),
              100.0 * agreement);
  EXPECT_GE(agreement, 0.998);
}

INSTANTIATE_TEST_SUITE_P(AllCases,
                         CrfReference,
                         ::testing::Values(Case{1, 2, 5},
                                           Case{1, 2, 10},
                                           Case{1, 3, 5},
                                           Case{1, 3, 10},
                                           Case{1, 21, 5},
                                           Case{1, 21, 10},
                                           Case{2, 2, 5},
                                           Case{2, 2, 10},
                                           Case{2, 3, 5},
                                           Case{2, 3, 10},
                                           Case{2, 21, 5},
                                           Case{2, 21, 10}),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return "im" + std::to_string(i.param.image) + "_M" +
                                  std::to_string(i.param.labels) + "_it" +
                                  std::to_string(i.param.iterations);
                         });

TEST(CrfReferenceQ, MarginalsMatchWithinTolerance) {
  for (int image : {1, 2}) {
    const RgbImage rgb = read_image(test::data_file("crf/im" + std::to_string(image) + ".png"));
    const DenseCrf2D crf(rgb, CrfParams::preset(CrfPreset::kDeepLab));
    const CrfResult r = crf.infer(load_unary(image, 2, rgb.num_pixels()));
    const std::vector<float> want =
        read_npz(reference_file("im" + std::to_string(image) + "_M2_it10_Q.npz"))
            .begin()
            ->second.to_float_vector();
    ASSERT_EQ(want.size(), r.q.size());
    double max_diff = 0, sum_diff = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      const double d = std::fabs(static_cast<double>(want[i]) - r.q.values()[i]);
      max_diff = std::max(max_diff, d);
      sum_diff += d;
    }
    std::printf("[ crf ref ] im%d_M2_it10 Q: max |dQ| %.3g, mean |dQ| %.3g\n",
                image,
                max_diff,
                sum_diff / static_cast<double>(want.size()));
    EXPECT_LT(max_diff, 1e-5);  // the reference README: builds of the reference differ by ≤ 2.2e-6
  }
}

}  // namespace
}  // namespace pm

namespace pm {
namespace {

// URN's cyclic mask M_c on real VOC images: argmax of the 21-label CRF with URN's parameters over
// a real network's probabilities, as the official URN code computes it with pydensecrf. The
// reference PNG stores B = M_c, which an RGB reader sees as its third channel.
TEST(CrfReferenceUrn, CyclicMaskAgreesWithTheUrnReference) {
  const std::string dir = test::data_file("voc_sample/");
  for (const char* id :
       {"2007_000032", "2007_000061", "2007_000063", "2007_000129", "2007_000175"}) {
    const RgbImage image = read_image(dir + "JPEGImages/" + id + ".jpg");
    const Planes probs =
        read_label_planes(dir + "probs_espnetv2/" + id + ".npz", image.width, image.height);
    ASSERT_EQ(probs.channels(), 21);
    const DenseCrf2D crf(image, CrfParams::preset(CrfPreset::kUrn));
    const CrfResult r = crf.infer(unary_from_probabilities(probs), nullptr, CrfOutputs::kLabels);
    const RgbImage ref = read_image(dir + "urn_reference/" + id + ".png");
    size_t same = 0;
    for (size_t p = 0; p < r.map.labels.size(); ++p)
      same += r.map.labels[p] == ref.pixels[3 * p + 2];
    const double agreement = static_cast<double>(same) / static_cast<double>(r.map.labels.size());
    std::printf("[ crf ref ] URN M_c %s: %zu/%zu pixels agree (%.4f %%)\n",
                id,
                same,
                r.map.labels.size(),
                100.0 * agreement);
    EXPECT_GE(agreement, 0.998) << id;
  }
}

}  // namespace
}  // namespace pm
