// SPDX-License-Identifier: MIT
// `pseudomask predict`: multi-scale + flip inference of a trained segmentation model, optional
// dense CRF, label PNGs and float16 probability maps (the `pseudomask urn --probs` input).
#include <ATen/Parallel.h>

#include <cstdio>
#include <filesystem>

#include "common/batch.h"
#include "common/flags.h"
#include "common/recipes.h"
#include "common/report.h"
#include "nn/dataset_flags.h"
#include "nn/nn_subcommands.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/parse.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/nn/seg/seg_predict.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/threads.h"

namespace pm::cli {
namespace {

namespace fs = std::filesystem;

/// Flags of `pseudomask predict`.
struct PredictCommand {
  DatasetFlags data;
  std::string model;
  std::string out;
  std::string palette = "none";  ///< label PNG colours: none | voc
  std::string scales = "1.0";
  std::string scale_base = "original";  ///< what --scales are ratios of
  std::string recipe;                   ///< --recipe NAME ("" = none)
  std::string crf;                      ///< "" = none, else a CrfParams preset
  bool probs = false;
  bool no_labels = false;
  std::string device = "cpu";
  nn::PredictOptions predict;
  BatchOptions batch;
};

int run_predict(PredictCommand& c) {
  c.predict.scales.clear();
  for (float s : parse_float_list(c.scales, "--scales"))
    c.predict.scales.push_back(s);
  c.predict.scale_base = nn::parse_rescale_base(c.scale_base, "--scale-base");
  c.predict.validate();
  PM_CHECK(!(c.no_labels && !c.probs), "--no-labels without --probs writes nothing");
  const LabelPngColors colors = palette_flag(c.palette);
  const CrfParams crf =
      c.crf.empty() ? CrfParams{} : CrfParams::preset(crf_preset_flag("--crf", c.crf));
  const Dataset ds = open_dataset_flags(c.data);
  nn::SegModel model = nn::load_seg_model(c.model, c.device);
  const torch::Device device = nn::parse_device(c.device);
  const std::string label_dir = c.out + "/labels", prob_dir = c.out + "/probs";
  for (const std::string& out : {c.out, label_dir, prob_dir})
    check_out_is_no_input(out, {ds.image_dir, ds.mask_dir});
  if (!c.no_labels)
    fs::create_directories(label_dir);
  if (c.probs)
    fs::create_directories(prob_dir);
  if (resolve_jobs(c.batch.jobs) > 1)
    nn::set_torch_threads(1);  // parallel over images instead
  const ResumeRecord record(c.out,
                            "predict",
                            {{"model", fs::absolute(c.model).lexically_normal().string()},
                             {"arch", model->options().arch},
                             {"scales", c.predict.scales},
                             {"scale_base", nn::rescale_base_name(c.predict.scale_base)},
                             {"flip", c.predict.flip},
                             {"window", c.predict.window},
                             {"stride", c.predict.stride},
                             {"crf", c.crf.empty() ? "none" : c.crf}},
                            c.batch);
  auto done = [&](const std::string& id) {
    std::vector<std::string> outputs;
    if (!c.no_labels)
      outputs.push_back(label_dir + "/" + id + ".png");
    if (c.probs)
      outputs.push_back(prob_dir + "/" + id + ".npy");
    return record.complete(outputs);
  };
  const BatchReport report =
      run_batch("predict", ds.ids, c.batch, done, [&](const std::string& id) {
        const RgbImage image = read_image(ds.image_path(id));
        const torch::Tensor probs = nn::predict_probabilities(model, image, c.predict, device);
        if (c.probs) {
          // URN input: (C, H, W) float16 probabilities.
          write_npy(prob_dir + "/" + id + ".npy", nn::to_ndarray(probs.to(torch::kHalf)));
        }
        if (c.no_labels)
          return;
        LabelMap labels;
        if (c.crf.empty()) {
          labels = nn::argmax_labels(probs);
        } else {
          const DenseCrf2D model_crf(image, crf);
          labels =
              model_crf
                  .infer(
                      unary_from_probabilities(nn::to_planes(probs)), nullptr, CrfOutputs::kLabels)
                  .map;
        }
        write_label_png(label_dir + "/" + id + ".png", labels, colors);
      });
  write_batch_summary(summary_path(c.out, "predict", c.batch),
                      report,
                      {{"recipe", c.recipe},
                       {"model", c.model},
                       {"arch", model->options().arch},
                       {"num_classes", model->options().num_classes},
                       {"scales", c.predict.scales},
                       {"scale_base", nn::rescale_base_name(c.predict.scale_base)},
                       {"flip", c.predict.flip},
                       {"window", c.predict.window},
                       {"crf", c.crf.empty() ? "none" : c.crf},
                       {"probs", c.probs ? prob_dir : ""},
                       {"labels", c.no_labels ? "" : label_dir},
                       {"images", ds.ids.size()}});
  print_batch_line("predict", "predicted", report, c.out);
  return report.exit_status();
}

}  // namespace

void add_predict_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<PredictCommand>();
  CLI::App* sub = app.add_subcommand(
      "predict", "Segment images with a trained model (multi-scale, flip, CRF, URN probabilities)");
  sub->footer(batch_footer(
      "Writes <out>/labels/<id>.png (8-bit grayscale; --palette voc for colours) and, with "
      "--probs, <out>/probs/<id>.npy ((C,H,W) float16\n"
      "softmax, the input of `pseudomask urn --probs`). Probabilities are averaged over --scales\n"
      "and flips; --window slides over large images. --crf PRESET (deeplab, urn, irn) refines the\n"
      "labels with a dense CRF: on the training images this gives URN's cyclic pseudo-masks "
      "M_c.\n\n"
      "Example:\n  pseudomask predict --dataset VOC2012 --split val --model runs/seg/model.pth "
      "--out out/pred --scales 0.5,0.75,1,1.25,1.5,1.75 --flip --crf urn --probs"));
  add_dataset_flags(sub, c->data, "val");
  sub->add_option("--model", c->model, "Trained model (model.pth / best.pth)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--out", c->out, "Output folder")->required();
  sub->add_option("--palette", c->palette, palette_help())->capture_default_str();
  sub->add_option("--scales", c->scales, "Rescale ratios, comma-separated")->capture_default_str();
  sub->add_option("--scale-base",
                  c->scale_base,
                  "What --scales are ratios of: original (the image's size) or WxH (mmseg: ratio "
                  "of a fixed scale, keeping the aspect; URN: 2048x512)")
      ->capture_default_str();
  sub->add_flag("--flip", c->predict.flip, "Also average the flipped image");
  sub->add_option("--window", c->predict.window, "Sliding window side (0 = whole image)");
  sub->add_option("--stride", c->predict.stride, "Sliding window stride (0 = 2/3 window)");
  sub->add_option("--crf", c->crf, "Dense CRF preset on the labels: deeplab, urn or irn");
  sub->add_flag("--probs", c->probs, "Also write float16 probability maps for `urn`");
  sub->add_flag("--no-labels", c->no_labels, "Only write probability maps");
  sub->add_option("--device", c->device, "cpu, cuda or cuda:N")->capture_default_str();
  add_batch_flags(sub, c->batch);
  add_recipe_flag(sub, c->recipe);
  sub->callback([c, sub, &exit_code] {
    apply_named_recipe(sub, "predict", c->recipe);
    exit_code = run_predict(*c);
  });
}

}  // namespace pm::cli
