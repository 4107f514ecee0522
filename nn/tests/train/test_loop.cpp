// SPDX-License-Identifier: MIT
// The training loop on its own, driving a one-weight model: each epoch sees every sample once in
// a seeded order, a run stopped and resumed equals an uninterrupted one, the checkpoint cadence,
// best.pth at the best evaluation, and a resume with another schedule or model is refused.
#include <gtest/gtest.h>

#include <torch/nn/modules/linear.h>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/train/loop.h"
#include "support/expect_error.h"
#include "support/test_paths.h"

namespace pm::nn {
namespace {

constexpr int64_t kSamples = 5;  // batch 2: two steps per epoch, sample order[4] left out

/// y = w·x fitted to y = 2x; the samples are x = 1..5; the evaluation score is scripted.
class LineTask final : public TrainTask<torch::Tensor> {
 public:
  explicit LineTask(int64_t total)
      : sgd_({ParamGroup{{{"weight", line_->weight}}, 1.0}},
             SgdOptions{0.01, 0.9, 0.0, 0.9, total}) {
    torch::NoGradGuard no_grad;
    line_->weight.fill_(0.5);
  }

  torch::nn::Module& module() override { return *line_; }
  PolySgd& optimizer() override { return sgd_; }
  std::vector<std::pair<std::string, std::string>> metadata() const override {
    return {{"format", format}};
  }
  std::optional<double> evaluate(int64_t steps_done) override {
    evaluated.push_back(steps_done);
    const auto it = scores.find(steps_done);
    return it == scores.end() ? std::nullopt : std::optional<double>(it->second);
  }

  torch::Tensor load_batch(const BatchPlan& plan) const override {
    return torch::tensor(
               {static_cast<float>(plan.sample(0) + 1), static_cast<float>(plan.sample(1) + 1)})
        .view({2, 1});
  }

  std::string train_step(torch::Tensor& x, const BatchPlan& plan) override {
    sgd_.zero_grad();
    const torch::Tensor loss = (line_->forward(x) - 2 * x).pow(2).mean();
    loss.backward();
    sgd_.step(plan.step);
    samples.push_back(plan.sample(0));
    samples.push_back(plan.sample(1));
    losses.push_back(loss.item<double>());
    return fmt::format("{},{}", plan.step, losses.back());
  }

  float weight() const { return line_->weight.item<float>(); }

  std::string format = "line";
  std::map<int64_t, double> scores;
  std::vector<int64_t> evaluated;
  std::vector<size_t> samples;
  std::vector<double> losses;

 private:
  torch::nn::Linear line_{torch::nn::LinearOptions(1, 1).bias(false)};
  PolySgd sgd_;
};

LoopOptions line_options(const std::string& out, int64_t total) {
  LoopOptions o;
  o.out_dir = out;
  o.num_samples = kSamples;
  o.batch_size = 2;
  o.total_steps = total;
  o.log_header = "step,loss";
  o.seed = 11;
  return o;
}

TEST(TrainLoop, EachEpochSeesDistinctSamplesInASeededOrder) {
  const test::TempDir dir("loop");
  LineTask a(6), b(6);
  const LoopResult r = run_training(line_options(dir.str() + "/a", 6), a);
  run_training(line_options(dir.str() + "/b", 6), b);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.steps_per_epoch, 2);
  EXPECT_EQ(a.samples, b.samples);
  for (size_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<size_t> seen(a.samples.begin() + 4 * epoch, a.samples.begin() + 4 * epoch + 4);
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end()) << "epoch " << epoch;
  }
  LineTask c(6);
  LoopOptions other = line_options(dir.str() + "/c", 6);
  other.seed = 12;
  run_training(other, c);
  EXPECT_NE(a.samples, c.samples);
  const Checkpoint model = read_checkpoint(dir.str() + "/a/model.pth");
  EXPECT_EQ(*model.find_metadata("format"), "line");
  EXPECT_EQ(*model.find_metadata("step"), "6");
  EXPECT_EQ(*model.find_metadata("total_steps"), "6");
}

TEST(TrainLoop, StopAndResumeEqualsAnUninterruptedRun) {
  const test::TempDir dir("loop");
  LineTask whole(6);
  run_training(line_options(dir.str() + "/whole", 6), whole);

  LoopOptions o = line_options(dir.str() + "/part", 6);
  o.stop_after = 3;  // mid-epoch
  LineTask first(6);
  const LoopResult r1 = run_training(o, first);
  EXPECT_FALSE(r1.finished);
  EXPECT_EQ(r1.end_step, 3);
  EXPECT_FALSE(std::filesystem::exists(dir.str() + "/part/model.pth"));
  o.stop_after = 0;
  o.resume = true;
  LineTask second(6);
  const LoopResult r2 = run_training(o, second);
  EXPECT_EQ(r2.start_step, 3);
  EXPECT_TRUE(r2.finished);
  std::vector<double> joined = first.losses;
  joined.insert(joined.end(), second.losses.begin(), second.losses.end());
  EXPECT_EQ(joined, whole.losses);
  EXPECT_EQ(second.weight(), whole.weight());
  EXPECT_EQ(read_file_bytes(dir.str() + "/part/train_log.csv"),
            read_file_bytes(dir.str() + "/whole/train_log.csv"));
}

TEST(TrainLoop, EvaluatesOnCadenceAndKeepsTheBest) {
  const test::TempDir dir("loop");
  LoopOptions o = line_options(dir.str(), 6);
  o.eval_every = 2;
  o.keep_best = true;
  o.best_key = "best_score";
  LineTask task(6);
  task.scores = {{2, 0.3}, {4, 0.7}, {6, 0.5}};
  const LoopResult r = run_training(o, task);
  EXPECT_EQ(task.evaluated, (std::vector<int64_t>{2, 4, 6}));
  EXPECT_DOUBLE_EQ(r.best_score, 0.7);
  const Checkpoint best = read_checkpoint(dir.str() + "/best.pth");
  EXPECT_EQ(*best.find_metadata("step"), "4");
  EXPECT_EQ(*best.find_metadata("best_score"), "0.700000");
  EXPECT_EQ(*read_checkpoint(dir.str() + "/model.pth").find_metadata("best_score"), "0.700000");
}

TEST(TrainLoop, ResumeWithAnotherScheduleOrModelIsRefused) {
  const test::TempDir dir("loop");
  LoopOptions o = line_options(dir.str(), 4);
  o.stop_after = 1;
  LineTask first(4);
  run_training(o, first);
  o.total_steps = 6;
  o.stop_after = 0;
  o.resume = true;
  LineTask refused(6);
  test::expect_error([&] { run_training(o, refused); },
                     {"last.pth", "schedule has 4 steps", "give 6"});
  o.resume_needs_same_schedule = false;  // ORANDNet extends its schedule on resume
  o.resume_must_match = {"format"};
  LineTask other(6);
  other.format = "other";
  test::expect_error([&] { run_training(o, other); },
                     {"last.pth", "cannot resume", "format 'line'", "give 'other'"});
  LineTask extended(6);
  EXPECT_EQ(run_training(o, extended).start_step, 1);
  EXPECT_EQ(extended.losses.size(), 5u);
}

}  // namespace
}  // namespace pm::nn
