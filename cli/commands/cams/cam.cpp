// SPDX-License-Identifier: MIT
// `pseudomask cam`: class activation maps of a trained classifier (IRN's make_cam.py for CNNs,
// gradient-weighted attention rollout for ViTs), written in the IRN layout.
#include <ATen/Parallel.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/batch.h"
#include "common/recipes.h"
#include "common/report.h"
#include "nn/dataset_flags.h"
#include "nn/nn_subcommands.h"
#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/parallel.h"
#include "pseudomask/core/common/parse.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/nn/cam/cnn_cam.h"
#include "pseudomask/nn/cam/vit_cam.h"
#include "pseudomask/nn/threads.h"
#include "pseudomask/nn/train/cls_trainer.h"

namespace fs = std::filesystem;

namespace pm::cli {
namespace {

/// Flags of `pseudomask cam`.
struct CamCommand {
  std::string model;  ///< model.pth written by train-cls
  DatasetFlags data;
  std::string out;                     ///< <out>/<id>.npy
  std::string scales = "1,0.5,1.5,2";  ///< CNN scales (IRN)
  bool no_flip = false;                ///< CNN: no flipped copies
  int vit_size = 0;                    ///< ViT input side (0 = the model's)
  std::string vit_method = "lrp";      ///< ViT: lrp (ORANDNet) or rollout
  std::string device = "cpu";
  int threads = 0;  ///< torch threads per image (0 = cores / jobs)
  BatchOptions batch;
  std::string recipe;  ///< --recipe NAME ("" = none)
};

/// One model per worker thread: the ViT keeps per-call attention inside its modules.
class ModelPool {
 public:
  ModelPool(std::string path, std::string device)
      : path_(std::move(path)), device_(std::move(device)) {}
  nn::Classifier acquire() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        nn::Classifier m = free_.back();
        free_.pop_back();
        return m;
      }
    }
    return nn::load_classifier(path_, device_);
  }
  void release(const nn::Classifier& m) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(m);
  }

 private:
  std::string path_, device_;
  std::mutex mutex_;
  std::vector<nn::Classifier> free_;
};

int run_cam(const CamCommand& c) {
  // Loaded once up front: a bad model file fails before any image, with its own message.
  nn::Classifier first = nn::load_classifier(c.model, c.device);
  const bool vit = first->is_vit();
  const Dataset ds = open_dataset_flags(c.data);
  check_out_is_no_input(c.out, {ds.image_dir, ds.mask_dir});
  const auto labels = load_image_labels(ds);
  PM_CHECK(ds.num_classes() - 1 == first->options().num_classes,
           "{}: the model has {} classes, the dataset {} foreground classes",
           c.model,
           first->options().num_classes,
           ds.num_classes() - 1);
  nn::CnnCamOptions cnn;
  cnn.flip = !c.no_flip;
  cnn.scales.clear();
  for (float s : parse_float_list(c.scales, "--scales"))
    cnn.scales.push_back(s);
  const nn::VitCamOptions vit_options{c.vit_size, nn::parse_vit_cam_method(c.vit_method)};
  const std::string vit_method = nn::vit_cam_method_name(vit_options.method);
  const int jobs = resolve_jobs(c.batch.jobs);
  nn::set_torch_threads(c.threads > 0 ? c.threads
                                      : std::max(1, resolve_jobs(0) / std::max(1, jobs)));
  ModelPool pool(c.model, c.device);
  pool.release(first);

  auto output = [&](const std::string& id) { return c.out + "/" + id + ".npy"; };
  const ResumeRecord record(c.out,
                            "cam",
                            {{"model", fs::absolute(c.model).lexically_normal().string()},
                             {"arch", first->options().arch},
                             {"scales", vit ? std::vector<double>{} : cnn.scales},
                             {"flip", !vit && cnn.flip},
                             {"vit_size", vit ? c.vit_size : 0},
                             {"vit_method", vit ? vit_method : ""}},
                            c.batch);
  const BatchReport report = run_batch(
      "cam",
      ds.ids,
      c.batch,
      [&](const std::string& id) { return record.complete({output(id)}); },
      [&](const std::string& id) {
        const RgbImage image = read_image(ds.image_path(id));
        const std::vector<int>& keys = labels.at(id);
        nn::Classifier model = pool.acquire();
        CamFile cams;
        try {
          cams = vit ? nn::vit_cam(model, image, keys, vit_options)
                     : nn::cnn_cam(model, image, keys, cnn);
        } catch (const Error& e) {
          pool.release(model);
          PM_FAIL("{}: {}", id, e.what());
        }
        pool.release(model);
        write_cam_file(output(id), cams);
      });
  write_batch_summary(
      summary_path(c.out, "cam", c.batch),
      report,
      {{"model", c.model},
       {"arch", first->options().arch},
       {"method",
        !vit                      ? "multi-scale CAM (IRN)"
        : vit_method == "rollout" ? "gradient-weighted attention rollout (Chefer et al., ICCV 2021)"
                                  : "relevance propagation (Chefer et al., CVPR 2021)"},
       {"scales", vit ? std::vector<double>{} : cnn.scales},
       {"flip", !vit && cnn.flip}});
  print_batch_line("cam", "", report, c.out);
  return report.exit_status();
}

}  // namespace

void add_cam_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<CamCommand>();
  CLI::App* sub =
      app.add_subcommand("cam", "Class activation maps of a trained classifier, in the IRN layout");
  sub->footer(batch_footer(
      "Writes <out>/<id>.npy as IRN does: {'keys': the image's labelled classes (0-based), "
      "'cam': (K, H/4, W/4),\n"
      "'high_res': (K, H, W)}, float32, readable with np.load(f, allow_pickle=True).item().\n"
      "CNN (IRN make_cam): scales x flips, ReLU, summed, each class divided by its max + 1e-5.\n"
      "ViT, each labelled class on the image resized to --vit-size: --vit-method lrp (default, as "
      "ORANDNet):\n"
      "relevance propagation (Chefer et al., CVPR 2021): the gradient of the class score times the "
      "LRP\n"
      "relevance of each block's attention, rolled out; rollout: the gradient times the attention "
      "itself\n"
      "(Chefer et al., ICCV 2021). Min-max normalised, resized bilinearly (nn/cam/vit_lrp.h).\n\n"
      "Example:\n  pseudomask cam --model runs/cls_r50/model.pth --dataset VOC2012 --split train "
      "--out cams/r50 --jobs 4"));
  sub->add_option("--model", c->model, "model.pth written by train-cls")
      ->required()
      ->check(CLI::ExistingFile);
  add_dataset_flags(sub, c->data, "train");
  sub->add_option("--out", c->out, "Output folder")->required();
  sub->add_option("--scales", c->scales, "CNN: image scales")->capture_default_str();
  sub->add_flag("--no-flip", c->no_flip, "CNN: no flipped copies");
  sub->add_option("--vit-size", c->vit_size, "ViT: input side (default: the training crop)");
  sub->add_option("--vit-method",
                  c->vit_method,
                  "ViT: lrp (relevance propagation, as ORANDNet) or rollout (gradient-weighted "
                  "attention)")
      ->capture_default_str();
  sub->add_option("--device", c->device, "cpu, cuda or cuda:N")->capture_default_str();
  sub->add_option("--threads", c->threads, "Torch threads per image (0 = cores / jobs)");
  add_batch_flags(sub, c->batch);
  add_recipe_flag(sub, c->recipe);
  sub->callback([c, sub, &exit_code] {
    apply_named_recipe(sub, "cam", c->recipe);
    exit_code = run_cam(*c);
  });
}

}  // namespace pm::cli
