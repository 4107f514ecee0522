// SPDX-License-Identifier: MIT
// `pseudomask orandnet train|infer`: ORANDNet (Park & Shim, "Precision matters"), the FCN-8s that
// learns the AND of two CAM sets from their OR, and its refined CAMs in the IRN layout.
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>

#include "common/batch.h"
#include "common/progress.h"
#include "common/recipes.h"
#include "common/report.h"
#include "nn/nn_subcommands.h"
#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/parallel.h"
#include "pseudomask/core/common/resize.h"
#include "pseudomask/nn/orandnet/orandnet.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/threads.h"

namespace fs = std::filesystem;

namespace pm::cli {
namespace {

/// Where the OR/AND maps come from: two CAM sets combined on the fly (ORANDNet Eq. 1).
struct PairFlags {
  std::string cams1, cams2;  ///< CAM folders (<id>.npy, IRN layout)
  std::string list;          ///< image-id list (default: every .npy in --cams1)
  bool official = false;     ///< official OR/AND (+0.15 on --cams2, no renormalisation)
};

struct TrainCommand {
  PairFlags pairs;
  std::string out;
  std::string width = "vgg16";
  std::string loss = "bce";
  double label_smoothing = nn::kDefaultLabelSmoothing;
  std::string init;
  int64_t iterations = 5000;
  double epochs = 0;
  double lr = 1e-3, momentum = 0, weight_decay = 0;
  uint64_t seed = 0;
  std::string device = "cpu";
  int64_t save_every = 0;
  int threads = 0;
  bool resume = false, official = false, quiet = false;
  std::string recipe;  ///< --recipe NAME ("" = none)
};

struct InferCommand {
  PairFlags pairs;
  std::string model, out, device = "cpu";
  int threads = 0;
  BatchOptions batch;
};

void add_pair_flags(CLI::App* sub, PairFlags& f) {
  sub->add_option("--cams1", f.cams1, "First CAM folder (e.g. the CNN's), <id>.npy")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--cams2", f.cams2, "Second CAM folder (e.g. the ViT's), <id>.npy")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--list", f.list, "Image-id list (default: every .npy in --cams1)");
}

std::function<nn::OrandPair(const std::string&)> make_loader(const PairFlags& f) {
  return [f](const std::string& id) {
    const std::string a = f.cams1 + "/" + id + ".npy", b = f.cams2 + "/" + id + ".npy";
    return nn::make_orand_pair(read_cam_file(a), read_cam_file(b), f.official, a, b);
  };
}

int run_train(TrainCommand c) {
  if (c.official) {
    c.loss = "official";
    c.pairs.official = true;
  }
  const std::vector<std::string> ids = resolve_ids(c.pairs.list, c.pairs.cams1, {".npy"});
  nn::OrandTrainOptions o;
  o.net.width = c.width;
  o.net.official_crop = c.official;
  o.loss = nn::parse_orand_loss(c.loss);
  PM_CHECK(c.label_smoothing >= 0 && c.label_smoothing < 1,
           "--label-smoothing {}: must be in [0, 1)",
           c.label_smoothing);
  o.label_smoothing = c.label_smoothing;
  o.official_pair = c.pairs.official;
  PM_CHECK(c.epochs >= 0, "--epochs must be >= 0, got {}", c.epochs);
  o.iterations =
      c.epochs > 0 ? static_cast<int64_t>(std::ceil(c.epochs * ids.size())) : c.iterations;
  o.lr = c.lr;
  o.momentum = c.momentum;
  o.weight_decay = c.weight_decay;
  o.seed = c.seed;
  o.device = c.device;
  o.init_checkpoint = c.init;
  o.save_every = c.save_every;
  o.resume = c.resume;
  o.out_dir = c.out;
  if (c.threads > 0)
    nn::set_torch_threads(c.threads);
  std::printf("orandnet train: %zu images, width %s, loss %s, %s crop, %lld steps, %s\n",
              ids.size(),
              c.width.c_str(),
              c.loss.c_str(),
              c.official ? "official (height-only)" : "per-axis",
              static_cast<long long>(o.iterations),
              c.device.c_str());
  std::fflush(stdout);
  Progress progress("orandnet train", static_cast<size_t>(o.iterations), c.quiet);
  double window = 0;
  int64_t in_window = 0;
  nlohmann::json curve = nlohmann::json::array();
  const int64_t every = std::max<int64_t>(1, o.iterations / 20);
  const nn::OrandTrainResult r =
      nn::train_orandnet(o, ids, make_loader(c.pairs), [&](const nn::OrandStep& s) {
        progress.update(static_cast<size_t>(s.step));
        window += s.loss;
        ++in_window;
        if (s.step % every == 0 || s.step == s.total) {
          curve.push_back({{"step", s.step}, {"loss", window / in_window}, {"lr", s.lr}});
          window = 0;
          in_window = 0;
        }
      });
  progress.finish();
  write_json(c.out + "/orandnet_train_summary.json",
             {{"model", r.model_path},
              {"log", r.log_path},
              {"images", ids.size()},
              {"recipe", c.recipe},
              {"width", c.width},
              {"loss", c.loss},
              {"official", c.official},
              {"official_pair", o.official_pair},
              {"iterations", o.iterations},
              {"lr", o.lr},
              {"momentum", o.momentum},
              {"weight_decay", o.weight_decay},
              {"seed", o.seed},
              {"device", o.device},
              {"init", c.init.empty() ? "random" : c.init},
              {"init_report", r.init_report},
              {"resumed_from_step", r.start_step},
              {"steps_run", r.steps},
              {"zero_gradient_steps", r.zero_gradient_steps},
              {"first_loss", r.first_loss},
              {"last_loss", r.last_loss},
              {"mean_loss", r.mean_loss},
              {"loss_curve", curve}});
  std::printf(
      "orandnet train: %lld steps (from %lld), loss %.4f -> %.4f, %lld with zero loss -> %s\n",
      static_cast<long long>(r.steps),
      static_cast<long long>(r.start_step),
      r.first_loss,
      r.last_loss,
      static_cast<long long>(r.zero_gradient_steps),
      r.model_path.c_str());
  return 0;
}

int run_infer(const InferCommand& c) {
  const torch::Device device = nn::parse_device(c.device);
  nn::OrandModel model = nn::load_orand_model(c.model, device);
  PairFlags pairs = c.pairs;
  pairs.official = model.official_pair;  // the OR the model was trained on
  check_out_is_no_input(c.out, {pairs.cams1, pairs.cams2});
  const std::vector<std::string> ids = resolve_ids(pairs.list, pairs.cams1, {".npy"});
  const int jobs = resolve_jobs(c.batch.jobs);
  nn::set_torch_threads(c.threads > 0 ? c.threads
                                      : std::max(1, resolve_jobs(0) / std::max(1, jobs)));
  fs::create_directories(c.out);
  const auto load = make_loader(pairs);
  auto output = [&](const std::string& id) { return c.out + "/" + id + ".npy"; };
  const ResumeRecord record(c.out,
                            "orandnet",
                            {{"model", fs::absolute(c.model).lexically_normal().string()},
                             {"official_pair", model.official_pair},
                             {"trained_steps", model.step}},
                            c.batch);
  const BatchReport report = run_batch(
      "orandnet infer",
      ids,
      c.batch,
      [&](const std::string& id) { return record.complete({output(id)}); },
      [&](const std::string& id) {
        const nn::OrandPair pair = load(id);
        CamFile cams;
        cams.keys = pair.keys;
        cams.high_res = nn::refine_cam(model.net, pair.or_map, model.loss, device);
        const int h = cams.high_res.height(), w = cams.high_res.width();
        // encdec_pred.py: `cam` is the bilinear downsample to ((H-1)//4+1, (W-1)//4+1).
        cams.cam = resize_planes_bilinear(cams.high_res, (h - 1) / 4 + 1, (w - 1) / 4 + 1);
        write_cam_file(output(id), cams);
      });
  write_batch_summary(
      summary_path(c.out, "orandnet", c.batch),
      report,
      {{"model", c.model},
       {"width", model.net->options().width},
       {"loss", nn::orand_loss_name(model.loss)},
       {"official_crop", model.net->options().official_crop},
       {"official_pair", model.official_pair},
       {"trained_steps", model.step},
       {"activation", model.loss == nn::OrandLoss::kOfficial ? "relu" : "sigmoid"}});
  print_batch_line("orandnet infer", "", report, c.out);
  return report.exit_status();
}

}  // namespace

void add_orandnet_command(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "orandnet", "ORANDNet: train/infer the FCN-8s that maps the OR of two CAMs to their AND");
  cmd->require_subcommand(1);
  cmd->footer(
      "ORANDNet (Park & Shim): OR = a + b - a*b and AND = a*b of two CAM sets (Eq. 1); an FCN-8s\n"
      "on VGG16 learns AND from OR, one class at a time at full resolution; its output is the\n"
      "refined CAM. Then `pseudomask labels` turns the refined CAMs into pseudo-masks.");

  auto t = std::make_shared<TrainCommand>();
  CLI::App* train = cmd->add_subcommand("train", "Train ORANDNet on the OR/AND of two CAM sets");
  train->footer(
      "Writes <out>/model.pth (weights and metadata), <out>/last.pth (with the SGD state, for\n"
      "--resume; also every --save-every steps), <out>/train_log.csv and "
      "<out>/orandnet_train_summary.json.\n"
      "Default loss: per-pixel BCE against the AND map (learns from single-class images too).\n"
      "--loss balanced-ls: the paper's class-balanced BCE with label smoothing (Fig. 2).\n"
      "--official: the official code's soft cross-entropy over the image's classes (zero for\n"
      "single-class images), its height-only crop offset, and its OR/AND (+0.15 on --cams2, not\n"
      "renormalised). The official schedule is 5000 steps, lr 1e-3 poly 0.9, no momentum/decay.\n\n"
      "Example:\n  pseudomask orandnet train --cams1 cams/r50 --cams2 cams/vit --out runs/orand "
      "--init vgg16-397923af.pth --device cuda");
  add_pair_flags(train, t->pairs);
  train->add_option("--out", t->out, "Output folder")->required();
  train->add_option("--width", t->width, "vgg16, small (/8) or tiny (/16)")->capture_default_str();
  train
      ->add_option("--loss",
                   t->loss,
                   "bce, official or balanced-ls (the paper's class-balanced BCE with label "
                   "smoothing, Fig. 2)")
      ->capture_default_str();
  train->add_option("--label-smoothing", t->label_smoothing, "epsilon of --loss balanced-ls")
      ->capture_default_str();
  train->add_option("--init", t->init, "torchvision VGG16 ImageNet .pth (default: random init)")
      ->check(CLI::ExistingFile);
  train->add_option("--iterations", t->iterations, "Steps (one image each)")->capture_default_str();
  train->add_option("--epochs", t->epochs, "Epochs instead of --iterations");
  train->add_option("--lr", t->lr, "Base learning rate (poly 0.9)")->capture_default_str();
  train->add_option("--momentum", t->momentum, "SGD momentum")->capture_default_str();
  train->add_option("--weight-decay", t->weight_decay, "SGD weight decay")->capture_default_str();
  train->add_option("--seed", t->seed, "Seed (init, order, dropout)")->capture_default_str();
  train->add_option("--device", t->device, "cpu, cuda or cuda:N")->capture_default_str();
  train->add_option("--save-every", t->save_every, "Also write last.pth every N steps");
  train->add_option("--threads", t->threads, "Torch threads (0 = default)");
  train->add_flag("--resume", t->resume, "Continue from <out>/last.pth");
  train->add_flag("--official", t->official, "Reproduce the official code (see below)");
  train->add_flag("--quiet", t->quiet, "No progress output");
  add_recipe_flag(train, t->recipe);
  train->callback([t, train, &exit_code] {
    apply_named_recipe(train, "orandnet train", t->recipe);
    exit_code = run_train(*t);
  });

  auto i = std::make_shared<InferCommand>();
  CLI::App* infer = cmd->add_subcommand("infer", "Refined CAMs of a trained ORANDNet");
  infer->footer(batch_footer(
      "Writes <out>/<id>.npy in the IRN layout: keys, high_res (K, H, W) and cam (stride 4):\n"
      "the network's output for each class's OR map, ReLU (official loss) or sigmoid (bce loss),\n"
      "divided by its max + 1e-5; and <out>/orandnet_summary.json.\n\n"
      "Example:\n  pseudomask orandnet infer --model runs/orand/model.pth --cams1 cams/r50 "
      "--cams2 cams/vit --out cams/orand\n"
      "  pseudomask labels --cams cams/orand --out masks/orand --mode threshold --threshold 0.25"));
  add_pair_flags(infer, i->pairs);
  infer->add_option("--model", i->model, "model.pth from `orandnet train`")
      ->required()
      ->check(CLI::ExistingFile);
  infer->add_option("--out", i->out, "Output folder")->required();
  infer->add_option("--device", i->device, "cpu, cuda or cuda:N")->capture_default_str();
  infer->add_option("--threads", i->threads, "Torch threads per image (0 = cores / jobs)");
  add_batch_flags(infer, i->batch);
  infer->callback([i, &exit_code] { exit_code = run_infer(*i); });
}

}  // namespace pm::cli
