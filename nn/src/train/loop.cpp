// SPDX-License-Identifier: MIT
#include "pseudomask/nn/train/loop.h"

#include <fmt/format.h>

#include <algorithm>

#include "pseudomask/core/common/error.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/train/augment.h"

namespace pm::nn {

size_t BatchPlan::position(int64_t i) const {
  return static_cast<size_t>(index_in_epoch * batch_size + i);
}

TrainLoop::TrainLoop(LoopOptions options, TrainableModel& model)
    : options_(std::move(options)),
      model_(model),
      files_(options_.out_dir, options_.optimizer_prefix) {
  const LoopOptions& o = options_;
  PM_CHECK(o.batch_size >= 1 && o.num_samples >= static_cast<size_t>(o.batch_size),
           "training: {} samples do not fill one batch of {}",
           o.num_samples,
           o.batch_size);
  PM_CHECK(o.total_steps >= 1, "training: the schedule has {} steps", o.total_steps);
  per_epoch_ = static_cast<int64_t>(o.num_samples) / o.batch_size;
  end_ = o.stop_after > 0 ? std::min(o.total_steps, o.stop_after) : o.total_steps;
  log_ = o.log_header + "\n";
  if (!files_.resumes(o.resume))
    return;
  const std::string& path = files_.last_path();
  const Checkpoint last = files_.read_last();
  check_same_model(last, path);
  if (o.resume_needs_same_schedule) {
    const int64_t total = metadata_int(last, train_meta::kTotalSteps, path);
    PM_CHECK(total == o.total_steps,
             "{}: its schedule has {} steps, these options give {} (the same dataset, budget and "
             "batch size are needed to resume)",
             path,
             total,
             o.total_steps);
  }
  files_.restore(last, model_.module(), model_.optimizer());
  start_ = metadata_int(last, train_meta::kStep, path);
  if (!o.best_key.empty()) {
    if (const std::string* best = last.find_metadata(o.best_key))
      best_ = std::stod(*best);
  }
  log_ += files_.earlier_log_rows(start_);
}

BatchPlan TrainLoop::plan(int64_t step) {
  BatchPlan p;
  p.step = step;
  p.epoch = static_cast<int>(step / per_epoch_);
  p.index_in_epoch = step % per_epoch_;
  p.batch_size = options_.batch_size;
  if (p.epoch != order_epoch_) {
    order_ = std::make_shared<const std::vector<size_t>>(
        options_.order
            ? options_.order(p.epoch)
            : epoch_order(options_.num_samples, options_.seed, options_.order_stream, p.epoch));
    order_epoch_ = p.epoch;
  }
  p.order = order_;
  return p;
}

void TrainLoop::after_step(int64_t step, const std::string& row) {
  log_ += row + "\n";
  const int64_t done = step + 1;
  const auto every = [done](int64_t n) { return n > 0 && done % n == 0; };
  const bool eval_now = every(options_.eval_every) || done == options_.total_steps;
  if (eval_now)
    evaluate(done);
  const bool epoch_end = options_.save_each_epoch && every(per_epoch_);
  if (epoch_end || done == end_ || eval_now || every(options_.save_every))
    files_.write_last(state(done), model_.optimizer(), log_);
}

LoopResult TrainLoop::finish() {
  LoopResult r;
  r.start_step = start_;
  r.end_step = std::max(start_, end_);
  r.total_steps = options_.total_steps;
  r.steps_per_epoch = per_epoch_;
  r.log_path = files_.log_path();
  if (start_ >= end_)
    files_.write_log(log_);  // nothing ran: the earlier rows
  if (end_ == options_.total_steps) {
    r.finished = true;
    r.model_path = files_.model_path();
    files_.write_model(state(options_.total_steps));
  }
  r.best_score = best_;
  return r;
}

void TrainLoop::check_same_model(const Checkpoint& last, const std::string& path) const {
  const auto ours = model_.metadata();
  for (const std::string& key : options_.resume_must_match) {
    const auto it =
        std::find_if(ours.begin(), ours.end(), [&key](const auto& kv) { return kv.first == key; });
    const std::string* theirs = last.find_metadata(key);
    PM_CHECK(theirs != nullptr && it != ours.end() && *theirs == it->second,
             "{}: cannot resume: trained with {} '{}', these options give '{}'",
             path,
             key,
             theirs ? *theirs : "none",
             it != ours.end() ? it->second : "none");
  }
}

Checkpoint TrainLoop::state(int64_t step) const {
  Checkpoint ckpt = state_dict_of(model_.module());
  ckpt.metadata = model_.metadata();
  set_metadata(ckpt, train_meta::kStep, std::to_string(step));
  set_metadata(ckpt, train_meta::kTotalSteps, std::to_string(options_.total_steps));
  if (!options_.best_key.empty())
    set_metadata(ckpt, options_.best_key, fmt::format("{:.6f}", best_));
  return ckpt;
}

void TrainLoop::evaluate(int64_t steps_done) {
  const std::optional<double> score = model_.evaluate(steps_done);
  if (!score || *score <= best_)
    return;
  best_ = *score;
  if (options_.keep_best)
    files_.write_best(state(steps_done));
}

}  // namespace pm::nn
