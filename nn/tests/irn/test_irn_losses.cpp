// SPDX-License-Identifier: MIT
// irn_affinity against core's edge_to_affinity, its CPU loop against the tensor-operation
// version used off the CPU (ties included: both keep the path's first maximum, as IRN's
// max-pool), the displacement pairs' geometry, and irn_losses' shape errors.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <vector>

#include "pseudomask/core/irn/path_index.h"
#include "pseudomask/nn/irn/irn_net.h"
#include "support/expect_error.h"

namespace pm::nn {
namespace {

TEST(IrnAffinity, EqualsCoresEdgeToAffinity) {
  torch::manual_seed(3);
  const PathIndex index(5, 14, 19);
  const torch::Tensor logits = torch::randn({2, 1, 14, 19}) * 3;
  const torch::Tensor aff = irn_affinity(logits, index);
  for (int64_t i = 0; i < 2; ++i) {
    const torch::Tensor prob = torch::sigmoid(logits[i][0]).contiguous();
    const std::vector<float> boundary(prob.data_ptr<float>(),
                                      prob.data_ptr<float>() + prob.numel());
    const std::vector<float> want = edge_to_affinity(boundary, index);
    const torch::Tensor want_t = torch::from_blob(
        const_cast<float*>(want.data()),
        {static_cast<int64_t>(index.directions.size()), static_cast<int64_t>(index.num_sources())});
    EXPECT_TRUE(torch::equal(aff[i], want_t)) << "image " << i;
  }
}

TEST(IrnAffinity, CpuLoopAndTensorOpsPickTheSameFirstMaximum) {
  torch::manual_seed(4);
  const PathIndex index(6, 13, 17);
  // Four levels only: most paths have ties, so the choice among equal maxima is tested.
  const torch::Tensor prob = torch::randint(0, 4, {3, 13, 17}).to(torch::kFloat) / 4;
  const torch::Tensor edge = torch::logit(prob.clamp(0.05, 0.95)).unsqueeze(1).requires_grad_(true);
  const torch::Tensor ops =
      detail::path_argmax_tensor_ops(torch::sigmoid(edge.detach()).squeeze(1), index);
  // irn_affinity on the CPU uses the loop; its gradient lands on the pixels the loop picked.
  const torch::Tensor aff = irn_affinity(edge, index);
  aff.sum().backward();
  const torch::Tensor from_ops =
      torch::zeros({3, 13 * 17})
          .scatter_add_(1, ops.view({3, -1}), torch::ones({3, ops.size(1) * ops.size(2)}));
  const torch::Tensor grad = edge.grad().view({3, -1});
  const torch::Tensor sig = torch::sigmoid(edge.detach()).view({3, -1});
  // d(1 − σ(e))/de = −σ(1 − σ) at every pick.
  EXPECT_TRUE(torch::allclose(grad, -from_ops * sig * (1 - sig), 1e-5, 1e-6));
  EXPECT_GT(from_ops.sum().item<float>(), 0);
}

TEST(IrnPairDisplacement, IsSourceMinusDestination) {
  const PathIndex index(4, 9, 12);
  torch::Tensor dp = torch::arange(2 * 9 * 12, torch::kFloat).view({1, 2, 9, 12});
  const torch::Tensor disp = irn_pair_displacement(dp, index);
  ASSERT_EQ(disp.sizes().vec(),
            (std::vector<int64_t>{1,
                                  2,
                                  static_cast<int64_t>(index.directions.size()),
                                  static_cast<int64_t>(index.num_sources())}));
  const torch::Tensor flat = dp.view({2, -1});
  for (size_t d = 0; d < index.directions.size(); d += 5) {
    for (size_t s = 0; s < index.num_sources(); s += 7) {
      for (int c = 0; c < 2; ++c) {
        const float want = flat[c][index.sources[s]].item<float>() -
                           flat[c][index.destination(d, s)].item<float>();
        EXPECT_EQ(disp[0][c][static_cast<int64_t>(d)][static_cast<int64_t>(s)].item<float>(), want);
      }
    }
  }
}

TEST(IrnLosses, PerfectPredictionsCostAlmostNothing) {
  // Foreground pairs across a boundary-free map with the ideal displacement: no affinity or
  // displacement loss beyond the epsilons.
  const PathIndex index(3, 8, 10);
  const int64_t d = static_cast<int64_t>(index.directions.size());
  const int64_t s = static_cast<int64_t>(index.num_sources());
  IrnOutputs out;
  out.edge = torch::full({1, 1, 8, 10}, -30.0f);  // σ ≈ 0: affinity 1 everywhere
  // disp(src) − disp(dst) = (dy, dx) when the displacement field is −(y, x).
  const torch::Tensor ys = torch::arange(8, torch::kFloat).view({8, 1}).expand({8, 10});
  const torch::Tensor xs = torch::arange(10, torch::kFloat).view({1, 10}).expand({8, 10});
  out.displacement = torch::stack({-ys, -xs}).unsqueeze(0);
  IrnPairLabels labels{torch::zeros({1, d, s}), torch::ones({1, d, s}), torch::zeros({1, d, s})};
  const IrnLosses l = irn_losses(out, labels, index);
  EXPECT_NEAR(l.pos_aff.item<float>(), 0.0f, 2e-5);
  EXPECT_NEAR(l.dp_fg.item<float>(), 0.0f, 1e-6);
  EXPECT_EQ(l.neg_aff.item<float>(), 0.0f);
  EXPECT_EQ(l.dp_bg.item<float>(), 0.0f);
  // The same pairs as negatives cost −log(1e-5) each.
  labels = {torch::zeros({1, d, s}), torch::zeros({1, d, s}), torch::ones({1, d, s})};
  EXPECT_NEAR(irn_losses(out, labels, index).neg_aff.item<float>(), -std::log(1e-5), 0.05);
}

TEST(IrnLosses, WrongShapesAreOneLineErrors) {
  const PathIndex index(3, 8, 10);
  IrnOutputs out{torch::zeros({1, 1, 8, 11}), torch::zeros({1, 2, 8, 10})};
  const int64_t d = static_cast<int64_t>(index.directions.size());
  const int64_t s = static_cast<int64_t>(index.num_sources());
  IrnPairLabels labels{torch::zeros({1, d, s}), torch::zeros({1, d, s}), torch::zeros({1, d, s})};
  test::expect_error([&] { irn_losses(out, labels, index); },
                     {"edge map", "(N, 1, 8, 10)", "(1, 1, 8, 11)"});
  out.edge = torch::zeros({1, 1, 8, 10});
  labels.neg = torch::zeros({2, d, s});
  test::expect_error([&] { irn_losses(out, labels, index); }, {"neg pair labels"});
}

}  // namespace
}  // namespace pm::nn
