// SPDX-License-Identifier: MIT
#include "pseudomask/nn/train/cls_trainer.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <sstream>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/parallel.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/train/sgd.h"

namespace pm::nn {
namespace {

/// The value of metadata "format" in our classifier checkpoints.
constexpr const char* kFormatName = "pseudomask-classifier";
/// Prefix of the momentum buffers in last.pth.
constexpr const char* kMomentumPrefix = "momentum.";
/// Stream ids of Rng::from, so data order and augmentation draw unrelated numbers.
constexpr uint64_t kOrderStream = 1;
constexpr uint64_t kAugmentStream = 2;

/// A batch ready for the model: (B, 3, crop, crop) images and (B, K) 0/1 targets.
struct Batch {
  torch::Tensor images;
  torch::Tensor targets;
};

/// Decodes and augments the samples of batch `b` of `epoch` on `workers` threads. Each sample
/// draws from its own generator, seeded by (seed, epoch, position), so the batch does not depend
/// on the thread count.
Batch make_batch(const std::vector<TrainSample>& samples,
                 const std::vector<size_t>& order,
                 int epoch,
                 int64_t b,
                 const TrainClsOptions& o) {
  const int bs = o.batch_size, crop = o.augment.crop, k = o.model.num_classes;
  Batch batch{torch::empty({bs, 3, crop, crop}), torch::zeros({bs, k})};
  float* images = batch.images.data_ptr<float>();
  float* targets = batch.targets.data_ptr<float>();
  const size_t plane = static_cast<size_t>(3) * crop * crop;
  parallel_for(static_cast<size_t>(bs), o.workers, [&](size_t i) {
    const size_t pos = static_cast<size_t>(b) * bs + i;
    const TrainSample& s = samples[order[pos]];
    Rng rng = Rng::from(o.seed, (kAugmentStream << 32) | static_cast<uint64_t>(epoch), pos);
    augment_image(read_image(s.image_path), o.augment, rng, images + i * plane);
    for (int c : s.labels) {
      PM_CHECK(c >= 0 && c < k, "{}: class {} is outside 0..{}", s.id, c, k - 1);
      targets[i * k + c] = 1.0f;
    }
  });
  return batch;
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

Checkpoint model_checkpoint(const Classifier& model,
                            const TrainClsOptions& o,
                            int64_t step,
                            int64_t total) {
  Checkpoint ckpt = state_dict_of(*model);
  const ClassifierOptions& m = model->options();
  ckpt.metadata = {{meta::kFormat, kFormatName},
                   {meta::kArch, m.arch},
                   {meta::kNumClasses, std::to_string(m.num_classes)},
                   {meta::kImageSize, std::to_string(m.image_size)},
                   {meta::kCrop, std::to_string(o.augment.crop)},
                   {meta::kStep, std::to_string(step)},
                   {meta::kTotalSteps, std::to_string(total)},
                   {meta::kSeed, std::to_string(o.seed)}};
  return ckpt;
}

const std::string& required_meta(const Checkpoint& c, const char* key, const std::string& path) {
  const std::string* v = c.find_metadata(key);
  PM_CHECK(v != nullptr,
           "{}: no '{}' in the checkpoint's metadata (not a pseudomask classifier)",
           path,
           key);
  return *v;
}

int64_t meta_int(const Checkpoint& c, const char* key, const std::string& path) {
  const std::string& v = required_meta(c, key, path);
  try {
    return std::stoll(v);
  } catch (const std::exception&) {
    PM_FAIL("{}: metadata '{}' is '{}', not an integer", path, key, v);
  }
}

std::string log_line(const StepLog& s) {
  return fmt::format("{},{},{:.6f},{:.4f},{:.6g}\n", s.step, s.epoch, s.loss, s.accuracy, s.lr);
}

/// The rows of an earlier train_log.csv before `step` (kept on resume).
std::string earlier_log(const std::string& path, int64_t step) {
  std::ifstream in(path);
  std::string out, line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] < '0' || line[0] > '9')
      continue;
    if (std::stoll(line) < step)
      out += line + "\n";
  }
  return out;
}

}  // namespace

void TrainClsOptions::validate() const {
  model.validate();
  augment.validate();
  PM_CHECK(!out_dir.empty(), "--out: an output folder is required");
  PM_CHECK(epochs >= 1, "--epochs {}: must be positive", epochs);
  PM_CHECK(batch_size >= 1, "--batch-size {}: must be positive", batch_size);
  PM_CHECK(head_lr_mult > 0, "--head-lr-mult {}: must be positive", head_lr_mult);
  PM_CHECK(clip_grad >= 0, "--clip-grad {}: must be >= 0", clip_grad);
  PM_CHECK(workers >= 0 && threads >= 0, "--workers and --threads must be >= 0");
  PM_CHECK(stop_after >= 0, "--stop-after {}: must be >= 0", stop_after);
  PM_CHECK(!model.is_vit() || augment.crop % 16 == 0,
           "--crop {}: a ViT needs a multiple of its patch size 16",
           augment.crop);
}

TrainClsResult train_classifier(const std::vector<TrainSample>& samples,
                                const TrainClsOptions& o,
                                const StepCallback& on_step) {
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
    model->freeze_stem();
  }

  const auto steps_per_epoch = static_cast<int64_t>(samples.size()) / o.batch_size;
  const int64_t total = steps_per_epoch * o.epochs;
  std::vector<ParamGroup> groups = param_groups(model, o.head_lr_mult);
  std::vector<torch::Tensor> trainable;
  for (const auto& g : groups)
    for (const auto& [name, p] : g.params)
      trainable.push_back(p);
  PolySgd sgd(groups, {o.lr, o.momentum, o.weight_decay, o.poly_power, total});

  const std::string last_path = o.out_dir + "/last.pth";
  TrainClsResult result;
  result.total_steps = total;
  result.log_path = o.out_dir + "/train_log.csv";
  std::string log = "step,epoch,loss,accuracy,lr\n";
  if (o.resume && std::filesystem::exists(last_path)) {
    const Checkpoint ckpt = read_checkpoint(last_path);
    PM_CHECK(required_meta(ckpt, meta::kArch, last_path) == mo.arch,
             "{}: trained as {}, but --arch is {}",
             last_path,
             required_meta(ckpt, meta::kArch, last_path),
             mo.arch);
    PM_CHECK(meta_int(ckpt, meta::kTotalSteps, last_path) == total,
             "{}: its schedule has {} steps, these options give {} (same dataset, --epochs and "
             "--batch-size needed to resume)",
             last_path,
             meta_int(ckpt, meta::kTotalSteps, last_path),
             total);
    LoadRules rules;
    rules.ignore_prefixes = {kMomentumPrefix};
    load_state_dict(*model, ckpt, rules, last_path);
    sgd.load_state(ckpt, kMomentumPrefix, last_path);
    result.start_step = meta_int(ckpt, meta::kStep, last_path);
    log += earlier_log(result.log_path, result.start_step);
  }
  model->to(device);
  model->train();

  auto save_last = [&](int64_t step) {
    Checkpoint ckpt = model_checkpoint(model, o, step, total);
    sgd.save_state(ckpt, kMomentumPrefix);
    write_checkpoint(last_path, ckpt);
    write_file_atomic(result.log_path, log);
  };

  const int64_t end = o.stop_after > 0 ? std::min(total, o.stop_after) : total;
  std::vector<size_t> order;
  int order_epoch = -1;
  std::future<Batch> next;
  auto launch = [&](int64_t step) {
    const int epoch = static_cast<int>(step / steps_per_epoch);
    if (epoch != order_epoch) {
      order = epoch_order(samples.size(), o.seed, kOrderStream, epoch);
      order_epoch = epoch;
    }
    const std::vector<size_t> batch_order = order;
    next =
        std::async(std::launch::async, [&samples, &o, batch_order, epoch, step, steps_per_epoch] {
          return make_batch(samples, batch_order, epoch, step % steps_per_epoch, o);
        });
  };
  if (result.start_step < end)
    launch(result.start_step);
  for (int64_t step = result.start_step; step < end; ++step) {
    Batch batch = next.get();
    if (step + 1 < end)
      launch(step + 1);  // prepared while this step runs
    const torch::Tensor x = batch.images.to(device), y = batch.targets.to(device);
    const torch::Tensor logits = model->forward(x);
    const torch::Tensor loss = torch::nn::functional::multilabel_soft_margin_loss(logits, y);
    sgd.zero_grad();
    loss.backward();
    if (o.clip_grad > 0)
      torch::nn::utils::clip_grad_norm_(trainable, o.clip_grad);
    StepLog s;
    s.step = step;
    s.epoch = static_cast<int>(step / steps_per_epoch);
    s.lr = sgd.step(step);
    s.loss = loss.item<double>();
    s.accuracy =
        ((logits.detach() > 0).to(torch::kFloat32) == y).to(torch::kFloat32).mean().item<double>();
    result.steps.push_back(s);
    log += log_line(s);
    if (on_step)
      on_step(s, total);
    if ((step + 1) % steps_per_epoch == 0 || step + 1 == end)
      save_last(step + 1);
  }
  if (result.start_step >= end)
    write_file_atomic(result.log_path, log);
  if (end == total) {
    result.finished = true;
    result.model_path = o.out_dir + "/model.pth";
    write_checkpoint(result.model_path, model_checkpoint(model, o, total, total));
  }
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
  o.num_classes = static_cast<int>(meta_int(ckpt, meta::kNumClasses, path));
  o.image_size = static_cast<int>(meta_int(ckpt, meta::kImageSize, path));
  Classifier model(o);
  LoadRules rules;
  rules.ignore_prefixes = {kMomentumPrefix};
  load_state_dict(*model, ckpt, rules, path);
  model->to(parse_device(device));
  model->eval();
  return model;
}

}  // namespace pm::nn
