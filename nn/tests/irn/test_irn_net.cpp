// SPDX-License-Identifier: MIT
// IrnNet's structure: output sizes at odd input sizes, IRN's parameter names and groups, the
// frozen backbone, the MeanShift, option errors.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <set>
#include <string>

#include "pseudomask/nn/irn/irn_net.h"
#include "support/expect_error.h"

namespace pm::nn {
namespace {

IrnNetOptions tiny_options() {
  IrnNetOptions o;
  o.backbone = "resnet-tiny";
  return o;
}

TEST(IrnNet, OutputsAreAQuarterOfTheInputRoundedUp) {
  torch::manual_seed(0);
  IrnNet net(tiny_options());
  for (const auto& [h, w] : std::vector<std::pair<int, int>>{{64, 80}, {70, 90}, {33, 47}}) {
    const IrnOutputs out = net->forward(torch::randn({2, 3, h, w}));
    EXPECT_EQ(out.edge.sizes().vec(), (std::vector<int64_t>{2, 1, (h + 3) / 4, (w + 3) / 4}));
    EXPECT_EQ(out.displacement.sizes().vec(),
              (std::vector<int64_t>{2, 2, (h + 3) / 4, (w + 3) / 4}));
  }
}

TEST(IrnNet, ParameterNamesAreIrnsAndTorchvisions) {
  IrnNet net(IrnNetOptions{});
  std::set<std::string> names;
  for (const auto& p : net->named_parameters())
    names.insert(p.key());
  for (const auto& b : net->named_buffers())
    names.insert(b.key());
  for (const char* key : {"backbone.conv1.weight",
                          "backbone.layer4.2.bn3.running_var",
                          "fc_edge1.0.weight",
                          "fc_edge1.1.weight",
                          "fc_edge5.1.bias",
                          "fc_edge6.weight",
                          "fc_edge6.bias",
                          "fc_dp1.0.weight",
                          "fc_dp6.1.weight",
                          "fc_dp7.0.weight",
                          "fc_dp7.3.weight",
                          "fc_dp7.4.running_mean",
                          "fc_dp7.4.running_var",
                          "fc_dp7.4.num_batches_tracked"})
    EXPECT_EQ(names.count(key), 1u) << key;
  // IRN's shapes on ResNet-50.
  EXPECT_EQ(net->fc_edge6->weight.sizes().vec(), (std::vector<int64_t>{1, 160, 1, 1}));
  EXPECT_EQ(net->named_parameters()["fc_dp7.0.weight"].sizes().vec(),
            (std::vector<int64_t>{256, 448, 1, 1}));
  EXPECT_EQ(net->named_parameters()["fc_dp6.0.weight"].sizes().vec(),
            (std::vector<int64_t>{256, 768, 1, 1}));
  EXPECT_EQ(net->named_parameters()["fc_dp1.0.weight"].sizes().vec(),
            (std::vector<int64_t>{64, 64, 1, 1}));
  // Edge: 5 × (conv, GN weight, GN bias) + fc_edge6 weight and bias; dp: 6 × 3 + 4.
  EXPECT_EQ(net->edge_parameters().size(), 17u);
  EXPECT_EQ(net->displacement_parameters().size(), 22u);
}

TEST(IrnNet, BackboneIsFrozenAndStaysInEval) {
  IrnNet net(tiny_options());
  net->train();
  EXPECT_FALSE(net->backbone->is_training());
  EXPECT_TRUE(net->fc_dp7->is_training());
  for (const auto& p : net->backbone->parameters())
    EXPECT_FALSE(p.requires_grad());
  size_t branch = 0;
  for (const auto& p : net->parameters())
    branch += p.requires_grad() ? 1 : 0;
  EXPECT_EQ(branch, net->edge_parameters().size() + net->displacement_parameters().size());

  const IrnOutputs out = net->forward(torch::randn({1, 3, 32, 32}));
  (out.edge.sum() + out.displacement.sum()).backward();
  for (const auto& p : net->edge_parameters())
    EXPECT_TRUE(p.grad().defined());
  for (const auto& p : net->backbone->parameters())
    EXPECT_FALSE(p.grad().defined());
}

TEST(IrnNet, MeanShiftTracksTheMeanInTrainingAndSubtractsItInEval) {
  MeanShift ms(2);
  const torch::Tensor x = torch::stack({torch::full({3, 4}, 2.0f), torch::full({3, 4}, -1.0f)})
                              .unsqueeze(0);  // (1, 2, 3, 4), channel means 2 and -1
  ms->train();
  EXPECT_TRUE(torch::equal(ms->forward(x), x));
  EXPECT_NEAR(ms->running_mean[0].item<float>(), 0.2f, 1e-6);
  EXPECT_NEAR(ms->running_mean[1].item<float>(), -0.1f, 1e-6);
  EXPECT_EQ(ms->num_batches_tracked.item<int64_t>(), 1);
  ms->eval();
  const torch::Tensor y = ms->forward(x);
  EXPECT_NEAR(y[0][0][0][0].item<float>(), 1.8f, 1e-6);
  EXPECT_NEAR(y[0][1][0][0].item<float>(), -0.9f, 1e-6);
}

TEST(IrnNet, OptionErrorsNameTheField) {
  IrnNetOptions o;
  o.backbone = "vgg16";
  test::expect_error([&] { IrnNet net(o); }, {"IrnNetOptions::backbone", "vgg16"});
  o = tiny_options();
  o.edge_width = 6;
  test::expect_error([&] { o.validate(); }, {"IrnNetOptions::edge_width", "6"});
  o = tiny_options();
  o.dp_width = 48;
  test::expect_error([&] { o.validate(); }, {"IrnNetOptions::dp_width", "48"});
}

}  // namespace
}  // namespace pm::nn
