// SPDX-License-Identifier: MIT
#include "pseudomask/nn/seg/seg_trainer.h"

#include <fmt/format.h>
#include <torch/types.h>

#include <chrono>
#include <cmath>
#include <optional>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/parallel.h"
#include "pseudomask/core/eval/confusion.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/urn/urn_png.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/seg/scale_schedule.h"
#include "pseudomask/nn/seg/seg_predict.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/train/loop.h"
#include "pseudomask/nn/train/sgd.h"

namespace pm::nn {
namespace {

constexpr const char* kMomentumPrefix = "momentum.";
/// Stream ids of Rng::from: data order and augmentation draw unrelated numbers.
constexpr uint64_t kOrderStream = 0x5e6001;
constexpr uint64_t kAugmentStream = 0x5e6002;

/// One batch, ready for the model.
struct Batch {
  torch::Tensor images, labels, weights;
  int scale = 1;
};

SegSampleData load_sample(const SegTrainSample& s, const TrainSegOptions& o) {
  SegSampleData d;
  d.image = read_image(s.image_path);
  if (!s.label_path.empty())
    d.labels = read_label_png(s.label_path);
  if (o.weight_source != WeightSource::kNone)
    d.weights = read_loss_weights(s, o.weight_source, o.weight_thresh, &d.labels);
  const std::string& lp = s.label_path.empty() ? s.weight_path : s.label_path;
  PM_CHECK(d.labels.width == d.image.width && d.labels.height == d.image.height,
           "{}: labels are {}x{}, the image {} is {}x{}",
           lp,
           d.labels.width,
           d.labels.height,
           s.image_path,
           d.image.width,
           d.image.height);
  PM_CHECK(d.weights.empty() || d.weights.size() == d.image.num_pixels(),
           "{}: weight map size differs from the image {}",
           s.weight_path,
           s.image_path);
  for (uint8_t l : d.labels.labels)
    PM_CHECK(l == kIgnoreLabel || l < o.model.num_classes,
             "{}: label {} is out of range for {} classes",
             lp,
             static_cast<int>(l),
             o.model.num_classes);
  return d;
}

/// Loads, rescales (scale schedule) and augments the samples of `plan` on `workers` threads;
/// each sample draws from its own generator seeded by (seed, step, index in the batch).
Batch make_batch(const std::vector<SegTrainSample>& samples,
                 const BatchPlan& plan,
                 int scale,
                 const TrainSegOptions& o) {
  const int crop = std::max(8, o.augment.crop / scale);
  const int64_t n = o.batch_size, plane = static_cast<int64_t>(crop) * crop;
  Batch b;
  b.scale = scale;
  b.images = torch::empty({n, 3, crop, crop}, torch::kFloat32);
  b.labels = torch::empty({n, crop, crop}, torch::kInt64);
  b.weights = torch::empty({n, crop, crop}, torch::kFloat32);
  const LabelDownsample mode = parse_label_downsample(o.label_downsample);
  parallel_for(static_cast<size_t>(n), std::max(1, o.workers), [&](size_t i) {
    const SegTrainSample& s = samples[plan.sample(static_cast<int64_t>(i))];
    SegSampleData d = load_sample(s, o);
    if (scale > 1) {
      // ORANDNet scale scheduling: images bilinear, pseudo-masks nearest/majority, weights with
      // the nearest rule so they stay aligned with their labels.
      const int ow = downsampled_side(d.image.width, scale),
                oh = downsampled_side(d.image.height, scale);
      if (!d.weights.empty()) {
        std::vector<float> w(static_cast<size_t>(ow) * oh);
        for (int y = 0; y < oh; ++y)
          for (int x = 0; x < ow; ++x) {
            const int sy =
                std::min(d.image.height - 1, static_cast<int>((y + 0.5) * d.image.height / oh));
            const int sx =
                std::min(d.image.width - 1, static_cast<int>((x + 0.5) * d.image.width / ow));
            w[static_cast<size_t>(y) * ow + x] =
                d.weights[static_cast<size_t>(sy) * d.image.width + sx];
          }
        d.weights = std::move(w);
      }
      d.image = downsample_image(d.image, scale);
      d.labels = downsample_labels(d.labels, scale, mode);
    }
    Rng rng = Rng::from(o.seed ^ kAugmentStream, static_cast<uint64_t>(plan.step), i);
    SegAugmentOptions augment = o.augment;
    augment.scale_base = downsampled_base(o.augment.scale_base, scale);
    augment_seg_sample(d,
                       augment,
                       crop,
                       rng,
                       {b.images.data_ptr<float>() + i * 3 * plane,
                        b.labels.data_ptr<int64_t>() + i * plane,
                        b.weights.data_ptr<float>() + i * plane});
  });
  return b;
}

std::string log_row(const SegStepLog& s) {
  return fmt::format("{},{},{},{:.6f},{:.6g}", s.step, s.epoch, s.scale, s.loss, s.lr);
}

/// The segmentation model and its (weighted) cross-entropy, as the training loop drives them;
/// evaluation is the validation mIoU.
class SegTask final : public TrainTask<Batch> {
 public:
  SegTask(const std::vector<SegTrainSample>& samples,
          const std::vector<SegValSample>& val,
          const TrainSegOptions& o,
          SegModel model,
          int64_t total,
          const torch::Device& device,
          const SegStepCallback& on_step,
          const SegValCallback& on_val,
          TrainSegResult& result)
      : samples_(samples),
        val_(val),
        o_(o),
        model_(std::move(model)),
        sgd_({{model_->backbone_parameters(), 1.0}, {model_->head_parameters(), o.head_lr_mult}},
             {o.lr, o.momentum, o.weight_decay, o.poly_power, total, o.min_lr, o.lr_schedule}),
        schedule_(parse_scale_schedule(o.scale_schedule)),
        total_(total),
        device_(device),
        on_step_(on_step),
        on_val_(on_val),
        result_(result) {}

  torch::nn::Module& module() override { return *model_; }
  PolySgd& optimizer() override { return sgd_; }

  std::vector<std::pair<std::string, std::string>> metadata() const override {
    const SegModelOptions& m = model_->options();
    return {{seg_meta::kFormat, seg_meta::kFormatName},
            {seg_meta::kArch, m.arch},
            {seg_meta::kNumClasses, std::to_string(m.num_classes)},
            {seg_meta::kSeed, std::to_string(o_.seed)}};
  }

  std::optional<double> evaluate(int64_t steps_done) override {
    if (val_.empty())
      return std::nullopt;
    SegValLog v = validate_segmentation(model_, val_, model_->options().num_classes, o_.device);
    v.step = steps_done;
    result_.validations.push_back(v);
    if (on_val_)
      on_val_(v);
    return v.miou;
  }

  Batch load_batch(const BatchPlan& plan) const override {
    return make_batch(samples_, plan, scale_factor_at(schedule_, plan.epoch), o_);
  }

  std::string train_step(Batch& b, const BatchPlan& plan) override {
    const torch::Tensor x = b.images.to(device_), y = b.labels.to(device_);
    const torch::Tensor w =
        o_.weight_source == WeightSource::kNone ? torch::Tensor() : b.weights.to(device_);
    const SegOutput out = model_->forward(x);
    torch::Tensor loss = seg_head_loss(out.logits, y, w, o_.loss);
    if (out.aux.defined() && o_.loss.aux_weight > 0)
      loss = loss + o_.loss.aux_weight * seg_head_loss(out.aux, y, w, o_.loss);
    sgd_.zero_grad();
    loss.backward();
    SegStepLog s;
    s.step = plan.step;
    s.epoch = plan.epoch;
    s.scale = b.scale;
    s.lr = sgd_.step(plan.step);
    s.loss = loss.item<double>();
    PM_CHECK(std::isfinite(s.loss),
             "train-seg: the loss is {} at step {} (a lower learning rate?)",
             s.loss,
             plan.step);
    result_.steps.push_back(s);
    if (on_step_)
      on_step_(s, total_);
    return log_row(s);
  }

 private:
  const std::vector<SegTrainSample>& samples_;
  const std::vector<SegValSample>& val_;
  const TrainSegOptions& o_;
  SegModel model_;
  PolySgd sgd_;
  std::vector<ScaleStage> schedule_;
  int64_t total_;
  torch::Device device_;
  const SegStepCallback& on_step_;
  const SegValCallback& on_val_;
  TrainSegResult& result_;
};

}  // namespace

void TrainSegOptions::validate() const {
  model.validate();
  augment.validate();
  loss.validate();
  PM_CHECK(!out_dir.empty(), "TrainSegOptions::out_dir: an output folder is required");
  PM_CHECK((iterations > 0) != (epochs > 0),
           "TrainSegOptions::iterations/epochs {}/{}: give exactly one budget",
           iterations,
           epochs);
  PM_CHECK(batch_size >= 1, "TrainSegOptions::batch_size {}: must be positive", batch_size);
  PM_CHECK(lr > 0 && min_lr >= 0 && min_lr <= lr,
           "TrainSegOptions::min_lr {}: must be in [0, lr {}] (lr > 0)",
           min_lr,
           lr);
  PM_CHECK(head_lr_mult > 0, "TrainSegOptions::head_lr_mult {}: must be positive", head_lr_mult);
  PM_CHECK(val_every >= 0 && stop_after >= 0,
           "TrainSegOptions::val_every/stop_after {}/{}: must be >= 0",
           val_every,
           stop_after);
  PM_CHECK(workers >= 0 && threads >= 0,
           "TrainSegOptions::workers/threads {}/{}: must be >= 0",
           workers,
           threads);
  PM_CHECK(weight_thresh <= 1, "TrainSegOptions::weight_thresh {}: must be <= 1", weight_thresh);
  parse_scale_schedule(scale_schedule);
  parse_label_downsample(label_downsample);
}

std::vector<float> read_loss_weights(const SegTrainSample& s,
                                     WeightSource source,
                                     double thresh,
                                     LabelMap* labels) {
  WeightMap bytes;
  if (source == WeightSource::kUrnPng) {
    UrnLabel u = read_urn_png(s.weight_path);
    if (labels != nullptr && s.label_path.empty())
      *labels = u.mask;
    bytes = std::move(u.weight_byte);
  } else if (source == WeightSource::kGrayPng) {
    bytes = read_weight_png(s.weight_path);
  } else {
    return {};
  }
  std::vector<float> w(bytes.num_pixels());
  for (size_t i = 0; i < w.size(); ++i) {
    const double v = bytes.bytes[i] / 255.0;
    // URN (official cross_entropy_loss.py): uncertain pixels (W8/255 ≤ t) get weight t, others 1.
    w[i] = static_cast<float>(thresh < 0 ? v : (v <= thresh ? thresh : 1.0));
  }
  return w;
}

SegValLog validate_segmentation(SegModel& model,
                                const std::vector<SegValSample>& val,
                                int num_classes,
                                const std::string& device) {
  const torch::Device dev = parse_device(device);
  const bool was_training = model->is_training();
  model->eval();
  ConfusionMatrix cm(num_classes);
  for (const SegValSample& v : val) {
    const RgbImage img = read_image(v.image_path);
    const LabelMap gt = read_label_png(v.gt_path);
    PM_CHECK(gt.width == img.width && gt.height == img.height,
             "{}: ground truth {}x{} does not match the image {}x{}",
             v.gt_path,
             gt.width,
             gt.height,
             img.width,
             img.height);
    cm.add(gt, argmax_labels(predict_probabilities(model, img, {}, dev)), v.gt_path);
  }
  model->train(was_training);
  const Metrics m = compute_metrics(cm);
  SegValLog log;
  log.miou = m.mean_iou;
  log.pixel_accuracy = m.pixel_accuracy;
  return log;
}

TrainSegResult train_segmentation(const std::vector<SegTrainSample>& samples,
                                  const std::vector<SegValSample>& val,
                                  const TrainSegOptions& o,
                                  const SegStepCallback& on_step,
                                  const SegValCallback& on_val) {
  o.validate();
  const auto start = std::chrono::steady_clock::now();
  const torch::Device device =
      start_training(samples.size(), o.batch_size, o.threads, o.device, o.seed);

  SegModelOptions mo = o.model;
  mo.frozen_bn = mo.frozen_bn && !o.pretrained.empty();
  SegModel model(mo);
  if (!o.pretrained.empty())
    model->load_pretrained_backbone(read_checkpoint(o.pretrained), o.pretrained);

  model->to(device);
  model->train();

  const int64_t per_epoch = static_cast<int64_t>(samples.size()) / o.batch_size;
  const int64_t total = o.iterations > 0 ? o.iterations : per_epoch * o.epochs;
  TrainSegResult r;
  r.freeze = model->backbone->freeze_state();
  SegTask task(samples, val, o, model, total, device, on_step, on_val, r);
  LoopOptions loop = loop_options_of(o, samples.size(), total);
  loop.eval_every = o.val_every;
  loop.keep_best = o.keep_best;
  loop.best_key = seg_meta::kBestMiou;
  loop.log_header = "step,epoch,scale,loss,lr";
  loop.resume_must_match = {seg_meta::kArch};
  loop.optimizer_prefix = kMomentumPrefix;
  loop.order_stream = kOrderStream;
  const LoopResult done = run_training(loop, task);
  record_loop_result(done, r);
  r.steps_per_epoch = done.steps_per_epoch;
  r.best_miou = done.best_score;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace pm::nn
