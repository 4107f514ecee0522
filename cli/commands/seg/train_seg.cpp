// SPDX-License-Identifier: MIT
// `pseudomask train-seg`: segmentation training on pseudo-masks (DeepLab / PSPNet), with URN's
// per-pixel loss weights, PMM's pretended under-fitting and ORANDNet's scale scheduling.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

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
#include "pseudomask/nn/seg/seg_trainer.h"

namespace pm::cli {
namespace {

/// Flags of `pseudomask train-seg`.
struct TrainSegCommand {
  DatasetFlags data;
  std::string val_split;    ///< "" = no validation
  std::string labels;       ///< pseudo-mask PNGs <id>.png
  std::string weights;      ///< official URN 3-channel PNGs
  std::string weight_pngs;  ///< single-channel weight PNGs
  std::string scale_range = "0.5,2.0";
  bool no_photometric = false;
  bool no_flip = false;
  std::string scale_base = "original";  ///< what --scale-range is a ratio of
  std::string lr_schedule = "poly";
  std::string pus_order = "weights-first";
  std::string recipe;  ///< --recipe NAME ("" = none)
  nn::TrainSegOptions train;
  bool quiet = false;
};

/// The fields of TrainSegOptions that nn's errors name, and the flags that set them.
FlagNames train_seg_flag_names() {
  FlagNames names = {{"TrainSegOptions::out_dir", "--out"},
                     {"TrainSegOptions::iterations/epochs", "--iterations/--epochs"},
                     {"TrainSegOptions::batch_size", "--batch-size"},
                     {"TrainSegOptions::min_lr", "--min-lr"},
                     {"TrainSegOptions::head_lr_mult", "--head-lr-mult"},
                     {"TrainSegOptions::val_every/stop_after", "--val-every/--stop-after"},
                     {"TrainSegOptions::workers/threads", "--workers/--threads"},
                     {"TrainSegOptions::weight_thresh", "--weight-thresh"},
                     {"SegAugmentOptions::scale_min/max", "--scale-range"},
                     {"SegAugmentOptions::crop", "--crop"},
                     {"SegAugmentOptions::cat_max_ratio", "--cat-max-ratio"},
                     {"TrainSegOptions::lr_schedule", "--lr-schedule"},
                     {"TrainSegOptions::scale_base", "--scale-base"},
                     {"SegLossOptions::pus_order", "--pus-order"},
                     {"SegLossOptions::pus_beta", "--pus-beta"},
                     {"SegLossOptions::pus_k", "--pus-k"},
                     {"SegLossOptions::aux_weight", "--aux-weight"},
                     {"TrainSegOptions::scale_schedule", "--scale-schedule"},
                     {"TrainSegOptions::label_downsample", "--label-downsample"},
                     {"SegModelOptions::arch", "--arch"},
                     {"SegModelOptions::num_classes", "--num-classes"},
                     {"SegModelOptions::frozen_stages", "--frozen-stages"}};
  names.insert(names.end(), sgd_flag_names().begin(), sgd_flag_names().end());
  return names;
}

std::string required_file(const std::string& dir, const std::string& id, const char* flag) {
  const std::string p = find_by_stem(dir, id, {".png"});
  PM_CHECK(!p.empty(), "{}/{}.png: missing ({} has no file for image '{}')", dir, id, flag, id);
  return p;
}

int run_train_seg(TrainSegCommand& c) {
  nn::TrainSegOptions& o = c.train;
  PM_CHECK(c.weights.empty() || c.weight_pngs.empty(),
           "--weights and --weight-pngs exclude each other");
  PM_CHECK(!c.labels.empty() || !c.weights.empty(),
           "--labels: a folder of pseudo-masks is required (or --weights with URN files, whose "
           "blue channel is M_c)");
  const Dataset ds = open_dataset_flags(c.data);
  if (o.model.num_classes <= 0)
    o.model.num_classes = ds.num_classes();
  o.weight_source = !c.weights.empty()       ? nn::WeightSource::kUrnPng
                    : !c.weight_pngs.empty() ? nn::WeightSource::kGrayPng
                                             : nn::WeightSource::kNone;
  const std::string& weight_dir = c.weights.empty() ? c.weight_pngs : c.weights;
  std::vector<nn::SegTrainSample> train;
  for (const std::string& id : ds.ids) {
    nn::SegTrainSample s{id, ds.image_path(id), "", ""};
    if (!c.labels.empty())
      s.label_path = required_file(c.labels, id, "--labels");
    if (!weight_dir.empty())
      s.weight_path =
          required_file(weight_dir, id, c.weights.empty() ? "--weight-pngs" : "--weights");
    train.push_back(s);
  }
  PM_CHECK(!train.empty(), "{}: split '{}' has no images", c.data.root, c.data.split);
  std::vector<nn::SegValSample> val;
  if (!c.val_split.empty()) {
    const Dataset vds = open_dataset(parse_dataset_layout(c.data.layout), c.data.root, c.val_split);
    for (const std::string& id : vds.ids)
      val.push_back({id, vds.image_path(id), vds.mask_path(id)});
  }
  const auto range = parse_float_list(c.scale_range, "--scale-range", 2);
  o.augment.scale_min = range[0];
  o.augment.scale_max = range[1];
  o.augment.flip = !c.no_flip;
  o.augment.scale_base = nn::parse_rescale_base(c.scale_base, "TrainSegOptions::scale_base");
  o.lr_schedule = nn::parse_lr_schedule(c.lr_schedule, "TrainSegOptions::lr_schedule");
  o.loss.pus_order = nn::parse_pus_order(c.pus_order);
  if (c.no_photometric)
    o.augment.jitter = nn::ColorJitter{0, 0, 0, 0};

  std::string class_names;  // the dataset's, said so that a wrong label set shows at once
  for (size_t k = 0; k < ds.class_names.size(); ++k)
    class_names += (k ? ", " : "") + ds.class_names[k];
  std::printf(
      "train-seg: %s, %zu images (%zu val), %d classes (the dataset's: %s), crop %d, %s%s%s\n",
      o.model.arch.c_str(),
      train.size(),
      val.size(),
      o.model.num_classes,
      class_names.c_str(),
      o.augment.crop,
      o.device.c_str(),
      o.weight_source == nn::WeightSource::kNone ? "" : ", URN weights",
      o.scale_schedule.empty() ? "" : (", scale schedule " + o.scale_schedule).c_str());
  std::fflush(stdout);
  const int64_t per_epoch = std::max<int64_t>(1, static_cast<int64_t>(train.size()) / o.batch_size);
  if (!val.empty() && o.val_every == 0)
    o.val_every = per_epoch;  // validate at every epoch's end
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  std::unique_ptr<Progress> progress;
  double epoch_loss = 0;
  int64_t epoch_steps = 0;
  nlohmann::json epochs = nlohmann::json::array();
  auto on_step = [&](const nn::SegStepLog& s, int64_t total) {
    if (!progress)
      progress = std::make_unique<Progress>("train-seg", static_cast<size_t>(total), c.quiet);
    progress->update(static_cast<size_t>(s.step + 1));
    epoch_loss += s.loss;
    ++epoch_steps;
    if ((s.step + 1) % per_epoch == 0 || s.step + 1 == total) {
      const double loss = epoch_loss / static_cast<double>(epoch_steps);
      epochs.push_back({{"epoch", s.epoch + 1}, {"step", s.step + 1}, {"loss", loss}});
      if (!c.quiet) {
        std::fprintf(stderr,
                     "%sepoch %d (step %lld of %lld): loss %.4f, lr %.3g\n",
                     tty ? "\r\033[K" : "",
                     s.epoch + 1,
                     static_cast<long long>(s.step + 1),
                     static_cast<long long>(total),
                     loss,
                     s.lr);
      }
      epoch_loss = 0;
      epoch_steps = 0;
    }
  };
  auto on_val = [&](const nn::SegValLog& v) {
    if (!epochs.empty() && epochs.back()["step"] == v.step)
      epochs.back()["val_miou"] = v.miou;
    if (!c.quiet)
      std::fprintf(stderr,
                   "  step %lld: val mIoU %.2f %% (%zu images)\n",
                   static_cast<long long>(v.step),
                   100 * v.miou,
                   val.size());
  };
  const nn::TrainSegResult r = nn::train_segmentation(train, val, o, on_step, on_val);
  if (progress)
    progress->finish();
  nlohmann::json vals = nlohmann::json::array();
  for (const auto& v : r.validations)
    vals.push_back({{"step", v.step}, {"miou", v.miou}, {"pixel_accuracy", v.pixel_accuracy}});
  write_json(o.out_dir + "/train_seg_summary.json",
             training_summary({{"recipe", c.recipe},
                               {"arch", o.model.arch},
                               {"num_classes", o.model.num_classes},
                               {"images", train.size()},
                               {"val_images", val.size()},
                               {"labels", c.labels},
                               {"weights", weight_dir},
                               {"weight_thresh", o.weight_thresh},
                               {"normalize_by_weight", o.loss.normalize_by_weight},
                               {"pus_beta", o.loss.pus_beta},
                               {"pus_k", o.loss.pus_k},
                               {"pus_order", nn::pus_order_name(o.loss.pus_order)},
                               {"aux_weight", o.loss.aux_weight},
                               {"scale_range", {o.augment.scale_min, o.augment.scale_max}},
                               {"scale_base", nn::rescale_base_name(o.augment.scale_base)},
                               {"cat_max_ratio", o.augment.cat_max_ratio},
                               {"lr_schedule", nn::lr_schedule_name(o.lr_schedule)},
                               {"head_lr_mult", o.head_lr_mult},
                               {"momentum", o.momentum},
                               {"weight_decay", o.weight_decay},
                               {"scale_schedule", o.scale_schedule},
                               {"crop", o.augment.crop},
                               {"batch_size", o.batch_size},
                               {"lr", o.lr},
                               {"min_lr", o.min_lr},
                               {"seed", o.seed},
                               {"device", o.device},
                               {"epochs_run", epochs},
                               {"validations", vals},
                               {"best_miou", r.best_miou}},
                              r));
  print_training_line("train-seg", r, o.out_dir);
  return 0;
}

}  // namespace

void add_train_seg_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<TrainSegCommand>();
  nn::TrainSegOptions& o = c->train;
  o.model.num_classes = 0;
  CLI::App* sub = app.add_subcommand(
      "train-seg", "Train a segmentation model (DeepLab, PSPNet) on pseudo-masks");
  sub->footer(
      "Loss: cross-entropy ignoring 255, averaged over all pixels (the official URN/mmseg code;\n"
      "--normalize-weights divides by the weight sum instead), in both heads (PSPNet aux x0.4).\n"
      "--weights DIR: official URN PNGs (B = M_c, G = R = W8): weight t where W8/255 <= t, else 1\n"
      "(--weight-thresh -1 uses W8/255). --pus-beta/--pus-k: PMM's pretended under-fitting.\n"
      "--scale-schedule 8:2,4:4,2:6: ORANDNet's curriculum (downsample 8x until epoch 2, ...).\n"
      "Archs: deeplab-largefov|deeplabv2|pspnet - resnet50|resnet101|tiny|resnet38d|res2net101\n"
      "(output stride 8).\n\n"
      "Example:\n  pseudomask train-seg --dataset VOC2012 --split train_aug --val-split val "
      "--labels out/pseudo --arch deeplabv2-resnet101 --pretrained resnet101-5d3b4d8f.pth "
      "--out runs/seg --iterations 20000 --batch-size 10 --crop 321");
  add_dataset_flags(sub, c->data, "train");
  sub->add_option("--val-split", c->val_split, "Validation split with ground truth (mIoU)");
  sub->add_option("--labels", c->labels, "Pseudo-mask PNGs <id>.png")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--weights", c->weights, "Official URN 3-channel PNGs (M_c + weights)")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--weight-pngs", c->weight_pngs, "Single-channel weight PNGs (weight x 255)")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--weight-thresh", o.weight_thresh, "URN weight threshold t (<0: raw weights)")
      ->capture_default_str();
  sub->add_flag("--normalize-weights", o.loss.normalize_by_weight, "Divide by the weight sum");
  sub->add_option("--pus-beta", o.loss.pus_beta, "PMM PUS threshold beta (0 = off; VOC 0.5)");
  sub->add_option("--pus-k", o.loss.pus_k, "PMM PUS clamp k (VOC 0.5)");
  sub->add_option("--pus-order",
                  c->pus_order,
                  "PUS vs weights: weights-first (official URN: clamp min(w*l, k)) or clamp-first")
      ->capture_default_str();
  sub->add_option("--aux-weight", o.loss.aux_weight, "Auxiliary head loss weight")
      ->capture_default_str();
  sub->add_option("--out", o.out_dir, "Output folder")->required();
  sub->add_option("--arch", o.model.arch, "Architecture")->capture_default_str();
  sub->add_option(
         "--pretrained",
         o.pretrained,
         "ImageNet .pth of the backbone (torchvision ResNet, res38d, Res2Net v1b), or a train-cls "
         "model.pth of the same backbone (its backbone.*)")
      ->check(CLI::ExistingFile);
  sub->add_option(
      "--num-classes", o.model.num_classes, "Classes incl. background (default: the dataset's)");
  sub->add_option("--iterations", o.iterations, "Budget in steps");
  sub->add_option("--epochs", o.epochs, "Budget in epochs");
  sub->add_option("--batch-size", o.batch_size, "Images per step")->capture_default_str();
  sub->add_option("--lr", o.lr, "Backbone learning rate")->capture_default_str();
  sub->add_option("--head-lr-mult", o.head_lr_mult, "Head learning-rate multiplier")
      ->capture_default_str();
  sub->add_option("--min-lr", o.min_lr, "Poly schedule floor")->capture_default_str();
  sub->add_option("--lr-schedule", c->lr_schedule, "poly or cosine")->capture_default_str();
  sub->add_option("--momentum", o.momentum, "SGD momentum")->capture_default_str();
  sub->add_option("--weight-decay", o.weight_decay, "L2 weight decay")->capture_default_str();
  sub->add_option("--crop", o.augment.crop, "Training crop side")->capture_default_str();
  sub->add_option("--scale-range", c->scale_range, "Random rescale MIN,MAX")->capture_default_str();
  sub->add_option("--scale-base",
                  c->scale_base,
                  "What --scale-range ratios scale: original (the image's size) or WxH (mmseg: "
                  "ratio of a fixed scale, keeping the aspect; URN: 2048x512)")
      ->capture_default_str();
  sub->add_option("--cat-max-ratio",
                  o.augment.cat_max_ratio,
                  "mmseg crop retry: redraw (up to 10 times) crops whose most frequent label "
                  "covers this share or more (1 = off; URN: 0.75)")
      ->capture_default_str();
  sub->add_flag("--no-flip", c->no_flip, "No random horizontal flip");
  sub->add_flag("--no-photometric", c->no_photometric, "No photometric distortion");
  sub->add_flag("--norm-eval",
                o.model.norm_eval,
                "Every BatchNorm of the backbone in eval mode (statistics frozen, affine weights "
                "train; mmseg norm_eval, URN)");
  sub->add_option("--frozen-stages",
                  o.model.frozen_stages,
                  "Freeze the backbone's stem and first N stages (mmseg frozen_stages; -1 = none)")
      ->capture_default_str();
  sub->add_option("--scale-schedule", o.scale_schedule, "ORANDNet curriculum FACTOR:EPOCH,...");
  sub->add_option("--label-downsample", o.label_downsample, "nearest or majority")
      ->capture_default_str();
  sub->add_option(
      "--val-every", o.val_every, "Validate every N steps (0 = at every epoch's end and the end)");
  sub->add_flag("--keep-best", o.keep_best, "Write best.pth at the best val mIoU");
  sub->add_option("--workers", o.workers, "Threads preparing batches")->capture_default_str();
  sub->add_option("--threads", o.threads, "Torch threads (0 = torch's default)")
      ->capture_default_str();
  sub->add_option("--seed", o.seed, "Seed")->capture_default_str();
  sub->add_option("--device", o.device, "cpu, cuda or cuda:N")->capture_default_str();
  sub->add_flag("--resume", o.resume, "Continue from <out>/last.pth");
  sub->add_option("--stop-after", o.stop_after, "Stop after this many steps in all (resume later)");
  sub->add_flag("--quiet", c->quiet, "No progress output");
  add_recipe_flag(sub, c->recipe);
  sub->callback([c, sub, &exit_code] {
    apply_named_recipe(sub, "train-seg", c->recipe);
    exit_code = run_naming_flags(train_seg_flag_names(), [&] { return run_train_seg(*c); });
  });
}

}  // namespace pm::cli
