// SPDX-License-Identifier: MIT
#include "common/recipes.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "pseudomask/core/common/error.h"

namespace pm::cli {
namespace {

// Where the values come from. "URN ref" is docs/reference/urn-official-code.md (read from the
// official URN code, XMed-Lab/URN @ 5e56e5e, an mmsegmentation 0.8 fork: configs/_base_ and
// configs/pspnet_wsss); "ORANDNet ref" is docs/reference/orandnet-official-code.md (from
// engineerJPark/ORANDNet @ 0e9860e); "ORANDNet paper" is docs/papers/003_*.txt (Park & Shim,
// "Precision matters").
constexpr const char* kUrnModel =
    "URN ref §7 (mmseg `model.backbone`, ResNet-101 row: torchvision "
    "weights, `norm_eval=True`); PSPNet head (1, 2, 3, 6)";
constexpr const char* kUrnOptimizer = "URN ref §7 (mmseg `optimizer = dict(type='SGD', ...)`)";
constexpr const char* kUrnPoly =
    "URN ref §7 (mmseg `lr_config = dict(policy='poly', power=0.9, min_lr=...)`)";
constexpr const char* kUrnNoHeadMult =
    "URN ref §7: one lr for the whole model (mmseg 0.8 has no head multiplier unless "
    "`paramwise_cfg` sets one; URN's configs set none)";
constexpr const char* kUrnPipeline = "URN ref §7 Augmentation (mmseg `train_pipeline`)";
constexpr const char* kOrandPaper = "ORANDNet paper, Implementation details";
constexpr const char* kOrandCls = "ORANDNet ref §7 (module/train.py, network/resnet50_cam.py)";
constexpr const char* kOrandVit = "ORANDNet ref §7 (network/vit.py, module/train.py)";

/// Flags that exclude each other: a recipe's value for one is skipped when the user gave another
/// (e.g. its --epochs when the user set --iterations).
const std::vector<std::vector<std::string>>& exclusive_flags() {
  static const std::vector<std::vector<std::string>> groups = {{"--iterations", "--epochs"}};
  return groups;
}

std::vector<Recipe> make_recipes() {
  // URN's final segmentation training and test (PSPNet, ResNet-101 row, mmseg settings).
  auto urn_train_seg = [](bool coco) {
    RecipePart p{
        "train-seg", "", "PSPNet on ResNet-101, trained on M_c with URN's weights", {}, {}};
    p.values = {
        {"--arch", "pspnet-resnet101", kUrnModel},
        {"--iterations",
         coco ? "40000" : "20000",
         coco ? "URN ref §7 COCO training (mmseg `total_iters`, 40k)"
              : "URN ref §7 VOC training (mmseg `total_iters`, 20k)"},
        {"--batch-size",
         coco ? "64" : "16",
         coco ? "URN ref §7 COCO: 2 images per GPU (`samples_per_gpu=2`) on 32 GPUs, as the author "
                "says (WSSS_MMSeg#7, config name 40kx32); run_pmm.sh's 16 GPUs would give 32"
              : "URN ref §7 VOC: 8 GPUs x 2 images (`samples_per_gpu=2`)"},
        {"--lr", coco ? "0.01" : "0.005", kUrnOptimizer},
        {"--head-lr-mult", "1", kUrnNoHeadMult},
        {"--momentum", "0.9", kUrnOptimizer},
        {"--weight-decay", "5e-4", kUrnOptimizer},
        {"--lr-schedule", "poly", kUrnPoly},
        {"--min-lr", coco ? "5e-5" : "1e-4", kUrnPoly},
        {"--crop",
         "512",
         "URN ref §7 (mmseg `crop_size = (512, 512)`; 448 only for ScaleNet on COCO)"},
        {"--scale-range", "0.5,2.0", kUrnPipeline},
        {"--scale-base",
         "2048x512",
         "URN ref §7 (mmseg `Resize(img_scale=(2048, 512), ratio_range=(0.5, 2.0))`, keep "
         "ratio)"},
        {"--cat-max-ratio", "0.75", "URN ref §7 (mmseg `RandomCrop(cat_max_ratio=0.75)`)"},
        {"--no-flip", "false", "URN ref §7 (mmseg `RandomFlip(flip_ratio=0.5)`)"},
        {"--no-photometric",
         "false",
         "URN ref §7 (mmseg `PhotoMetricDistortion`; pseudomask's distortion is its own)"},
        {"--aux-weight",
         "0.4",
         "URN ref §5, §7 (mmseg `auxiliary_head` FCNHead, `loss_weight=0.4`)"},
        {"--norm-eval", "true", "URN ref §7 (ResNet-101 backbone `norm_eval=True`)"},
        {"--weight-thresh",
         "0.05",
         "URN ref §3, §5 (cross_entropy_loss.py `weight_thresh=0.05`: Y = 0.05 where W8/255 <= "
         "0.05, else 1)"},
        {"--val-every", "2000", "URN ref §7 (mmseg `evaluation = dict(interval=2000)`)"},
    };
    p.expects = {{"--pretrained", "torchvision resnet101-5d3b4d8f.pth (URN ref §7)"},
                 {"--weights", "URN's 3-channel PNGs (M_c + W8) from `pseudomask urn`"}};
    return p;
  };
  auto urn_predict = [](bool coco) {
    RecipePart p{"predict",
                 "",
                 coco ? "multi-scale + flip test (the VOC test pipeline; the reference gives no "
                        "other for COCO)"
                      : "multi-scale + flip test with the dense CRF",
                 {},
                 {}};
    p.values = {
        {"--scales",
         "0.5,0.75,1.0,1.25,1.5,1.75",
         "URN ref §7 Test (mmseg `MultiScaleFlipAug(img_ratios=[0.5, ..., 1.75])`)"},
        {"--scale-base",
         "2048x512",
         "URN ref §7 Test (mmseg `MultiScaleFlipAug(img_scale=(2048, 512))`)"},
        {"--flip", "true", "URN ref §7 Test (`flip=True`)"},
        {"--window", "512", "URN ref §7 Test (mmseg `test_cfg` mode='slide', crop 512)"},
        {"--stride", "480", "URN ref §7 Test (mmseg `test_cfg` stride 480)"},
        {"--crf",
         "urn",
         "URN ref §2, §7 Test (`crf=True`: Gaussian 1/3, bilateral 67/3/4, 10 iterations)"},
    };
    return p;
  };

  Recipe urn_voc{"urn-voc",
                 "URN (Li et al., AAAI 2022): the final PSPNet training on VOC train_aug and its "
                 "test, as the official mmseg code runs them",
                 {urn_train_seg(false), urn_predict(false)}};
  Recipe urn_coco{"urn-coco",
                  "URN on COCO 2014: the same model, 40k iterations, lr 0.01, min lr 5e-5",
                  {urn_train_seg(true), urn_predict(true)}};

  RecipePart resnet{"train-cls", "", "ResNet-50 CAM classifier", {}, {}};
  resnet.values = {
      {"--arch", "resnet50", kOrandCls},
      {"--epochs", "10", "ORANDNet ref §7 (10 epochs; the paper gives none)"},
      {"--batch-size", "8", "ORANDNet ref §7 (batch 8; the paper gives none)"},
      {"--lr", "0.01", kOrandPaper},
      {"--lr-schedule", "poly", kOrandPaper},
      {"--weight-decay", "5e-4", kOrandPaper},
      {"--momentum",
       "0.9",
       "not in the paper; torch SGD's usual 0.9 (the official code passes 5e-4 into the momentum "
       "slot and no decay, ORANDNet ref §3: `--momentum 5e-4 --weight-decay 0` reproduces it)"},
      {"--head-lr-mult", "10", "ORANDNet ref §7 (lr 0.01 backbone, 0.1 head)"},
      {"--crop", "512", "ORANDNet ref §7 (random crop 512)"},
      {"--resize-long", "256,512", "ORANDNet ref §7 (RandomResizeLong 256-512)"},
      {"--norm-eval", "true", "ORANDNet ref §7 (FixedBatchNorm)"},
      {"--frozen-stages",
       "2",
       "ORANDNet ref §7 (conv1/bn1 frozen, stage 2's output detached: stem, layer1 and layer2 "
       "never train)"},
  };
  resnet.expects = {{"--pretrained", "torchvision resnet50-19c8e357.pth (ORANDNet ref §7)"}};
  RecipePart vit{"train-cls", "vit", "ViT classifier (give --arch deit-base)", {}, {}};
  vit.values = {
      {"--epochs", "10", "ORANDNet ref §7 ViT (10 epochs; the paper gives none)"},
      {"--batch-size", "4", "ORANDNet ref §7 ViT (batch 4)"},
      {"--lr",
       "1e-3",
       "ORANDNet paper, Implementation details (the official code: 0.01, ORANDNet ref §7)"},
      {"--lr-schedule",
       "cosine",
       "ORANDNet paper, Implementation details (the code steps its CosineAnnealing once per "
       "epoch; pseudomask anneals every step)"},
      {"--weight-decay", "1e-5", kOrandPaper},
      {"--momentum", "0.9", kOrandVit},
      {"--head-lr-mult", "10", "ORANDNet ref §7 ViT (0.01 backbone, 0.1 head)"},
      {"--clip-grad", "1", "ORANDNet ref §7 ViT (grad-norm clip 1)"},
      {"--crop", "512", "ORANDNet ref §7 ViT (DeiT-B/16 at 512x512, same augmentation)"},
      {"--pos-embed-resample",
       "bilinear",
       "ORANDNet ref §7 ViT (the 14x14 position embeddings resized bilinearly to 32x32)"},
      {"--resize-long", "256,512", "ORANDNet ref §7 ViT (same augmentation as the ResNet)"},
  };
  vit.expects = {{"--pretrained", "timm deit_base_patch16_224-b5f2ef4d.pth (ORANDNet ref §7)"}};
  RecipePart cam{"cam", "", "CAMs of both classifiers", {}, {}};
  cam.values = {
      {"--scales", "1,0.5,1.5,2", "ORANDNet ref §7 CAM (scales {0.5, 1, 1.5, 2})"},
      {"--no-flip", "false", "ORANDNet ref §7 CAM (x {image, h-flip})"},
      {"--vit-size", "512", "ORANDNet ref §7 ViT CAM (image squashed to 512x512)"},
      {"--vit-method",
       "lrp",
       "ORANDNet ref §7 ViT CAM (Chefer et al.'s transformer attribution: LRP relevance x "
       "gradient, rolled out)"},
  };
  RecipePart orand{"orandnet train", "", "ORANDNet's FCN-8s (OR CAM -> AND CAM)", {}, {}};
  orand.values = {
      {"--width", "vgg16", "ORANDNet paper, Implementation details (VGG16 without BatchNorm)"},
      {"--loss",
       "balanced-ls",
       "ORANDNet paper, Fig. 2 caption (class-balanced cross entropy with label smoothing; the "
       "official code's soft CE is `--loss official`)"},
      {"--label-smoothing",
       "0.1",
       "not published; Szegedy et al.'s usual epsilon (pseudomask's choice)"},
      {"--lr", "1e-3", kOrandPaper},
      {"--weight-decay", "0", "ORANDNet paper, Implementation details (no weight decay)"},
      {"--momentum",
       "0",
       "ORANDNet ref §3 (the script's `--encdec_wt_dec 0` lands in SGD's momentum slot)"},
      {"--iterations", "5000", "ORANDNet ref §3 (`max_iters` 5000, one image per step, poly 0.9)"},
  };
  orand.expects = {{"--init", "torchvision vgg16-397923af.pth (ORANDNet paper; ref §3)"}};
  RecipePart seg{
      "train-seg", "", "DeepLab-v1 (LargeFOV) on ResNet-38 with scale scheduling", {}, {}};
  seg.values = {
      {"--arch", "deeplab-largefov-resnet38d", kOrandPaper},
      {"--scale-schedule",
       "8:2,4:4,2:6",
       "ORANDNet paper, Scale scheduling (factors 8, 4, 2 for the initial 2, 4, 6 epochs, read as "
       "cumulative boundaries)"},
      {"--epochs",
       "12",
       "not published; DeepLab-v1's 6000 iterations x 20 images is about 11.3 epochs of "
       "train_aug (Chen et al. 2015, quoted from memory, not in docs/papers)"},
      {"--batch-size", "20", "DeepLab-v1 (Chen et al. 2015: mini-batch 20; from memory)"},
      {"--lr",
       "2.5e-4",
       "ORANDNet ref §6 (main.py `--deeplab_lr` default, defined but unused by the code)"},
      {"--weight-decay",
       "5e-4",
       "ORANDNet ref §6 (main.py `--deeplab_wt_dec` default, unused by the code)"},
      {"--momentum", "0.9", "DeepLab-v1 (Chen et al. 2015; from memory)"},
      {"--head-lr-mult",
       "10",
       "DeepLab-v1 (Chen et al. 2015: 10x lr for the final classifier; from memory)"},
      {"--lr-schedule",
       "poly",
       "not published (DeepLab-v1 used steps x0.1 every 2000 iterations; pseudomask has poly)"},
      {"--min-lr", "0", "poly without floor (DeepLab-v2 / IRN)"},
      {"--crop", "321", "not published; DeepLab's usual 321 (pseudomask's default)"},
  };
  seg.expects = {{"--pretrained", "res38d.pth, the converted ImageNet ResNet-38 weights"}};
  RecipePart seg_test{"predict", "", "single-scale test with the dense CRF (DeepLab-v1)", {}, {}};
  seg_test.values = {
      {"--scales", "1.0", "DeepLab-v1 (single scale; the ORANDNet paper gives no test set-up)"},
      {"--scale-base", "original", "ratios of the image's own size"},
      {"--flip", "false", "DeepLab-v1 (no flip)"},
      {"--crf",
       "deeplab",
       "DeepLab-v1 (dense CRF post-processing, Chen et al. 2015; pseudomask's deeplab preset)"},
  };
  Recipe orandnet_voc{"orandnet-voc",
                      "ORANDNet (Park & Shim): the ResNet-50 and ViT classifiers, their CAMs, the "
                      "FCN-8s and the DeepLab-v1 segmentation on VOC",
                      {resnet, vit, cam, orand, seg, seg_test}};
  return {urn_voc, urn_coco, orandnet_voc};
}

std::string names_of(const std::vector<Recipe>& all) {
  std::string out;
  for (size_t i = 0; i < all.size(); ++i)
    out += (i ? ", " : "") + all[i].name;
  return out;
}

bool given(CLI::App* sub, const std::string& flag) {
  const CLI::Option* opt = sub->get_option_no_throw(flag);
  return opt != nullptr && opt->count() > 0;
}

/// A flag of the recipe that the user's own flags decide: the flag itself, or one excluding it.
bool decided_by_user(CLI::App* sub, const std::string& flag) {
  if (given(sub, flag))
    return true;
  for (const auto& group : exclusive_flags()) {
    if (std::find(group.begin(), group.end(), flag) == group.end())
      continue;
    for (const std::string& other : group)
      if (other != flag && given(sub, other))
        return true;
  }
  return false;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i)
    out += (i ? sep : "") + v[i];
  return out;
}

/// A markdown table cell: '|' escaped.
std::string cell(const std::string& s) {
  std::string out;
  for (char ch : s)
    out += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return out;
}

}  // namespace

const std::vector<Recipe>& recipes() {
  static const std::vector<Recipe> all = make_recipes();
  return all;
}

const Recipe& find_recipe(const std::string& name) {
  for (const Recipe& r : recipes())
    if (r.name == name)
      return r;
  PM_FAIL("--recipe {}: unknown recipe (known: {})", name, names_of(recipes()));
}

const RecipePart& recipe_part(const Recipe& recipe,
                              const std::string& command,
                              const std::string& variant) {
  std::vector<std::string> commands;
  for (const RecipePart& p : recipe.parts) {
    if (p.command == command && p.variant == variant)
      return p;
    if (std::find(commands.begin(), commands.end(), p.command) == commands.end())
      commands.push_back(p.command);
  }
  PM_FAIL("--recipe {}: not a recipe for {} (it covers {})",
          recipe.name,
          command,
          join(commands, ", "));
}

std::string classifier_variant(const std::string& arch) {
  return arch.rfind("deit", 0) == 0 || arch.rfind("vit", 0) == 0 ? "vit" : "";
}

AppliedRecipe apply_recipe_part(CLI::App* sub, const RecipePart& part, const std::string& recipe) {
  for (const RecipeValue& v : part.values) {
    PM_CHECK(sub->get_option_no_throw(v.flag) != nullptr,
             "--recipe {}: {} has no {} in this build (the recipe sets it to {})",
             recipe,
             part.command,
             v.flag,
             v.value);
  }
  AppliedRecipe done;
  for (const RecipeValue& v : part.values) {
    if (decided_by_user(sub, v.flag)) {
      done.kept.push_back(v.flag);
      continue;
    }
    CLI::Option* opt = sub->get_option(v.flag);
    opt->clear();
    opt->add_result(v.value);
    opt->run_callback();
    done.set.push_back(v);
  }
  for (const auto& [flag, what] : part.expects)
    if (!given(sub, flag))
      done.notes.push_back(flag + ": the published run used " + what);
  return done;
}

CLI::Option* add_recipe_flag(CLI::App* sub, std::string& name) {
  std::vector<std::string> names;
  for (const Recipe& r : recipes())
    names.push_back(r.name);
  return sub->add_option("--recipe",
                         name,
                         "Hyper-parameters of a published run (" + join(names, ", ") +
                             "; docs/recipes.md); explicit flags override them");
}

void apply_named_recipe(CLI::App* sub, const std::string& command, const std::string& name) {
  if (name.empty())
    return;
  const Recipe& recipe = find_recipe(name);
  std::string variant;
  if (command == "train-cls" && given(sub, "--arch"))
    variant = classifier_variant(sub->get_option("--arch")->as<std::string>());
  const AppliedRecipe done = apply_recipe_part(sub, recipe_part(recipe, command, variant), name);
  std::vector<std::string> set;
  for (const RecipeValue& v : done.set)
    set.push_back(v.value == "true" ? v.flag : v.flag + " " + v.value);
  std::printf("recipe %s: %s%s%s\n",
              name.c_str(),
              join(set, " ").c_str(),
              done.kept.empty() ? "" : "; your own: ",
              join(done.kept, " ").c_str());
  for (const std::string& note : done.notes)
    std::printf("recipe %s: note: %s\n", name.c_str(), note.c_str());
  std::fflush(stdout);
}

std::string recipes_markdown() {
  std::string out;
  for (const Recipe& r : recipes()) {
    out += fmt::format("## `{}`\n\n{}.\n", r.name, r.summary);
    for (const RecipePart& p : r.parts) {
      out += fmt::format("\n### `{}` · {}\n\n", p.command, p.title);
      out += "| value | flag | source |\n|---|---|---|\n";
      for (const RecipeValue& v : p.values)
        out += fmt::format("| `{}` | `{}` | {} |\n", cell(v.value), v.flag, cell(v.source));
      for (const auto& [flag, what] : p.expects)
        out += fmt::format("| (your file) | `{}` | {} |\n", flag, cell(what));
    }
    out += "\n";
  }
  return out;
}

}  // namespace pm::cli
