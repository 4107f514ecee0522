// SPDX-License-Identifier: MIT
#pragma once

// The one training loop of every trainer (train-cls, train-seg, orandnet train). The loop owns
// the schedule: epochs, each epoch's sample order from the seed, the loader thread that prepares
// the next batch while a step runs, the checkpoint cadence, last.pth / best.pth / model.pth,
// exact resume and train_log.csv. A model/loss pair plugs in as a TrainTask: it prepares a batch
// from a BatchPlan, runs one optimisation step on it, and describes itself in the checkpoints'
// metadata; it may evaluate.
//
// What comes next plugs in without a copy of the loop: an IRN trainer is one more TrainTask (its
// batch and losses). Data-parallel training runs the loop in every process with the same options
// and seed, so every rank draws the same plans; a rank's load_batch prepares its share of the
// plan's samples and its train_step averages the gradients before the optimiser steps (only one
// rank should then write the files: a LoopOptions field to add with it).

#include <torch/nn/module.h>

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/train/checkpointer.h"
#include "pseudomask/nn/train/sgd.h"

namespace pm::nn {

/// Where one step's batch lies in the schedule.
struct BatchPlan {
  int64_t step = 0;            ///< 0-based step of the whole schedule
  int epoch = 0;               ///< 0-based epoch
  int64_t index_in_epoch = 0;  ///< the batch's index within its epoch
  int64_t batch_size = 1;
  std::shared_ptr<const std::vector<size_t>> order;  ///< the epoch's sample order

  /// Position of the batch's i-th sample in the epoch: index_in_epoch · batch_size + i.
  size_t position(int64_t i) const;
  /// The batch's i-th sample: order[position(i)].
  size_t sample(int64_t i) const { return (*order)[position(i)]; }
};

/// How the loop runs a schedule.
struct LoopOptions {
  std::string out_dir;      ///< last.pth, best.pth, model.pth and train_log.csv go here
  size_t num_samples = 0;   ///< the training set's size
  int64_t batch_size = 1;   ///< samples per step; an epoch's last partial batch is dropped
  int64_t total_steps = 0;  ///< the schedule's length (the optimiser's horizon)
  /// Stop after this many steps in all (0 = at total_steps), writing last.pth; the schedule is
  /// kept, so a later resume continues exactly.
  int64_t stop_after = 0;
  bool resume = false;  ///< continue from <out_dir>/last.pth when it exists
  /// Refuse a last.pth whose schedule has another length (its poly lr would not continue).
  bool resume_needs_same_schedule = true;
  /// Metadata keys (TrainableModel::metadata) whose values in last.pth must equal the model's to
  /// resume, e.g. "arch".
  std::vector<std::string> resume_must_match;
  bool save_each_epoch = true;  ///< write last.pth at every epoch's end
  int64_t save_every = 0;       ///< write last.pth every N steps too
  int64_t eval_every = 0;       ///< evaluate every N steps too (always at the end of the schedule)
  bool keep_best = false;       ///< write best.pth at each new best evaluation score
  /// Metadata key of the best score in the checkpoints ("" = the score is not kept).
  std::string best_key;
  std::string log_header;                      ///< train_log.csv's first line, without newline
  std::string optimizer_prefix = "momentum.";  ///< the optimiser's buffers in last.pth
  uint64_t seed = 0;                           ///< seeds the sample order
  uint64_t order_stream = 0;                   ///< Rng stream of the order (see epoch_order)
  /// The sample order of an epoch; empty = epoch_order(num_samples, seed, order_stream, epoch).
  std::function<std::vector<size_t>(int epoch)> order;
};

/// What the loop did.
struct LoopResult {
  int64_t start_step = 0;  ///< first step run (> 0 after a resume)
  int64_t end_step = 0;    ///< steps done when it stopped
  int64_t total_steps = 0;
  int64_t steps_per_epoch = 0;
  bool finished = false;   ///< the schedule ran to its end (model.pth written)
  double best_score = -1;  ///< the best evaluation score (-1 = never evaluated)
  std::string model_path;  ///< model.pth when finished
  std::string log_path;
};

/// The non-batch side of a model/loss pair: its module, optimiser and description.
class TrainableModel {
 public:
  virtual ~TrainableModel() = default;
  /// The module whose parameters and buffers the checkpoints hold.
  virtual torch::nn::Module& module() = 0;
  virtual PolySgd& optimizer() = 0;
  /// What describes the model in every checkpoint (format, arch, classes, seed, ...); the loop
  /// adds the step, the schedule's length and the best score.
  virtual std::vector<std::pair<std::string, std::string>> metadata() const = 0;
  /// Evaluates the model after `steps_done` steps; returns its score (higher is better) or
  /// nothing when there is nothing to evaluate on.
  virtual std::optional<double> evaluate(int64_t steps_done) {
    (void)steps_done;
    return std::nullopt;
  }
};

/// A model/loss pair the loop trains on batches of type Batch.
template <class Batch>
class TrainTask : public TrainableModel {
 public:
  /// Prepares the batch of `plan`. Runs on the loader thread while the previous step runs, so it
  /// must not touch the model or the optimiser; its randomness comes from `plan` alone.
  virtual Batch load_batch(const BatchPlan& plan) const = 0;
  /// One optimisation step on `batch`; returns the step's train_log.csv row (no newline).
  virtual std::string train_step(Batch& batch, const BatchPlan& plan) = 0;
};

/// The batch-independent part of run_training: resume, plans, log, cadence, checkpoints.
class TrainLoop {
 public:
  /// Resumes from last.pth when options.resume and the file exists.
  TrainLoop(LoopOptions options, TrainableModel& model);

  int64_t start_step() const { return start_; }
  int64_t end_step() const { return end_; }
  /// The plan of `step`, drawing the epoch's order when the epoch changes.
  BatchPlan plan(int64_t step);
  /// Logs `row`, then evaluates and writes checkpoints when the cadence says so.
  void after_step(int64_t step, const std::string& row);
  /// Writes model.pth when the schedule is done (and the log when no step ran).
  LoopResult finish();

 private:
  /// Throws unless `last` has the model's values of options_.resume_must_match.
  void check_same_model(const Checkpoint& last, const std::string& path) const;
  Checkpoint state(int64_t step) const;
  void evaluate(int64_t steps_done);

  LoopOptions options_;
  TrainableModel& model_;
  Checkpointer files_;
  int64_t per_epoch_ = 0, start_ = 0, end_ = 0;
  double best_ = -1;
  std::string log_;
  int order_epoch_ = -1;
  std::shared_ptr<const std::vector<size_t>> order_;
};

/// The loop options that a trainer's options (TrainClsOptions, TrainSegOptions: out_dir,
/// batch_size, stop_after, resume, seed) give the same way in every trainer.
template <class TrainerOptions>
LoopOptions loop_options_of(const TrainerOptions& o, size_t num_samples, int64_t total_steps) {
  LoopOptions loop;
  loop.out_dir = o.out_dir;
  loop.num_samples = num_samples;
  loop.batch_size = o.batch_size;
  loop.total_steps = total_steps;
  loop.stop_after = o.stop_after;
  loop.resume = o.resume;
  loop.seed = o.seed;
  return loop;
}

/// Copies what the loop did into a trainer's result (TrainClsResult, TrainSegResult).
template <class TrainerResult>
void record_loop_result(const LoopResult& done, TrainerResult& r) {
  r.start_step = done.start_step;
  r.total_steps = done.total_steps;
  r.finished = done.finished;
  r.model_path = done.model_path;
  r.log_path = done.log_path;
}

/// Runs `task` over the schedule of `options`: the next batch is prepared on a loader thread
/// while the current step runs. A run stopped and resumed gives the same results as one that
/// was not, as long as the task draws its randomness from the plan and the step.
template <class Batch>
LoopResult run_training(const LoopOptions& options, TrainTask<Batch>& task) {
  TrainLoop loop(options, task);
  std::future<Batch> next;
  BatchPlan next_plan;
  auto launch = [&](int64_t step) {
    next_plan = loop.plan(step);
    next =
        std::async(std::launch::async, [&task, plan = next_plan] { return task.load_batch(plan); });
  };
  if (loop.start_step() < loop.end_step())
    launch(loop.start_step());
  for (int64_t step = loop.start_step(); step < loop.end_step(); ++step) {
    Batch batch = next.get();
    const BatchPlan plan = next_plan;
    if (step + 1 < loop.end_step())
      launch(step + 1);  // prepared while this step runs
    loop.after_step(step, task.train_step(batch, plan));
  }
  return loop.finish();
}

}  // namespace pm::nn
