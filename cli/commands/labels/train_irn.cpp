// SPDX-License-Identifier: MIT
// `pseudomask train-irn`: IRN's inter-pixel relation network (Ahn, Cho & Kwak 2019) trained on the
// confident regions of `labels --mode irn`, as the public code's train_irn step does.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "common/progress.h"
#include "common/report.h"
#include "nn/dataset_flags.h"
#include "nn/nn_subcommands.h"
#include "nn/option_flags.h"
#include "nn/train_report.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/parse.h"
#include "pseudomask/nn/irn/irn_trainer.h"

namespace pm::cli {
namespace {

/// Flags of `pseudomask train-irn`.
struct TrainIrnCommand {
  DatasetFlags data;
  std::string ir_labels;  ///< IR label PNGs <id>.png (labels --mode irn)
  std::string scale_range = "0.5,1.5";
  nn::TrainIrnOptions train;
  bool quiet = false;
};

/// The fields of TrainIrnOptions that nn's errors name, and the flags that set them.
FlagNames train_irn_flag_names() {
  FlagNames names = {{"TrainIrnOptions::out_dir", "--out"},
                     {"TrainIrnOptions::iterations/epochs", "--iterations/--epochs"},
                     {"TrainIrnOptions::batch_size", "--batch-size"},
                     {"TrainIrnOptions::lr", "--lr"},
                     {"TrainIrnOptions::dp_lr_mult", "--dp-lr-mult"},
                     {"TrainIrnOptions::momentum", "--momentum"},
                     {"TrainIrnOptions::weight_decay", "--weight-decay"},
                     {"TrainIrnOptions::workers/threads", "--workers/--threads"},
                     {"TrainIrnOptions::stop_after", "--stop-after"},
                     {"IrnAugmentOptions::scale_min/max", "--scale-range"},
                     {"IrnAugmentOptions::crop", "--crop"},
                     {"IrnAugmentOptions::radius", "--radius"},
                     {"IrnNetOptions::backbone", "--arch"}};
  names.insert(names.end(), sgd_flag_names().begin(), sgd_flag_names().end());
  return names;
}

/// The IR label PNG of `id`; throws naming the expected file when there is none.
std::string ir_label_file(const std::string& dir, const std::string& id) {
  const std::string p = find_by_stem(dir, id, {".png"});
  PM_CHECK(!p.empty(), "{}/{}.png: missing (--ir-labels has no file for image '{}')", dir, id, id);
  return p;
}

int run_train_irn(TrainIrnCommand& c) {
  nn::TrainIrnOptions& o = c.train;
  const Dataset ds = open_dataset_flags(c.data);
  o.num_classes = ds.num_classes();
  std::vector<nn::IrnTrainSample> samples;
  for (const std::string& id : ds.ids)
    samples.push_back({id, ds.image_path(id), ir_label_file(c.ir_labels, id)});
  PM_CHECK(!samples.empty(), "{}: split '{}' has no images", c.data.root, c.data.split);
  const auto range = parse_float_list(c.scale_range, "--scale-range", 2);
  o.augment.scale_min = range[0];
  o.augment.scale_max = range[1];

  std::printf("train-irn: %s, %zu images, %d classes, crop %d, radius %d, %s\n",
              o.net.backbone.c_str(),
              samples.size(),
              o.num_classes,
              o.augment.crop,
              o.augment.radius,
              o.device.c_str());
  std::fflush(stdout);
  const int64_t per_epoch =
      std::max<int64_t>(1, static_cast<int64_t>(samples.size()) / o.batch_size);
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  std::unique_ptr<Progress> progress;
  nn::IrnStepLog sum;
  int64_t epoch_steps = 0;
  nlohmann::json epochs = nlohmann::json::array();
  auto on_step = [&](const nn::IrnStepLog& s, int64_t total) {
    if (!progress)
      progress = std::make_unique<Progress>("train-irn", static_cast<size_t>(total), c.quiet);
    progress->update(static_cast<size_t>(s.step + 1));
    sum.pos_aff += s.pos_aff;
    sum.neg_aff += s.neg_aff;
    sum.dp_fg += s.dp_fg;
    sum.dp_bg += s.dp_bg;
    sum.loss += s.loss;
    ++epoch_steps;
    if ((s.step + 1) % per_epoch != 0 && s.step + 1 != total)
      return;
    const double n = static_cast<double>(epoch_steps);
    epochs.push_back({{"epoch", s.epoch + 1},
                      {"step", s.step + 1},
                      {"loss", sum.loss / n},
                      {"pos_aff", sum.pos_aff / n},
                      {"neg_aff", sum.neg_aff / n},
                      {"dp_fg", sum.dp_fg / n},
                      {"dp_bg", sum.dp_bg / n}});
    if (!c.quiet)
      std::fprintf(stderr,
                   "%sepoch %d (step %lld of %lld): loss %.4f (pos %.4f neg %.4f dp_fg %.4f "
                   "dp_bg %.4f), lr %.3g\n",
                   tty ? "\r\033[K" : "",
                   s.epoch + 1,
                   static_cast<long long>(s.step + 1),
                   static_cast<long long>(total),
                   sum.loss / n,
                   sum.pos_aff / n,
                   sum.neg_aff / n,
                   sum.dp_fg / n,
                   sum.dp_bg / n,
                   s.lr);
    sum = nn::IrnStepLog();
    epoch_steps = 0;
  };
  const nn::TrainIrnResult r = nn::train_irn(samples, o, on_step);
  if (progress)
    progress->finish();
  write_json(o.out_dir + "/train_irn_summary.json",
             training_summary({{"arch", o.net.backbone},
                               {"pretrained", o.pretrained},
                               {"images", samples.size()},
                               {"num_classes", o.num_classes},
                               {"ir_labels", c.ir_labels},
                               {"crop", o.augment.crop},
                               {"radius", o.augment.radius},
                               {"scale_range", {o.augment.scale_min, o.augment.scale_max}},
                               {"batch_size", o.batch_size},
                               {"epochs", o.iterations > 0 ? 0 : o.epochs},
                               {"iterations", o.iterations},
                               {"lr", o.lr},
                               {"dp_lr_mult", o.dp_lr_mult},
                               {"momentum", o.momentum},
                               {"weight_decay", o.weight_decay},
                               {"poly_power", o.poly_power},
                               {"seed", o.seed},
                               {"device", o.device},
                               {"steps_per_epoch", r.steps_per_epoch},
                               {"epochs_run", epochs}},
                              r));
  print_training_line("train-irn", r, o.out_dir);
  return 0;
}

}  // namespace

void add_train_irn_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<TrainIrnCommand>();
  nn::TrainIrnOptions& o = c->train;
  CLI::App* sub = app.add_subcommand(
      "train-irn", "Train IRN's boundary/displacement network on IR labels (labels --mode irn)");
  sub->footer(
      "IRN (Ahn, Cho & Kwak, CVPR 2019) as its train_irn step trains it: each image and its IR\n"
      "labels (<ir-labels>/<id>.png from `labels --mode irn`: 0 background, k class k, 255\n"
      "unsure) rescaled by a ratio in --scale-range, flipped, cropped to --crop (labels padded\n"
      "with 255), reduced to 1/4; the pairs within --radius at 1/4 give background, foreground\n"
      "and cross-class pair labels. Losses: the boundary branch's affinities of positive and\n"
      "negative pairs, the displacement branch's fields (IRN's four losses, in train_log.csv).\n"
      "The backbone is frozen (IRN); the edge branch trains at --lr, the displacement branch at\n"
      "--lr x --dp-lr-mult, poly schedule (power 0.9), weight decay --weight-decay, momentum\n"
      "--momentum (1e-4: IRN's code passes its weight decay into SGD's momentum slot).\n"
      "--iterations, when given, replaces --epochs. Writes <out>/model.pth, last.pth,\n"
      "train_log.csv and train_irn_summary.json; --resume continues from last.pth exactly.\n\n"
      "Example:\n  pseudomask train-irn --dataset VOC2012 --split train_aug --ir-labels "
      "out/ir_label "
      "--pretrained resnet50-19c8e357.pth --out runs/irn");
  add_dataset_flags(sub, c->data, "train");
  sub->add_option("--ir-labels", c->ir_labels, "IR label PNGs <id>.png (labels --mode irn)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--out", o.out_dir, "Output folder")->required();
  sub->add_option("--arch", o.net.backbone, "Backbone: resnet50 (IRN) or resnet-tiny")
      ->capture_default_str();
  sub->add_option("--pretrained",
                  o.pretrained,
                  "Backbone weights: torchvision resnet50 .pth, or a train-cls model.pth of the "
                  "same backbone (its backbone.*)")
      ->check(CLI::ExistingFile);
  sub->add_option("--crop", o.augment.crop, "Training crop side (a multiple of 4)")
      ->capture_default_str();
  sub->add_option("--batch-size", o.batch_size, "Images per step")->capture_default_str();
  sub->add_option("--epochs", o.epochs, "Budget in epochs")->capture_default_str();
  sub->add_option("--iterations", o.iterations, "Budget in steps (replaces --epochs)");
  sub->add_option("--lr", o.lr, "Edge branch learning rate")->capture_default_str();
  sub->add_option("--dp-lr-mult", o.dp_lr_mult, "Displacement branch learning-rate multiplier")
      ->capture_default_str();
  sub->add_option("--momentum", o.momentum, "SGD momentum (IRN's code: 1e-4)")
      ->capture_default_str();
  sub->add_option("--weight-decay", o.weight_decay, "L2 weight decay")->capture_default_str();
  sub->add_option("--scale-range", c->scale_range, "Random rescale MIN,MAX")->capture_default_str();
  sub->add_option("--radius", o.augment.radius, "Pair radius at 1/4 resolution")
      ->capture_default_str();
  sub->add_option("--seed", o.seed, "Seed")->capture_default_str();
  sub->add_option("--device", o.device, "cpu, cuda or cuda:N")->capture_default_str();
  sub->add_option("--threads", o.threads, "Torch threads (0 = torch's default)")
      ->capture_default_str();
  sub->add_option("--workers", o.workers, "Threads preparing batches")->capture_default_str();
  sub->add_flag("--resume", o.resume, "Continue from <out>/last.pth");
  sub->add_option("--stop-after", o.stop_after, "Stop after this many steps in all (resume later)");
  sub->add_flag("--quiet", c->quiet, "No progress output");
  sub->callback([c, &exit_code] {
    exit_code = run_naming_flags(train_irn_flag_names(), [&] { return run_train_irn(*c); });
  });
}

}  // namespace pm::cli
