// SPDX-License-Identifier: MIT
#include "pseudomask/nn/seg/seg_trainer.h"

#include <fmt/format.h>
#include <torch/types.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>

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

Batch make_batch(const std::vector<SegTrainSample>& samples,
                 const std::vector<size_t>& order,
                 int64_t step,
                 int64_t index_in_epoch,
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
    const SegTrainSample& s = samples[order[static_cast<size_t>(index_in_epoch * n) + i]];
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
    Rng rng = Rng::from(o.seed ^ kAugmentStream, static_cast<uint64_t>(step), i);
    augment_seg_sample(d,
                       o.augment,
                       crop,
                       rng,
                       {b.images.data_ptr<float>() + i * 3 * plane,
                        b.labels.data_ptr<int64_t>() + i * plane,
                        b.weights.data_ptr<float>() + i * plane});
  });
  return b;
}

Checkpoint model_checkpoint(SegModel& model,
                            const SegModelOptions& m,
                            uint64_t seed,
                            int64_t step,
                            int64_t total,
                            double best) {
  Checkpoint ckpt = state_dict_of(*model);
  ckpt.metadata = {{seg_meta::kFormat, seg_meta::kFormatName},
                   {seg_meta::kArch, m.arch},
                   {seg_meta::kNumClasses, std::to_string(m.num_classes)},
                   {seg_meta::kStep, std::to_string(step)},
                   {seg_meta::kTotalSteps, std::to_string(total)},
                   {seg_meta::kSeed, std::to_string(seed)},
                   {seg_meta::kBestMiou, fmt::format("{:.6f}", best)}};
  return ckpt;
}

int64_t meta_int(const Checkpoint& c, const char* key, const std::string& path) {
  const std::string* v = c.find_metadata(key);
  PM_CHECK(v != nullptr, "{}: no '{}' in the checkpoint's metadata", path, key);
  try {
    return std::stoll(*v);
  } catch (const std::exception&) {
    PM_FAIL("{}: metadata '{}' is '{}', not an integer", path, key, *v);
  }
}

}  // namespace

void TrainSegOptions::validate() const {
  model.validate();
  augment.validate();
  loss.validate();
  PM_CHECK(!out_dir.empty(), "--out: an output folder is required");
  PM_CHECK((iterations > 0) != (epochs > 0),
           "--iterations {} / --epochs {}: give exactly one budget",
           iterations,
           epochs);
  PM_CHECK(batch_size >= 1, "--batch-size {}: must be positive", batch_size);
  PM_CHECK(lr > 0 && min_lr >= 0 && min_lr <= lr, "--min-lr {}: must be in [0, --lr]", min_lr);
  PM_CHECK(head_lr_mult > 0, "--head-lr-mult {}: must be positive", head_lr_mult);
  PM_CHECK(val_every >= 0 && stop_after >= 0, "--val-every/--stop-after must be >= 0");
  PM_CHECK(workers >= 0 && threads >= 0, "--workers and --threads must be >= 0");
  PM_CHECK(weight_thresh <= 1, "--weight-thresh {}: must be <= 1", weight_thresh);
  parse_scale_schedule(scale_schedule);
  parse_label_downsample(label_downsample);
}

std::vector<float> read_loss_weights(const SegTrainSample& s,
                                     WeightSource source,
                                     double thresh,
                                     LabelMap* labels) {
  LabelMap bytes;
  if (source == WeightSource::kUrnPng) {
    UrnLabel u = read_urn_png(s.weight_path);
    if (labels != nullptr && s.label_path.empty())
      *labels = u.mask;
    bytes = std::move(u.weight_byte);
  } else if (source == WeightSource::kGrayPng) {
    bytes = read_label_png(s.weight_path);
  } else {
    return {};
  }
  std::vector<float> w(bytes.num_pixels());
  for (size_t i = 0; i < w.size(); ++i) {
    const double v = bytes.labels[i] / 255.0;
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
  std::filesystem::create_directories(o.out_dir);

  SegModelOptions mo = o.model;
  mo.frozen_bn = mo.frozen_bn && !o.pretrained.empty();
  SegModel model(mo);
  if (!o.pretrained.empty())
    model->load_pretrained_backbone(read_checkpoint(o.pretrained), o.pretrained);

  const auto schedule = parse_scale_schedule(o.scale_schedule);
  const int64_t per_epoch = static_cast<int64_t>(samples.size()) / o.batch_size;
  const int64_t total = o.iterations > 0 ? o.iterations : per_epoch * o.epochs;
  PolySgd sgd({{model->backbone_parameters(), 1.0}, {model->head_parameters(), o.head_lr_mult}},
              {o.lr, o.momentum, o.weight_decay, o.poly_power, total, o.min_lr});

  TrainSegResult r;
  r.total_steps = total;
  r.steps_per_epoch = per_epoch;
  r.log_path = o.out_dir + "/train_log.csv";
  const std::string last_path = o.out_dir + "/last.pth";
  std::string log = "step,epoch,scale,loss,lr\n";
  if (o.resume && std::filesystem::exists(last_path)) {
    const Checkpoint ckpt = read_checkpoint(last_path);
    const std::string* arch = ckpt.find_metadata(seg_meta::kArch);
    PM_CHECK(arch != nullptr && *arch == mo.arch,
             "{}: trained as {}, but --arch is {}",
             last_path,
             arch ? *arch : "?",
             mo.arch);
    PM_CHECK(meta_int(ckpt, seg_meta::kTotalSteps, last_path) == total,
             "{}: its schedule has {} steps, these options give {}",
             last_path,
             meta_int(ckpt, seg_meta::kTotalSteps, last_path),
             total);
    LoadRules rules;
    rules.ignore_prefixes = {kMomentumPrefix};
    load_state_dict(*model, ckpt, rules, last_path);
    sgd.load_state(ckpt, kMomentumPrefix, last_path);
    r.start_step = meta_int(ckpt, seg_meta::kStep, last_path);
    if (const std::string* b = ckpt.find_metadata(seg_meta::kBestMiou))
      r.best_miou = std::stod(*b);
  }
  model->to(device);
  model->train();

  auto save_last = [&](int64_t step) {
    Checkpoint ckpt = model_checkpoint(model, mo, o.seed, step, total, r.best_miou);
    sgd.save_state(ckpt, kMomentumPrefix);
    write_checkpoint(last_path, ckpt);
    write_file_atomic(r.log_path, log);
  };
  auto run_validation = [&](int64_t step) {
    if (val.empty())
      return;
    SegValLog v = validate_segmentation(model, val, mo.num_classes, o.device);
    v.step = step;
    r.validations.push_back(v);
    if (on_val)
      on_val(v);
    if (v.miou > r.best_miou) {
      r.best_miou = v.miou;
      if (o.keep_best)
        write_checkpoint(o.out_dir + "/best.pth",
                         model_checkpoint(model, mo, o.seed, step, total, v.miou));
    }
  };

  const int64_t end = o.stop_after > 0 ? std::min(total, o.stop_after) : total;
  std::vector<size_t> order;
  int order_epoch = -1;
  std::future<Batch> next;
  auto launch = [&](int64_t step) {
    const int epoch = static_cast<int>(step / per_epoch);
    if (epoch != order_epoch) {
      order = epoch_order(samples.size(), o.seed, kOrderStream, epoch);
      order_epoch = epoch;
    }
    const int scale = scale_factor_at(schedule, epoch);
    next = std::async(std::launch::async, [&samples, &o, order = order, step, per_epoch, scale] {
      return make_batch(samples, order, step, step % per_epoch, scale, o);
    });
  };
  if (r.start_step < end)
    launch(r.start_step);
  for (int64_t step = r.start_step; step < end; ++step) {
    Batch b = next.get();
    if (step + 1 < end)
      launch(step + 1);
    const torch::Tensor x = b.images.to(device), y = b.labels.to(device);
    const torch::Tensor w =
        o.weight_source == WeightSource::kNone ? torch::Tensor() : b.weights.to(device);
    const SegOutput out = model->forward(x);
    torch::Tensor loss = seg_head_loss(out.logits, y, w, o.loss);
    if (out.aux.defined() && o.loss.aux_weight > 0)
      loss = loss + o.loss.aux_weight * seg_head_loss(out.aux, y, w, o.loss);
    sgd.zero_grad();
    loss.backward();
    SegStepLog s;
    s.step = step;
    s.epoch = static_cast<int>(step / per_epoch);
    s.scale = b.scale;
    s.lr = sgd.step(step);
    s.loss = loss.item<double>();
    PM_CHECK(
        std::isfinite(s.loss), "train-seg: the loss is {} at step {} (lower --lr?)", s.loss, step);
    r.steps.push_back(s);
    log += fmt::format("{},{},{},{:.6f},{:.6g}\n", s.step, s.epoch, s.scale, s.loss, s.lr);
    if (on_step)
      on_step(s, total);
    const bool validate_now = o.val_every > 0 && (step + 1) % o.val_every == 0 && step + 1 < total;
    if (validate_now)
      run_validation(step + 1);
    if ((step + 1) % per_epoch == 0 || step + 1 == end || validate_now)
      save_last(step + 1);
  }
  if (end == total) {
    if (r.start_step < end)
      run_validation(total);
    r.finished = true;
    r.model_path = o.out_dir + "/model.pth";
    write_checkpoint(r.model_path, model_checkpoint(model, mo, o.seed, total, total, r.best_miou));
    save_last(total);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace pm::nn
