// SPDX-License-Identifier: MIT
// `pseudomask train-cls`: multi-label classifier training on image-level labels (IRN's
// train_cam.py; ORANDNet's ResNet-50 and ViT classifiers).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/progress.h"
#include "common/recipes.h"
#include "common/report.h"
#include "nn/dataset_flags.h"
#include "nn/nn_subcommands.h"
#include "nn/option_flags.h"
#include "nn/train_report.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/parse.h"
#include "pseudomask/core/eval/average_precision.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/nn/train/cls_trainer.h"

namespace pm::cli {
namespace {

/// Images looked at to choose the automatic crop size.
constexpr size_t kCropProbeImages = 32;
/// IRN's resize range relative to its crop: long side 320..640 for a 512 crop.
constexpr double kResizeMinRatio = 320.0 / 512.0;
constexpr double kResizeMaxRatio = 640.0 / 512.0;

/// Flags of `pseudomask train-cls`.
struct TrainClsCommand {
  DatasetFlags data;
  nn::TrainClsOptions train;
  std::string val_split;    ///< "" = no validation
  int num_classes = 0;      ///< 0 = the dataset's foreground classes
  int crop = 0;             ///< 0 = auto (median long side, multiple of 16)
  std::string resize_long;  ///< "MIN,MAX"; "" = auto (0.625..1.25 × crop)
  bool no_jitter = false;
  std::string lr_schedule = "poly";  ///< poly or cosine
  std::string recipe;                ///< --recipe NAME ("" = none)
  bool quiet = false;
};

/// The fields of TrainClsOptions that nn's errors name, and the flags that set them.
FlagNames train_cls_flag_names() {
  FlagNames names = {{"TrainClsOptions::out_dir", "--out"},
                     {"TrainClsOptions::epochs", "--epochs"},
                     {"TrainClsOptions::batch_size", "--batch-size"},
                     {"TrainClsOptions::head_lr_mult", "--head-lr-mult"},
                     {"TrainClsOptions::clip_grad", "--clip-grad"},
                     {"TrainClsOptions::lr_schedule", "--lr-schedule"},
                     {"TrainClsOptions::workers/threads", "--workers/--threads"},
                     {"TrainClsOptions::stop_after", "--stop-after"},
                     {"TrainClsOptions::augment.crop", "--crop"},
                     {"AugmentOptions::resize_long_min/max", "--resize-long"},
                     {"AugmentOptions::crop", "--crop"},
                     {"ClassifierOptions::arch", "--arch"},
                     {"ClassifierOptions::num_classes", "--num-classes"},
                     {"ClassifierOptions::image_size", "--image-size"},
                     {"ClassifierOptions::pos_embed_resample", "--pos-embed-resample"},
                     {"ClassifierOptions::frozen_stages", "--frozen-stages"}};
  names.insert(names.end(), sgd_flag_names().begin(), sgd_flag_names().end());
  return names;
}

/// The median long side of the first images, rounded up to a multiple of 16: 512 for VOC
/// (IRN's crop), the image size for small synthetic sets.
int auto_crop(const std::vector<nn::TrainSample>& samples) {
  std::vector<int> sides;
  for (size_t i = 0; i < samples.size() && i < kCropProbeImages; ++i) {
    const RgbImage img = read_image(samples[i].image_path);
    sides.push_back(std::max(img.width, img.height));
  }
  std::nth_element(sides.begin(), sides.begin() + sides.size() / 2, sides.end());
  const int median = sides[sides.size() / 2];
  return (median + 15) / 16 * 16;
}

/// What an epoch's steps add up to.
struct EpochFigures {
  double loss = 0, accuracy = 0;
  int64_t steps = 0;
  std::vector<float> scores;
  std::vector<uint8_t> targets;

  void add(const nn::StepLog& s) {
    loss += s.loss;
    accuracy += s.accuracy;
    ++steps;
    scores.insert(scores.end(), s.scores.begin(), s.scores.end());
    targets.insert(targets.end(), s.targets.begin(), s.targets.end());
  }
};

nlohmann::json json_number(double v) {
  return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
}

/// The dataset's foreground class names, "a, b, c" (the classes the classifier learns).
std::string class_list(const Dataset& ds) {
  std::string out;
  for (size_t k = 1; k < ds.class_names.size(); ++k)
    out += (k > 1 ? ", " : "") + ds.class_names[k];
  return out;
}

int run_train_cls(TrainClsCommand& c) {
  const Dataset ds = open_dataset_flags(c.data);
  const auto labels = load_image_labels(ds);
  std::vector<nn::TrainSample> samples;
  for (const std::string& id : ds.ids)
    samples.push_back({id, ds.image_path(id), labels.at(id)});
  PM_CHECK(!samples.empty(), "{}: split '{}' has no images", c.data.root, c.data.split);
  std::vector<nn::TrainSample> val;
  if (!c.val_split.empty()) {
    const Dataset vds = open_dataset(parse_dataset_layout(c.data.layout), c.data.root, c.val_split);
    const auto val_labels = load_image_labels(vds);
    for (const std::string& id : vds.ids)
      val.push_back({id, vds.image_path(id), val_labels.at(id)});
  }

  nn::TrainClsOptions& o = c.train;
  o.model.num_classes = c.num_classes > 0 ? c.num_classes : ds.num_classes() - 1;
  o.augment.crop = c.crop > 0 ? c.crop : auto_crop(samples);
  if (c.resize_long.empty()) {
    o.augment.resize_long_min = static_cast<int>(std::lround(o.augment.crop * kResizeMinRatio));
    o.augment.resize_long_max = static_cast<int>(std::lround(o.augment.crop * kResizeMaxRatio));
  } else {
    const auto v = parse_float_list(c.resize_long, "--resize-long", 2);
    o.augment.resize_long_min = static_cast<int>(v[0]);
    o.augment.resize_long_max = static_cast<int>(v[1]);
  }
  if (c.no_jitter)
    o.augment.jitter = nn::ColorJitter{0, 0, 0, 0};
  o.lr_schedule = nn::parse_lr_schedule(c.lr_schedule, "TrainClsOptions::lr_schedule");

  const bool tty = ::isatty(STDERR_FILENO) != 0;
  std::printf(
      "train-cls: %s, %zu images (%zu val), %d classes (the dataset's: %s), crop %d (long side "
      "%d..%d), %s\n",
      o.model.arch.c_str(),
      samples.size(),
      val.size(),
      o.model.num_classes,
      class_list(ds).c_str(),
      o.augment.crop,
      o.augment.resize_long_min,
      o.augment.resize_long_max,
      o.device.c_str());
  std::fflush(stdout);
  std::unique_ptr<Progress> progress;
  EpochFigures epoch;
  nlohmann::json epochs = nlohmann::json::array();
  auto on_step = [&](const nn::StepLog& s, int64_t total) {
    if (!progress)
      progress = std::make_unique<Progress>("train-cls", static_cast<size_t>(total), c.quiet);
    progress->update(static_cast<size_t>(s.step + 1));
    epoch.add(s);
    const int64_t per_epoch = total / o.epochs;
    if ((s.step + 1) % per_epoch == 0) {
      const double loss = epoch.loss / epoch.steps, acc = epoch.accuracy / epoch.steps;
      const double map =
          mean_average_precision(epoch.scores, epoch.targets, o.model.num_classes).mean;
      epochs.push_back({{"epoch", s.epoch + 1},
                        {"loss", loss},
                        {"train_map", json_number(map)},
                        {"accuracy", acc}});
      if (!c.quiet) {
        std::fprintf(
            stderr,
            "%sepoch %d/%d: loss %.4f, train mAP %s %% (over the epoch's batches), lr %.3g\n",
            tty ? "\r\033[K" : "",
            s.epoch + 1,
            o.epochs,
            loss,
            percent(map).c_str(),
            s.lr);
      }
      epoch = EpochFigures();
    }
  };
  auto on_val = [&](const nn::ClsValLog& v) {
    if (!epochs.empty() && epochs.back().value("val_map", nlohmann::json()).is_null())
      epochs.back()["val_map"] = json_number(v.map);
    if (!c.quiet)
      std::fprintf(
          stderr, "  validation mAP %s %% (%zu images)\n", percent(v.map).c_str(), val.size());
  };
  const nn::TrainClsResult r = nn::train_classifier(samples, o, on_step, val, on_val);
  if (progress)
    progress->finish();
  nlohmann::json val_json = nullptr;
  if (!r.validations.empty()) {
    const nn::ClsValLog& last = r.validations.back();
    nlohmann::json per_class = nlohmann::json::object();
    for (size_t k = 0; k < last.class_ap.size(); ++k)
      per_class[k + 1 < ds.class_names.size() ? ds.class_names[k + 1] : std::to_string(k)] =
          json_number(last.class_ap[k]);
    val_json = {{"split", c.val_split},
                {"images", val.size()},
                {"map", json_number(last.map)},
                {"class_ap", per_class}};
  }
  write_json(
      o.out_dir + "/train_cls_summary.json",
      training_summary(
          {{"recipe", c.recipe},
           {"arch", o.model.arch},
           {"num_classes", o.model.num_classes},
           {"images", samples.size()},
           {"crop", o.augment.crop},
           {"resize_long", {o.augment.resize_long_min, o.augment.resize_long_max}},
           {"epochs", o.epochs},
           {"batch_size", o.batch_size},
           {"lr", o.lr},
           {"head_lr_mult", o.head_lr_mult},
           {"lr_schedule", nn::lr_schedule_name(o.lr_schedule)},
           {"momentum", o.momentum},
           {"weight_decay", o.weight_decay},
           {"clip_grad", o.clip_grad},
           {"seed", o.seed},
           {"device", o.device},
           {"classes", std::vector<std::string>(ds.class_names.begin() + 1, ds.class_names.end())},
           {"epochs_run", epochs},
           {"validation", val_json}},
          r));
  print_training_line("train-cls", r, o.out_dir);
  return 0;
}

}  // namespace

void add_train_cls_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<TrainClsCommand>();
  nn::TrainClsOptions& o = c->train;
  CLI::App* sub = app.add_subcommand(
      "train-cls", "Train a multi-label classifier (ResNet or ViT) on image-level labels");
  sub->footer(
      "Stage one of WSSS (IRN's train_cam.py). Loss: multi-label soft margin. Optimiser: SGD with "
      "the poly\n"
      "schedule lr (1 - t/T)^0.9 (--lr-schedule cosine: lr (1 + cos(pi t/T)) / 2), the new head at "
      "--head-lr-mult x lr. ResNet: output stride 16, "
      "frozen\n"
      "BatchNorm statistics, conv1..layer2 frozen; ViT: patch embedding frozen. Augmentation: "
      "random long\n"
      "side, flip, colour jitter, crop into a zero canvas, ImageNet normalisation. Writes "
      "<out>/model.pth\n"
      "(weights + metadata), <out>/last.pth (for --resume), <out>/train_log.csv and "
      "train_cls_summary.json.\n"
      "Each epoch reports its mean loss and mAP (per-class average precision over the epoch's "
      "batches, as\n"
      "scikit-learn computes it, averaged over the classes present); with --val-split also the "
      "validation\n"
      "mAP (each image resized to the crop, no augmentation). Label accuracy is kept in the "
      "summary only:\n"
      "predicting every class absent already scores about 90 % on VOC.\n"
      "The official IRN/ORANDNet code passes weight decay as momentum: --momentum 5e-4 "
      "--weight-decay 0\n"
      "reproduces it. Archs: resnet50, resnet101, resnet-tiny, resnet38d (ResNet-38, res38d "
      "keys),\n"
      "res2net101 (Res2Net-101 v1b 26w4s), deit-base, deit-small, deit-tiny, vit-tiny.\n\n"
      "Example:\n  pseudomask train-cls --dataset VOC2012 --split train_aug --arch resnet50 "
      "--pretrained resnet50-19c8e357.pth --out runs/cls_r50 --epochs 5 --batch-size 16");
  add_dataset_flags(sub, c->data, "train");
  sub->add_option(
      "--val-split", c->val_split, "Validation split: its mAP is reported at every epoch's end");
  sub->add_option("--out", o.out_dir, "Output folder")->required();
  sub->add_option("--arch", o.model.arch, "Architecture")->capture_default_str();
  sub->add_option(
         "--pretrained",
         o.pretrained,
         "ImageNet .pth of the backbone (torchvision ResNet, res38d, Res2Net, timm/DeiT ViT)")
      ->check(CLI::ExistingFile);
  sub->add_option("--num-classes",
                  c->num_classes,
                  "Foreground classes (default: the dataset's, e.g. 20 for VOC)");
  sub->add_option("--epochs", o.epochs, "Epochs")->capture_default_str();
  sub->add_option("--batch-size", o.batch_size, "Images per step")->capture_default_str();
  sub->add_option("--lr", o.lr, "Backbone learning rate")->capture_default_str();
  sub->add_option("--head-lr-mult", o.head_lr_mult, "Head learning-rate multiplier")
      ->capture_default_str();
  sub->add_option("--lr-schedule",
                  c->lr_schedule,
                  "poly (lr (1 - t/T)^0.9) or cosine (lr (1 + cos(pi t/T)) / 2)")
      ->capture_default_str();
  sub->add_option("--momentum", o.momentum, "SGD momentum")->capture_default_str();
  sub->add_option("--weight-decay", o.weight_decay, "L2 weight decay")->capture_default_str();
  sub->add_option("--clip-grad", o.clip_grad, "Clip the gradient norm (0 = off; ORANDNet ViT: 1)")
      ->capture_default_str();
  sub->add_option("--crop", c->crop, "Training crop side (default: median long side, x16)");
  sub->add_option("--resize-long",
                  c->resize_long,
                  "Long-side range MIN,MAX (default: 0.625..1.25 x crop; IRN: 320,640)");
  sub->add_flag("--no-jitter", c->no_jitter, "No colour jitter");
  sub->add_flag("--norm-eval",
                o.model.norm_eval,
                "Every BatchNorm of the backbone in eval mode (statistics frozen, affine weights "
                "train), with or without --pretrained (mmseg norm_eval)");
  sub->add_option("--frozen-stages",
                  o.model.frozen_stages,
                  "Freeze the backbone's stem and first N stages (mmseg frozen_stages; -1 = none; "
                  "default -2: with --pretrained IRN's conv1..layer2 / the ViT's patch "
                  "embedding)")
      ->capture_default_str();
  sub->add_option("--image-size",
                  o.model.image_size,
                  "ViT: input side of the position embeddings (default: the crop)");
  sub->add_option("--pos-embed-resample",
                  o.model.pos_embed_resample,
                  "ViT: resampling of pretrained position embeddings to --image-size: bicubic "
                  "(timm) or bilinear (ORANDNet)")
      ->capture_default_str();
  sub->add_option("--workers", o.workers, "Threads preparing batches")->capture_default_str();
  sub->add_option("--threads", o.threads, "Torch threads (0 = torch's default)")
      ->capture_default_str();
  sub->add_option("--seed", o.seed, "Seed of data order, augmentation and init")
      ->capture_default_str();
  sub->add_option("--device", o.device, "cpu, cuda or cuda:N")->capture_default_str();
  sub->add_flag("--resume", o.resume, "Continue from <out>/last.pth");
  sub->add_option("--stop-after",
                  o.stop_after,
                  "Stop after this many steps in all, keeping the schedule (resume later)");
  sub->add_flag("--quiet", c->quiet, "No progress output");
  add_recipe_flag(sub, c->recipe);
  sub->callback([c, sub, &exit_code] {
    apply_named_recipe(sub, "train-cls", c->recipe);
    exit_code = run_naming_flags(train_cls_flag_names(), [&] { return run_train_cls(*c); });
  });
}

}  // namespace pm::cli
