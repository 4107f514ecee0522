// SPDX-License-Identifier: MIT
// IrnNet, irn_losses and irn_boundary against the independent PyTorch reference of
// tests/fixtures/nn/make_irn_fixtures.py (irn_expected.npz). Both sides fill every parameter and
// buffer from its key (support/hash_fill.h), so that the comparison covers IRN's names and
// shapes too. Case a: 2x3x64x80, radius 5; case b: 1x3x70x90 (odd: the upsampled levels are
// cropped), radius 10.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/nn/irn/irn_net.h"
#include "pseudomask/nn/tensor.h"
#include "support/hash_fill.h"
#include "support/test_paths.h"

namespace pm::nn {
namespace {

/// Outputs, losses, gradients and boundaries must match PyTorch's to this absolute tolerance.
constexpr double kTolerance = 1e-4;

const std::map<std::string, NDArray>& arrays() {
  static const auto a = read_npz(test::fixture("nn/irn_expected.npz"));
  return a;
}

torch::Tensor expected(const std::string& key) {
  const auto it = arrays().find(key);
  if (it == arrays().end()) {
    ADD_FAILURE() << "irn_expected.npz has no " << key;
    return torch::zeros({0});
  }
  return to_tensor(it->second);
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double err =
      (got.detach().to(torch::kDouble) - want.to(torch::kDouble)).abs().max().item<double>();
  EXPECT_LT(err, kTolerance) << what << ": max abs error " << err;
  EXPECT_GT(want.abs().max().item<double>(), 1e-3) << what << ": reference is trivially small";
}

IrnNet hashed_tiny_net() {
  IrnNetOptions o;
  o.backbone = "resnet-tiny";
  IrnNet net(o);
  test::hash_fill(*net);
  return net;
}

IrnPairLabels pair_labels(const std::string& tag) {
  return {expected(tag + "_bg_pos").to(torch::kFloat),
          expected(tag + "_fg_pos").to(torch::kFloat),
          expected(tag + "_neg").to(torch::kFloat)};
}

class IrnReference : public ::testing::TestWithParam<std::string> {};

TEST_P(IrnReference, EvalOutputsMatch) {
  const std::string tag = GetParam();
  IrnNet net = hashed_tiny_net();
  net->eval();
  torch::NoGradGuard no_grad;
  const IrnOutputs out = net->forward(expected(tag + "_input"));
  expect_close(out.edge, expected(tag + "_edge_eval"), "edge");
  expect_close(out.displacement, expected(tag + "_dp_eval"), "displacement");
}

TEST_P(IrnReference, TrainOutputsLossesAndGradientsMatch) {
  const std::string tag = GetParam();
  IrnNet net = hashed_tiny_net();
  net->train();
  const IrnOutputs out = net->forward(expected(tag + "_input"));
  expect_close(out.edge, expected(tag + "_edge_train"), "edge");
  expect_close(out.displacement, expected(tag + "_dp_train"), "displacement");
  auto ms = net->fc_dp7->ptr<MeanShiftImpl>(4);
  expect_close(ms->running_mean, expected(tag + "_running_mean"), "running_mean");
  expect_close(ms->running_var, expected(tag + "_running_var"), "running_var");

  const int radius = expected(tag + "_radius").item<int>();
  const PathIndex index(
      radius, static_cast<int>(out.edge.size(2)), static_cast<int>(out.edge.size(3)));
  expect_close(irn_affinity(out.edge, index), expected(tag + "_affinity"), "affinity");
  expect_close(irn_pair_displacement(out.displacement, index), expected(tag + "_disp"), "disp");

  const IrnLosses l = irn_losses(out, pair_labels(tag), index);
  expect_close(l.pos_aff, expected(tag + "_loss_pos_aff"), "pos_aff");
  expect_close(l.neg_aff, expected(tag + "_loss_neg_aff"), "neg_aff");
  expect_close(l.dp_fg, expected(tag + "_loss_dp_fg"), "dp_fg");
  expect_close(l.dp_bg, expected(tag + "_loss_dp_bg"), "dp_bg");
  expect_close(l.total, expected(tag + "_loss_total"), "total");

  l.total.backward();
  auto params = net->named_parameters();
  for (const char* key : {"fc_edge1.0.weight",
                          "fc_edge6.weight",
                          "fc_edge6.bias",
                          "fc_dp1.1.weight",
                          "fc_dp7.3.weight"}) {
    std::string npz_key = tag + "_grad_" + key;
    for (char& c : npz_key)
      c = c == '.' ? '_' : c;
    expect_close(params[key].grad(), expected(npz_key), std::string("gradient of ") + key);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, IrnReference, ::testing::Values("a", "b"));

TEST(IrnReferenceBoundary, FlipAveragedBoundaryMatches) {
  IrnNet net = hashed_tiny_net();
  net->train();
  const torch::Tensor image = expected("b_input")[0];
  const torch::Tensor b = irn_boundary(net, image);
  expect_close(b, expected("b_boundary"), "boundary");
  EXPECT_TRUE(net->is_training());  // the mode is restored
  EXPECT_TRUE(torch::equal(net->fc_dp7->ptr<MeanShiftImpl>(4)->num_batches_tracked,
                           torch::zeros({}, torch::kLong)));  // eval: no statistics updated
}

TEST(IrnReferenceFullSize, ResNet50AtIrnWidthsMatches) {
  IrnNet net{IrnNetOptions{}};
  test::hash_fill(*net);
  net->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::empty({1, 3, 64, 64});
  float* p = x.data_ptr<float>();
  for (int64_t i = 0; i < x.numel(); ++i)
    p[i] = static_cast<float>(std::fmod(static_cast<double>(i) * 0.013, 2.0) - 1.0);
  const IrnOutputs out = net->forward(x);
  expect_close(out.edge, expected("full_edge_eval"), "edge");
  expect_close(out.displacement, expected("full_dp_eval"), "displacement");
}

}  // namespace
}  // namespace pm::nn
