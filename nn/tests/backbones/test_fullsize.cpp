// SPDX-License-Identifier: MIT
// The full-size torchvision resnet50, resnet101 and vgg16 against torchvision itself
// (tests/fixtures/nn/make_nn_fixtures.py, fullsize_*.npz): every tensor of the torchvision state
// dict is made with the values of support/hash_fill.h under its torchvision key and shape, and
// loaded by name through the checkpoint loader, so that a missing, extra or reshaped tensor
// fails the load. Then the eval-mode output at a small input must equal torchvision's within
// 1e-4, and after one SGD step in train mode (BatchNorm on batch statistics) every parameter and
// buffer must equal torchvision's: 16 values at hashed positions within 1e-4, and the sums of
// the tensor and of the step's change close enough that a wrong gradient anywhere fails.
#include <gtest/gtest.h>

#include <torch/nn/functional/loss.h>
#include <torch/nn/module.h>

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/backbones/resnet.h"
#include "pseudomask/nn/backbones/vgg.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/train/sgd.h"
#include "support/hash_fill.h"
#include "support/key_list.h"
#include "support/test_paths.h"

namespace pm::nn {
namespace {

/// Outputs and sampled weights must match torchvision's to this absolute tolerance.
constexpr double kTolerance = 1e-4;
/// The sums of a tensor's step change (and of its absolute values) must match to this share of
/// the sum of |change|: a gradient wrong by more than 0.1% of a tensor's total change fails.
constexpr double kChangeTolerance = 1e-3;
/// make_nn_fixtures.py's SGD_LR, SGD_MOMENTUM, SGD_WEIGHT_DECAY, FULLSIZE_LABELS, SAMPLES.
constexpr double kLr = 0.01, kMomentum = 0.9, kWeightDecay = 1e-4;
const std::vector<int64_t> kLabels{7, 999};
constexpr int kSamples = 16;
constexpr uint64_t kSampleStride = 0xD1B54A32D192ED03ULL;

std::string nn_fixture(const std::string& name) {
  return test::fixture("nn/" + name);
}

using test::KeyList;
using test::read_key_list;

/// A state dict with torchvision's keys and shapes and the hashed values (num_batches_tracked:
/// int64 0), as a pretrained file would hold it.
Checkpoint hashed_checkpoint(const KeyList& keys) {
  Checkpoint ckpt;
  for (const auto& [name, shape] : keys) {
    const bool counter = test::key_ends_with(name, "num_batches_tracked");
    torch::Tensor t = torch::zeros(shape, counter ? torch::kLong : torch::kFloat);
    test::hash_fill_tensor(name, t);
    ckpt.tensors.emplace_back(name, to_ndarray(t));
  }
  return ckpt;
}

/// fmod(i * 0.013, 2) - 1 over the flat index, as make_nn_fixtures.py's fmod_ramp.
torch::Tensor fmod_ramp(std::vector<int64_t> shape) {
  torch::Tensor t = torch::empty(shape);
  float* p = t.data_ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = static_cast<float>(std::fmod(static_cast<double>(i) * 0.013, 2.0) - 1.0);
  return t;
}

/// The fixture's flat index of sample k of tensor `key` (make_nn_fixtures.py's
/// sample_positions).
int64_t sample_position(const std::string& key, int k, int64_t numel) {
  const uint64_t bits =
      test::splitmix64_mix(test::fnv1a64(key) + static_cast<uint64_t>(k + 1) * kSampleStride);
  return static_cast<int64_t>(bits % static_cast<uint64_t>(numel));
}

/// The module's parameters and buffers by name.
std::map<std::string, torch::Tensor> tensors_of(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters())
    out[p.key()] = p.value();
  for (const auto& b : m.named_buffers())
    out[b.key()] = b.value();
  return out;
}

/// One SGD step of our PolySgd (poly power 0: the base lr) on every parameter.
void sgd_step(torch::nn::Module& m, const torch::Tensor& loss) {
  ParamGroup group;
  for (const auto& p : m.named_parameters())
    group.params.emplace_back(p.key(), p.value());
  SgdOptions o;
  o.lr = kLr;
  o.momentum = kMomentum;
  o.weight_decay = kWeightDecay;
  o.poly_power = 0;
  PolySgd sgd({group}, o);
  sgd.zero_grad();
  loss.backward();
  sgd.step(0);
}

/// Compares every tensor of `keys` (torchvision names; `rename` maps them to ours, "" = a tensor
/// we do not have) with the fixture's checksums after the step.
void expect_same_after_step(torch::nn::Module& m,
                            const KeyList& keys,
                            const std::map<std::string, NDArray>& want,
                            const std::map<std::string, std::string>& rename = {}) {
  const auto ours = tensors_of(m);
  const torch::Tensor sums = to_tensor(want.at("sum")).to(torch::kDouble);
  const torch::Tensor abs_sums = to_tensor(want.at("abs_sum")).to(torch::kDouble);
  const torch::Tensor samples = to_tensor(want.at("samples")).to(torch::kDouble);
  const torch::Tensor delta_sums = to_tensor(want.at("delta_sum")).to(torch::kDouble);
  const torch::Tensor delta_abs_sums = to_tensor(want.at("delta_abs_sum")).to(torch::kDouble);
  ASSERT_EQ(sums.size(0), static_cast<int64_t>(keys.size()));
  int compared = 0;
  for (size_t row = 0; row < keys.size(); ++row) {
    const auto& [key, shape] = keys[row];
    const auto renamed = rename.find(key);
    const std::string name = renamed == rename.end() ? key : renamed->second;
    if (name.empty())
      continue;
    ASSERT_TRUE(ours.count(name)) << name;
    const torch::Tensor after = ours.at(name).detach().reshape(-1);
    const bool counter = test::key_ends_with(key, "num_batches_tracked");
    torch::Tensor before = torch::zeros(shape, counter ? torch::kLong : torch::kFloat);
    test::hash_fill_tensor(key, before);
    const torch::Tensor change = after - before.reshape(-1);
    const auto r = static_cast<int64_t>(row);
    const double change_l1 = delta_abs_sums[r].item<double>();
    const double change_tol = kChangeTolerance * change_l1 + 1e-9;
    EXPECT_NEAR(change.abs().sum(torch::kDouble).item<double>(), change_l1, change_tol) << key;
    EXPECT_NEAR(change.sum(torch::kDouble).item<double>(), delta_sums[r].item<double>(), change_tol)
        << key;
    const double l1 = abs_sums[r].item<double>();
    EXPECT_NEAR(after.abs().sum(torch::kDouble).item<double>(), l1, 1e-6 * l1 + 1e-6) << key;
    EXPECT_NEAR(after.sum(torch::kDouble).item<double>(), sums[r].item<double>(), 1e-6 * l1 + 1e-6)
        << key;
    for (int k = 0; k < kSamples; ++k) {
      const int64_t at = sample_position(key, k, after.numel());
      EXPECT_NEAR(after[at].item<double>(), samples[r][k].item<double>(), kTolerance)
          << key << " element " << at;
    }
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int>(ours.size()));
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want) {
  ASSERT_EQ(got.sizes(), want.sizes());
  const double err = (got - want).abs().max().item<double>();
  EXPECT_LT(err, kTolerance) << "max abs error " << err;
  EXPECT_GT(want.abs().max().item<double>(), 0.1) << "reference output is trivially small";
}

void check_resnet(ResNetOptions o, const std::string& keys_file, const std::string& npz) {
  const KeyList keys = read_key_list(keys_file);
  o.num_classes = 1000;
  ResNet net(o);
  const LoadReport report =
      load_state_dict(*net, hashed_checkpoint(keys), torchvision_resnet_rules(), keys_file);
  ASSERT_TRUE(report.ok()) << report.summary();
  EXPECT_EQ(report.loaded.size(), keys.size());  // every torchvision tensor, by name and shape

  const auto want = read_npz(nn_fixture(npz));
  const torch::Tensor x = fmod_ramp({2, 3, 64, 64});
  net->eval();
  {
    torch::NoGradGuard no_grad;
    expect_close(net->forward(x), to_tensor(want.at("output")));
  }
  net->train();
  const torch::Tensor loss =
      torch::nn::functional::cross_entropy(net->forward(x), torch::tensor(kLabels));
  EXPECT_NEAR(loss.item<double>(), to_tensor(want.at("loss")).item<double>(), kTolerance);
  sgd_step(*net, loss);
  expect_same_after_step(*net, keys, want);
}

TEST(FullSize, ResNet50EqualsTorchvisionForwardAndAfterOneSgdStep) {
  check_resnet(ResNetOptions::resnet50(), "resnet50_keys.txt", "fullsize_resnet50.npz");
}

TEST(FullSize, ResNet101EqualsTorchvisionForwardAndAfterOneSgdStep) {
  check_resnet(ResNetOptions::resnet101(), "resnet101_keys.txt", "fullsize_resnet101.npz");
}

TEST(FullSize, Vgg16EqualsTorchvisionForwardAndAfterOneSgdStep) {
  const KeyList keys = read_key_list("vgg16_keys.txt");
  VGGOptions o = VGGOptions::vgg16();
  o.dropout = 0;  // the fixture's vgg16(dropout=0.0): a deterministic step
  VGG net(o);
  const LoadReport report =
      load_state_dict(*net, hashed_checkpoint(keys), torchvision_vgg_rules(), "vgg16_keys.txt");
  ASSERT_TRUE(report.ok()) << report.summary();
  EXPECT_EQ(report.ignored, (std::vector<std::string>{"classifier.6.weight", "classifier.6.bias"}));
  EXPECT_EQ(report.loaded.size(), keys.size() - 2);

  const auto want = read_npz(nn_fixture("fullsize_vgg16.npz"));
  const torch::Tensor x = fmod_ramp({1, 3, 224, 224});
  net->eval();
  {
    torch::NoGradGuard no_grad;
    expect_close(net->forward(x), to_tensor(want.at("output")));
  }
  net->train();
  const torch::Tensor fc7 = net->forward(x);
  const torch::Tensor loss = (fc7 * fmod_ramp(fc7.sizes().vec())).mean();
  EXPECT_NEAR(loss.item<double>(), to_tensor(want.at("loss")).item<double>(), 1e-6);
  sgd_step(*net, loss);
  expect_same_after_step(*net,
                         keys,
                         want,
                         {{"classifier.0.weight", "fc6.weight"},
                          {"classifier.0.bias", "fc6.bias"},
                          {"classifier.3.weight", "fc7.weight"},
                          {"classifier.3.bias", "fc7.bias"},
                          {"classifier.6.weight", ""},
                          {"classifier.6.bias", ""}});
}

}  // namespace
}  // namespace pm::nn
