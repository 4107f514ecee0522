// SPDX-License-Identifier: MIT
#include "pseudomask/nn/train/cls_trainer.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/parallel.h"
#include "pseudomask/core/common/resize.h"
#include "pseudomask/core/eval/average_precision.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/train/loop.h"
#include "pseudomask/nn/train/sgd.h"

namespace pm::nn {
namespace {

/// The value of metadata "format" in our classifier checkpoints.
constexpr const char* kFormatName = "pseudomask-classifier";
/// Prefix of the momentum buffers in last.pth (the loop's default optimizer_prefix).
constexpr const char* kMomentumPrefix = "momentum.";
/// Stream ids of Rng::from, so data order and augmentation draw unrelated numbers.
constexpr uint64_t kOrderStream = 1;
constexpr uint64_t kAugmentStream = 2;

/// A batch ready for the model: (B, 3, crop, crop) images and (B, K) 0/1 targets.
struct Batch {
  torch::Tensor images;
  torch::Tensor targets;
};

/// Decodes and augments the samples of `plan` on `workers` threads. Each sample draws from its
/// own generator, seeded by (seed, epoch, position), so the batch does not depend on the thread
/// count.
Batch make_batch(const std::vector<TrainSample>& samples,
                 const BatchPlan& plan,
                 const TrainClsOptions& o) {
  const int bs = o.batch_size, crop = o.augment.crop, k = o.model.num_classes;
  Batch batch{torch::empty({bs, 3, crop, crop}), torch::zeros({bs, k})};
  float* images = batch.images.data_ptr<float>();
  float* targets = batch.targets.data_ptr<float>();
  const size_t plane = static_cast<size_t>(3) * crop * crop;
  parallel_for(static_cast<size_t>(bs), o.workers, [&](size_t i) {
    const auto in_batch = static_cast<int64_t>(i);
    const TrainSample& s = samples[plan.sample(in_batch)];
    Rng rng = Rng::from(o.seed,
                        (kAugmentStream << 32) | static_cast<uint64_t>(plan.epoch),
                        plan.position(in_batch));
    augment_image(read_image(s.image_path), o.augment, rng, images + i * plane);
    for (int c : s.labels) {
      PM_CHECK(c >= 0 && c < k, "{}: class {} is outside 0..{}", s.id, c, k - 1);
      targets[i * k + c] = 1.0f;
    }
  });
  return batch;
}

/// A tensor's values as float32 on the CPU, row-major.
std::vector<float> float_values(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

/// Trainable parameters by name in two groups: backbone (lr) and head (lr · mult).
std::vector<ParamGroup> param_groups(Classifier& model, double head_lr_mult) {
  ParamGroup backbone, head;
  head.lr_mult = head_lr_mult;
  for (const auto& p : model->named_parameters()) {
    if (!p.value().requires_grad())
      continue;
    (p.key().rfind("classifier.", 0) == 0 ? head : backbone)
        .params.emplace_back(p.key(), p.value());
  }
  return {backbone, head};
}

/// Every tensor of `groups` (for gradient clipping).
std::vector<torch::Tensor> tensors_of(const std::vector<ParamGroup>& groups) {
  std::vector<torch::Tensor> out;
  for (const auto& g : groups)
    for (const auto& [name, p] : g.params)
      out.push_back(p);
  return out;
}

const std::string& required_meta(const Checkpoint& c, const char* key, const std::string& path) {
  const std::string* v = c.find_metadata(key);
  PM_CHECK(v != nullptr,
           "{}: no '{}' in the checkpoint's metadata (not a pseudomask classifier)",
           path,
           key);
  return *v;
}

std::string log_row(const StepLog& s) {
  return fmt::format("{},{},{:.6f},{:.4f},{:.6g}", s.step, s.epoch, s.loss, s.accuracy, s.lr);
}

/// The classifier and its multi-label soft-margin loss, as the training loop drives them.
class ClsTask final : public TrainTask<Batch> {
 public:
  ClsTask(const std::vector<TrainSample>& samples,
          const std::vector<TrainSample>& val,
          const TrainClsOptions& o,
          Classifier model,
          int64_t total,
          const torch::Device& device,
          const StepCallback& on_step,
          const ClsValCallback& on_val,
          TrainClsResult& result)
      : samples_(samples),
        val_(val),
        o_(o),
        model_(std::move(model)),
        groups_(param_groups(model_, o.head_lr_mult)),
        trainable_(tensors_of(groups_)),
        sgd_(groups_, {o.lr, o.momentum, o.weight_decay, o.poly_power, total, 0, o.lr_schedule}),
        total_(total),
        device_(device),
        on_step_(on_step),
        on_val_(on_val),
        result_(result) {}

  torch::nn::Module& module() override { return *model_; }

  std::optional<double> evaluate(int64_t steps_done) override {
    if (val_.empty())
      return std::nullopt;
    ClsValLog v = validate_classifier(model_, val_, o_.augment.crop, device_);
    v.step = steps_done;
    result_.validations.push_back(v);
    if (on_val_)
      on_val_(v);
    return v.map;
  }
  PolySgd& optimizer() override { return sgd_; }

  std::vector<std::pair<std::string, std::string>> metadata() const override {
    const ClassifierOptions& m = model_->options();
    return {{meta::kFormat, kFormatName},
            {meta::kArch, m.arch},
            {meta::kNumClasses, std::to_string(m.num_classes)},
            {meta::kImageSize, std::to_string(m.image_size)},
            {meta::kCrop, std::to_string(o_.augment.crop)},
            {meta::kSeed, std::to_string(o_.seed)}};
  }

  Batch load_batch(const BatchPlan& plan) const override { return make_batch(samples_, plan, o_); }

  std::string train_step(Batch& batch, const BatchPlan& plan) override {
    const torch::Tensor x = batch.images.to(device_), y = batch.targets.to(device_);
    const torch::Tensor logits = model_->forward(x);
    const torch::Tensor loss = torch::nn::functional::multilabel_soft_margin_loss(logits, y);
    sgd_.zero_grad();
    loss.backward();
    if (o_.clip_grad > 0)
      torch::nn::utils::clip_grad_norm_(trainable_, o_.clip_grad);
    StepLog s;
    s.step = plan.step;
    s.epoch = plan.epoch;
    s.lr = sgd_.step(plan.step);
    s.loss = loss.item<double>();
    s.accuracy =
        ((logits.detach() > 0).to(torch::kFloat32) == y).to(torch::kFloat32).mean().item<double>();
    s.scores = float_values(logits.detach());
    for (float t : float_values(y))
      s.targets.push_back(t > 0.5f ? 1 : 0);
    result_.steps.push_back(s);
    if (on_step_)
      on_step_(s, total_);
    return log_row(s);
  }

 private:
  const std::vector<TrainSample>& samples_;
  const std::vector<TrainSample>& val_;
  const TrainClsOptions& o_;
  Classifier model_;
  std::vector<ParamGroup> groups_;
  std::vector<torch::Tensor> trainable_;
  PolySgd sgd_;
  int64_t total_;
  torch::Device device_;
  const StepCallback& on_step_;
  const ClsValCallback& on_val_;
  TrainClsResult& result_;
};

}  // namespace

void TrainClsOptions::validate() const {
  model.validate();
  augment.validate();
  PM_CHECK(!out_dir.empty(), "TrainClsOptions::out_dir: an output folder is required");
  PM_CHECK(epochs >= 1, "TrainClsOptions::epochs {}: must be positive", epochs);
  PM_CHECK(batch_size >= 1, "TrainClsOptions::batch_size {}: must be positive", batch_size);
  PM_CHECK(head_lr_mult > 0, "TrainClsOptions::head_lr_mult {}: must be positive", head_lr_mult);
  PM_CHECK(clip_grad >= 0, "TrainClsOptions::clip_grad {}: must be >= 0", clip_grad);
  PM_CHECK(workers >= 0 && threads >= 0,
           "TrainClsOptions::workers/threads {}/{}: must be >= 0",
           workers,
           threads);
  PM_CHECK(stop_after >= 0, "TrainClsOptions::stop_after {}: must be >= 0", stop_after);
  PM_CHECK(!model.is_vit() || augment.crop % 16 == 0,
           "TrainClsOptions::augment.crop {}: a ViT needs a multiple of its patch size 16",
           augment.crop);
}

ClsValLog validate_classifier(Classifier& model,
                              const std::vector<TrainSample>& val,
                              int crop,
                              const torch::Device& device) {
  const int k = model->options().num_classes;
  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  std::vector<float> scores;
  std::vector<uint8_t> targets;
  for (const TrainSample& s : val) {
    const RgbImage image = read_image(s.image_path);
    const double scale = static_cast<double>(crop) / std::max(image.width, image.height);
    const int w = std::max(1, static_cast<int>(std::lround(image.width * scale)));
    const int h = std::max(1, static_cast<int>(std::lround(image.height * scale)));
    std::vector<float> planes(static_cast<size_t>(3) * w * h);
    normalize_image(resize_bilinear(image, w, h), planes.data());
    torch::Tensor x = torch::zeros({1, 3, crop, crop});
    x.index_put_(
        {0, torch::indexing::Slice(), torch::indexing::Slice(0, h), torch::indexing::Slice(0, w)},
        torch::from_blob(planes.data(), {3, h, w}, torch::kFloat32));
    const std::vector<float> logits = float_values(model->forward(x.to(device)));
    scores.insert(scores.end(), logits.begin(), logits.end());
    std::vector<uint8_t> t(static_cast<size_t>(k), 0);
    for (int c : s.labels) {
      PM_CHECK(c >= 0 && c < k, "{}: class {} is outside 0..{}", s.id, c, k - 1);
      t[static_cast<size_t>(c)] = 1;
    }
    targets.insert(targets.end(), t.begin(), t.end());
  }
  model->train(was_training);
  const MeanAveragePrecision m = mean_average_precision(scores, targets, k);
  ClsValLog log;
  log.map = m.mean;
  log.class_ap = m.per_class;
  return log;
}

TrainClsResult train_classifier(const std::vector<TrainSample>& samples,
                                const TrainClsOptions& o,
                                const StepCallback& on_step,
                                const std::vector<TrainSample>& val,
                                const ClsValCallback& on_val) {
  o.validate();
  const auto start = std::chrono::steady_clock::now();
  const torch::Device device =
      start_training(samples.size(), o.batch_size, o.threads, o.device, o.seed);

  ClassifierOptions mo = o.model;
  if (mo.is_vit() && mo.image_size == 0)
    mo.image_size = o.augment.crop;  // position embeddings for the training crop
  // Frozen statistics and a frozen stem only make sense for ImageNet weights; from scratch
  // (the synthetic dataset, tests) everything trains and BatchNorm uses batch statistics.
  const bool pretrained = !o.pretrained.empty();
  mo.frozen_bn = mo.frozen_bn && pretrained;
  Classifier model(mo);
  if (pretrained) {
    model->load_pretrained(read_checkpoint(o.pretrained), o.pretrained);
    if (mo.frozen_stages == ClassifierOptions::kPretrainedStem)
      model->freeze_stem();
  }
  model->to(device);
  model->train();

  const int64_t total = static_cast<int64_t>(samples.size()) / o.batch_size * o.epochs;
  TrainClsResult result;
  result.freeze = model->backbone->freeze_state();
  ClsTask task(samples, val, o, model, total, device, on_step, on_val, result);
  LoopOptions loop = loop_options_of(o, samples.size(), total);
  if (!val.empty())
    loop.eval_every = static_cast<int64_t>(samples.size()) / o.batch_size;  // every epoch
  loop.log_header = "step,epoch,loss,accuracy,lr";
  loop.resume_must_match = {meta::kArch};
  loop.optimizer_prefix = kMomentumPrefix;
  loop.order_stream = kOrderStream;
  record_loop_result(run_training(loop, task), result);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

Classifier load_classifier(const std::string& path, const std::string& device) {
  const Checkpoint ckpt = read_checkpoint(path);
  PM_CHECK(required_meta(ckpt, meta::kFormat, path) == kFormatName,
           "{}: metadata format is '{}', expected '{}'",
           path,
           required_meta(ckpt, meta::kFormat, path),
           kFormatName);
  ClassifierOptions o;
  o.arch = required_meta(ckpt, meta::kArch, path);
  o.num_classes = static_cast<int>(metadata_int(ckpt, meta::kNumClasses, path));
  o.image_size = static_cast<int>(metadata_int(ckpt, meta::kImageSize, path));
  Classifier model(o);
  LoadRules rules;
  rules.ignore_prefixes = {kMomentumPrefix};
  load_state_dict(*model, ckpt, rules, path);
  model->to(parse_device(device));
  model->eval();
  return model;
}

}  // namespace pm::nn
