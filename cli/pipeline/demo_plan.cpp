// SPDX-License-Identifier: MIT
#include "pipeline/demo_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace pm::cli {
namespace {

// Training budgets at --epoch-scale 1, chosen so the default run fits in about 15 minutes on
// 2 cores (see docs/demo.md for the measured time of each stage).
constexpr int kClsEpochsCnn = 8;
constexpr int kClsEpochsVit = 15;
constexpr int kOrandIterations = 1000;
constexpr int kSegEpochs = 8;
constexpr int kIrnEpochs = 3;                     // IRN's train_irn: 3 epochs
constexpr int kNumClasses = 11;                   // the synthetic set: background + 10
constexpr const char* kIrnBoundarySet = "orand";  // irn-labels of this set writes the boundaries

int scaled(int budget, double scale) {
  return std::max(1, static_cast<int>(std::lround(budget * scale)));
}

// Builds the steps; holds the paths every step shares.
class DemoPlan {
 public:
  explicit DemoPlan(const DemoConfig& c) : c_(c), data_(demo_data_dir(c)) {}

  std::vector<Step> build() {
    add_dataset();
    add_classifiers();
    add_cams();
    add_orandnet();
    add_pseudo_masks();
    add_irn();
    add_segmentation();
    add_figures();
    return steps_;
  }

 private:
  std::string path(const std::string& rel) const { return c_.out + "/" + rel; }
  std::string threads() const { return std::to_string(c_.threads_per_step); }
  std::string split_list(const std::string& split) const {
    return data_ + "/ImageSets/Segmentation/" + split + ".txt";
  }

  void add(Step s) { steps_.push_back(std::move(s)); }

  // A batch command's common flags: threads over images, resume at item level, quiet logs.
  std::vector<std::string> batch(std::vector<std::string> args) const {
    args.insert(args.end(), {"--jobs", threads(), "--resume", "--quiet"});
    return args;
  }

  // A torch command's flags: device, threads, and --resume when a checkpoint exists.
  Step training(const std::string& name,
                const std::string& stage,
                std::vector<std::string> args,
                std::vector<std::string> deps,
                const std::string& checkpoint) const {
    args.insert(args.end(), {"--device", c_.device, "--threads", threads(), "--quiet"});
    return {name, stage, std::move(args), std::move(deps), checkpoint, {"--resume"}};
  }

  void add_dataset() {
    add({"synth",
         "data",
         batch({"synth",
                "--out",
                data_,
                "--train",
                std::to_string(c_.train_images),
                "--val",
                std::to_string(demo_val_images(c_.train_images)),
                "--size",
                std::to_string(c_.image_size),
                "--seed",
                std::to_string(c_.data_seed),
                "--contact-sheet",
                path("report/dataset.png")}),
         {}});
  }

  void add_classifier(const std::string& key, const std::string& arch, int epochs) {
    add(training("train-cls-" + key,
                 "classifiers",
                 {"train-cls",
                  "--dataset",
                  data_,
                  "--arch",
                  arch,
                  "--epochs",
                  std::to_string(scaled(epochs, c_.epoch_scale)),
                  "--workers",
                  "1",
                  "--out",
                  path("cls/" + key)},
                 {"synth"},
                 path("cls/" + key + "/last.pth")));
  }

  void add_classifiers() {
    add_classifier("A", "resnet-tiny", kClsEpochsCnn);
    add_classifier("B", "vit-tiny", kClsEpochsVit);
  }

  void add_cams() {
    for (const std::string key : {"A", "B"}) {
      std::vector<std::string> args = batch({"cam",
                                             "--model",
                                             path("cls/" + key + "/model.pth"),
                                             "--dataset",
                                             data_,
                                             "--out",
                                             path("cams/" + key),
                                             "--threads",
                                             "1",
                                             "--device",
                                             c_.device});
      add({"cam-" + key, "CAMs", args, {"train-cls-" + key}});
    }
    for (const std::string mode : {"or", "and", "mean"}) {
      add({"ensemble-" + mode,
           "ensemble",
           batch({"ensemble",
                  "--cams1",
                  path("cams/A"),
                  "--cams2",
                  path("cams/B"),
                  "--mode",
                  mode,
                  "--out",
                  path("cams/" + mode)}),
           {"cam-A", "cam-B"}});
    }
  }

  void add_orandnet() {
    add(training("orandnet-train",
                 "ORANDNet",
                 {"orandnet",
                  "train",
                  "--cams1",
                  path("cams/A"),
                  "--cams2",
                  path("cams/B"),
                  "--width",
                  "tiny",
                  "--iterations",
                  std::to_string(scaled(kOrandIterations, c_.epoch_scale)),
                  "--lr",
                  "0.003",
                  "--momentum",
                  "0.9",
                  "--out",
                  path("orandnet")},
                 {"cam-A", "cam-B"},
                 path("orandnet/model.pth")));
    add({"orandnet-infer",
         "ORANDNet",
         batch({"orandnet",
                "infer",
                "--cams1",
                path("cams/A"),
                "--cams2",
                path("cams/B"),
                "--model",
                path("orandnet/model.pth"),
                "--threads",
                "1",
                "--device",
                c_.device,
                "--out",
                path("cams/orand")}),
         {"orandnet-train"}});
  }

  static std::string cam_step(const std::string& key) {
    if (key == "A" || key == "B")
      return "cam-" + key;
    return key == "orand" ? "orandnet-infer" : "ensemble-" + key;
  }

  // Table 1: each CAM set without CRF (eval-cam's threshold sweep) and with CRF (labels crf).
  void add_pseudo_masks() {
    const std::string gt = data_ + "/SegmentationClass";
    const std::string classes = data_ + "/classes.txt";
    for (const CamSet& s : demo_cam_sets()) {
      const std::string dep = cam_step(s.key);
      add({"eval-cam-" + s.key,
           "pseudo-masks",
           {"eval-cam",
            "--gt",
            gt,
            "--cams",
            path("cams/" + s.key),
            "--num-classes",
            std::to_string(kNumClasses),
            "--classes",
            classes,
            "--json",
            path("eval/cam_" + s.key + ".json"),
            "--jobs",
            threads(),
            "--quiet"},
           {dep}});
      add({"crf-labels-" + s.key,
           "pseudo-masks",
           batch({"labels",
                  "--cams",
                  path("cams/" + s.key),
                  "--images",
                  data_ + "/JPEGImages",
                  "--mode",
                  "crf",
                  "--out",
                  path("masks/" + s.key + "_crf")}),
           {dep}});
      add(eval_step("eval-crf-" + s.key,
                    "pseudo-masks",
                    path("masks/" + s.key + "_crf"),
                    "train",
                    path("eval/crf_" + s.key + ".json"),
                    "crf-labels-" + s.key));
    }
  }

  // IRN (ORANDNet Table 1's "w/ IRN"): its confident regions from the ORANDNet CAMs (labels
  // --mode irn), an IRN trained on them (tiny ResNet at IRN's strides, backbone from classifier A
  // as the stand-in for ImageNet weights, frozen as IRN freezes it), its boundary maps of the
  // training images, and the random walk of every CAM set over those boundaries.
  void add_irn() {
    add({"ir-labels-orand",
         "IRN",
         batch({"labels",
                "--cams",
                path("cams/orand"),
                "--images",
                data_ + "/JPEGImages",
                "--mode",
                "irn",
                "--out",
                path("masks/orand_ir")}),
         {"orandnet-infer"}});
    add(training("train-irn",
                 "IRN",
                 {"train-irn",
                  "--dataset",
                  data_,
                  "--ir-labels",
                  path("masks/orand_ir"),
                  "--arch",
                  "resnet-tiny",
                  "--pretrained",
                  path("cls/A/model.pth"),
                  "--crop",
                  std::to_string(c_.image_size),
                  "--radius",
                  std::to_string(irn_radius()),
                  "--batch-size",
                  "16",
                  "--epochs",
                  std::to_string(scaled(kIrnEpochs, c_.epoch_scale)),
                  "--workers",
                  "1",
                  "--out",
                  path("irn")},
                 {"ir-labels-orand", "train-cls-A"},
                 path("irn/last.pth")));
    // The set that computes the boundaries goes first: the others read them.
    std::vector<CamSet> sets = demo_cam_sets();
    std::stable_partition(
        sets.begin(), sets.end(), [](const CamSet& s) { return s.key == kIrnBoundarySet; });
    for (const CamSet& s : sets) {
      std::vector<std::string> args = {
          "irn-labels", "--cams", path("cams/" + s.key), "--out", path("masks/" + s.key + "_irn")};
      std::vector<std::string> deps = {cam_step(s.key)};
      if (s.key == kIrnBoundarySet) {
        // The network's boundary maps are computed once, here, and read by the other sets.
        args.insert(args.end(),
                    {"--irn",
                     path("irn/model.pth"),
                     "--dataset",
                     data_,
                     "--boundary-out",
                     path("irn/boundary"),
                     "--device",
                     c_.device,
                     "--threads",
                     "1"});
        deps.push_back("train-irn");
      } else {
        args.insert(args.end(), {"--boundary", path("irn/boundary")});
        deps.push_back("irn-labels-" + std::string(kIrnBoundarySet));
      }
      add({"irn-labels-" + s.key, "IRN", batch(args), deps});
      add(eval_step("eval-irn-" + s.key,
                    "IRN",
                    path("masks/" + s.key + "_irn"),
                    "train",
                    path("eval/irn_" + s.key + ".json"),
                    "irn-labels-" + s.key));
    }
  }

  // IRN's training radius 10 (at stride 4), or the largest the crop holds: the path index needs
  // crop / 4 >= 2 (radius - 1) + 1 cells (radius 8 at the smallest demo image, 64 px).
  int irn_radius() const { return std::min(10, (c_.image_size / 4 - 1) / 2 + 1); }

  Step eval_step(const std::string& name,
                 const std::string& stage,
                 const std::string& pred,
                 const std::string& split,
                 const std::string& json,
                 const std::string& dep) const {
    return {name,
            stage,
            {"eval",
             "--gt",
             data_ + "/SegmentationClass",
             "--pred",
             pred,
             "--list",
             split_list(split),
             "--num-classes",
             std::to_string(kNumClasses),
             "--classes",
             data_ + "/classes.txt",
             "--json",
             json,
             "--jobs",
             threads(),
             "--quiet"},
            {dep}};
  }

  // One segmentation model: train, predict val, evaluate. PSPNet with its auxiliary head, as URN
  // trains it; the backbone starts from classifier A's (the stand-in for ImageNet weights).
  void add_seg_model(const std::string& key,
                     const std::string& seed,
                     std::vector<std::string> inputs,
                     std::vector<std::string> deps) {
    const std::string dir = path("seg/" + key + "/seed" + seed);
    const int epochs = scaled(kSegEpochs, c_.epoch_scale);
    std::vector<std::string> args = {"train-seg",
                                     "--dataset",
                                     data_,
                                     "--arch",
                                     "pspnet-tiny",
                                     "--pretrained",
                                     path("cls/A/model.pth"),
                                     "--crop",
                                     std::to_string(c_.image_size),
                                     "--epochs",
                                     std::to_string(epochs),
                                     "--workers",
                                     "1",
                                     "--seed",
                                     seed,
                                     "--out",
                                     dir};
    args.insert(args.end(), inputs.begin(), inputs.end());
    const std::string name = key + "-s" + seed;
    add(training("train-seg-" + name, "segmentation", args, deps, dir + "/last.pth"));
    add({"predict-val-" + name,
         "segmentation",
         batch({"predict",
                "--dataset",
                data_,
                "--split",
                "val",
                "--model",
                dir + "/model.pth",
                "--flip",
                "--device",
                c_.device,
                "--out",
                dir + "/val"}),
         {"train-seg-" + name}});
    add(eval_step("eval-val-" + name,
                  "segmentation",
                  dir + "/val/labels",
                  "val",
                  path("eval/seg_" + key + "_seed" + seed + ".json"),
                  "predict-val-" + name));
  }

  // Scale scheduling for kSegEpochs: downsample 4x for the first fifth, 2x until two fifths.
  std::string scale_schedule() const {
    const int epochs = scaled(kSegEpochs, c_.epoch_scale);
    return fmt::format("4:{},2:{}", std::max(1, epochs / 5), std::max(2, 2 * epochs / 5));
  }

  void add_segmentation() {
    const std::string pseudo = path("masks/orand_crf");
    for (int seed = 0; seed < c_.seeds; ++seed) {
      const std::string s = std::to_string(seed);
      add_seg_model("pseudo", s, {"--labels", pseudo}, {"crf-labels-orand"});
      add_seg_model("scale-schedule",
                    s,
                    {"--labels", pseudo, "--scale-schedule", scale_schedule()},
                    {"crf-labels-orand"});
      add_seg_model("pseudo-irn", s, {"--labels", path("masks/orand_irn")}, {"irn-labels-orand"});
    }
    add_cyclic_masks();
    for (int seed = 0; seed < c_.seeds; ++seed) {
      const std::string s = std::to_string(seed);
      add_seg_model("cyclic", s, {"--labels", path("urn/hard/mask")}, {"urn-hard"});
      add_seg_model("cyclic-urn", s, {"--weights", path("urn/hard/urn")}, {"urn-hard"});
      add_seg_model("cyclic-prob",
                    s,
                    {"--weights", path("urn/prob/urn"), "--weight-thresh", "-1"},
                    {"urn-prob"});
    }
  }

  // URN: the first model's CRF-refined predictions on the training images are the cyclic
  // pseudo-masks M_c; response scaling gives their uncertainty.
  void add_cyclic_masks() {
    const std::string teacher = path("seg/pseudo/seed0");
    add({"predict-train",
         "URN",
         batch({"predict",
                "--dataset",
                data_,
                "--split",
                "train",
                "--model",
                teacher + "/model.pth",
                "--flip",
                "--crf",
                "urn",
                "--probs",
                "--device",
                c_.device,
                "--out",
                path("urn/teacher")}),
         {"train-seg-pseudo-s0"}});
    for (const std::string mode : {"hard", "prob"}) {
      add({"urn-" + mode,
           "URN",
           batch({"urn",
                  "--images",
                  data_ + "/JPEGImages",
                  "--probs",
                  path("urn/teacher/probs"),
                  "--num-classes",
                  std::to_string(kNumClasses),
                  "--mode",
                  mode,
                  "--out",
                  path("urn/" + mode)}),
           {"predict-train"}});
    }
    add(eval_step("eval-cyclic",
                  "URN",
                  path("urn/hard/mask"),
                  "train",
                  path("eval/cyclic.json"),
                  "urn-hard"));
  }

  // Overlays for the report: pseudo-masks with URN's uncertainty, CAMs, val predictions.
  void add_figures() {
    std::vector<std::string> masks = {"show", "--dataset", data_, "--split", "train"};
    std::vector<std::string> deps = {"urn-hard", "irn-labels-orand"};
    masks.push_back("--labels");
    for (const CamSet& s : demo_cam_sets()) {
      masks.push_back(path("masks/" + s.key + "_crf"));
      deps.push_back("crf-labels-" + s.key);
    }
    masks.insert(masks.end(),
                 {path("masks/orand_irn"),
                  "--labels",
                  path("urn/hard/mask"),
                  "--weights",
                  path("urn/hard/urn"),
                  "--count",
                  "6",
                  "--per-row",
                  "1",
                  "--out",
                  path("report/pseudo_masks.png"),
                  "--quiet"});
    add({"figure-pseudo-masks", "report", masks, deps});
    for (const std::string key : {"A", "B", "and", "orand"}) {
      add({"figure-cams-" + key,
           "report",
           {"show",
            "--dataset",
            data_,
            "--split",
            "train",
            "--cams",
            path("cams/" + key),
            "--count",
            "4",
            "--per-row",
            "1",
            "--out",
            path("report/cams_" + key + ".png"),
            "--quiet"},
           {cam_step(key)}});
    }
    std::vector<std::string> preds = {"show", "--dataset", data_, "--split", "val", "--labels"};
    std::vector<std::string> pred_deps;
    for (const SegVariant& v : demo_seg_variants()) {
      preds.push_back(path("seg/" + v.key + "/seed0/val/labels"));
      pred_deps.push_back("predict-val-" + v.key + "-s0");
    }
    preds.insert(
        preds.end(),
        {"--count", "6", "--per-row", "1", "--out", path("report/predictions.png"), "--quiet"});
    add({"figure-predictions", "report", preds, pred_deps});
  }

  const DemoConfig& c_;
  const std::string data_;
  std::vector<Step> steps_;
};

}  // namespace

const std::vector<CamSet>& demo_cam_sets() {
  static const std::vector<CamSet> sets = {{"A", "CAM A (ResNet)"},
                                           {"B", "CAM B (ViT)"},
                                           {"mean", "mean of A, B"},
                                           {"or", "OR (A, B)"},
                                           {"and", "AND (A, B)"},
                                           {"orand", "ORANDNet"}};
  return sets;
}

const std::vector<SegVariant>& demo_seg_variants() {
  static const std::vector<SegVariant> variants = {
      {"pseudo", "pseudo-masks (ORANDNet + CRF)"},
      {"scale-schedule", "pseudo-masks, scale scheduling"},
      {"pseudo-irn", "pseudo-masks (ORANDNet + IRN)"},
      {"cyclic", "cyclic masks M_c"},
      {"cyclic-urn", "M_c + URN weights (t = 0.05)"},
      {"cyclic-prob", "M_c + probability weights"}};
  return variants;
}

std::string demo_data_dir(const DemoConfig& c) {
  return c.out + "/data";
}

int demo_val_images(int train_images) {
  return std::max(20, train_images / 5);
}

std::vector<Step> demo_steps(const DemoConfig& c) {
  return DemoPlan(c).build();
}

}  // namespace pm::cli
