// SPDX-License-Identifier: MIT
// `pseudomask crf`: dense-CRF refinement of probability maps, label maps or raw unaries.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "commands/commands.h"
#include "common/batch.h"
#include "common/flags.h"
#include "common/report.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/parse.h"
#include "pseudomask/core/common/value_checks.h"
#include "pseudomask/core/crf/crf_inputs.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/io/numpy/npy.h"

namespace fs = std::filesystem;

namespace pm::cli {
namespace {

/// Flags of `pseudomask crf`.
struct CrfCommand {
  std::string images;              ///< RGB images (<id>.jpg / .png)
  std::string probs;               ///< probability maps (<id>.npy, (C,H,W) or (C,H·W))
  std::string labels;              ///< label PNGs (255 = unknown)
  std::string unary;               ///< unary energies (<id>.npy, (M,H,W) or (M,H·W))
  std::string out;                 ///< output folder: <id>.png label maps
  std::string palette = "none";    ///< label PNG colours: none | voc
  std::string list;                ///< optional id list
  std::string preset = "deeplab";  ///< deeplab | urn | irn
  std::optional<int> iters;        ///< mean-field iterations (default: the preset's 10)
  std::string gaussian;            ///< "SXY,COMPAT" overrides the preset's Gaussian term
  std::string bilateral;           ///< "SXY,SRGB,COMPAT" overrides the preset's bilateral term
  double gt_prob = 0.7;            ///< label mode: probability of the given label
  int num_labels = 0;              ///< label mode: label count (0 = max label + 1 per image)
  bool logits = false;             ///< --probs holds logits: softmax first
  bool save_q = false;             ///< also write Q as <out>/q/<id>.npy (float32 (M,H,W))
  BatchOptions batch;
};

CrfParams crf_params(const CrfCommand& c) {
  CrfParams p = CrfParams::preset(crf_preset_flag("--preset", c.preset));
  if (c.iters)
    p.iterations = *c.iters;
  for (PairwiseTerm& t : p.terms) {
    if (!t.bilateral() && !c.gaussian.empty()) {
      const auto v = parse_float_list(c.gaussian, "--gaussian", 2);
      t.sxy = v[0];
      t.weight = v[1];
    }
    if (t.bilateral() && !c.bilateral.empty()) {
      const auto v = parse_float_list(c.bilateral, "--bilateral", 3);
      t.sxy = v[0];
      t.srgb = v[1];
      t.weight = v[2];
    }
  }
  p.validate();
  return p;
}

// The unary of one image from whichever input the command was given.
Unary load_unary(const CrfCommand& c, const std::string& id, const RgbImage& image) {
  if (!c.labels.empty()) {
    const std::string path = find_input(c.labels, id, {".png"}, "label map");
    const LabelMap labels = read_label_png(path);
    PM_CHECK(labels.width == image.width && labels.height == image.height,
             "{}: label map is {}x{}, image is {}x{}",
             path,
             labels.width,
             labels.height,
             image.width,
             image.height);
    return unary_from_label_map(labels, c.num_labels, c.gt_prob, path);
  }
  const std::string& dir = c.probs.empty() ? c.unary : c.probs;
  const std::string path = find_input(dir, id, {".npy", ".npz"}, "input");
  Planes planes = read_label_planes(path, image.width, image.height);
  if (!c.unary.empty())
    return planes;
  if (c.logits)
    softmax_labels(planes);
  check_probabilities(planes, path);
  return unary_from_probabilities(planes);
}

std::string input_dir(const CrfCommand& c) {
  const int given = !c.probs.empty() + !c.labels.empty() + !c.unary.empty();
  PM_CHECK(given == 1, "give exactly one of --probs, --labels and --unary");
  return !c.probs.empty() ? c.probs : !c.labels.empty() ? c.labels : c.unary;
}

/// What makes the outputs' content, for --resume (ResumeRecord).
nlohmann::json crf_settings(const CrfCommand& c, const CrfParams& params) {
  nlohmann::json j = {{"crf", crf_params_json(params)}};
  if (!c.probs.empty()) {
    j["input"] = "probs";
    j["logits"] = c.logits;
  } else if (!c.labels.empty()) {
    j["input"] = "labels";
    j["gt_prob"] = c.gt_prob;
    j["num_labels"] = c.num_labels;
  } else {
    j["input"] = "unary";
  }
  return j;
}

int run_crf(const CrfCommand& c) {
  const CrfParams params = crf_params(c);
  const LabelPngColors colors = palette_flag(c.palette);
  const std::string in_dir = input_dir(c);
  check_out_is_no_input(c.out, {c.images, in_dir});
  const auto ids = resolve_ids(c.list,
                               in_dir,
                               !c.labels.empty() ? std::vector<std::string>{".png"}
                                                 : std::vector<std::string>{".npy", ".npz"});
  auto output = [&](const std::string& id) { return c.out + "/" + id + ".png"; };
  auto q_output = [&](const std::string& id) { return c.out + "/q/" + id + ".npy"; };
  const int threads_per_image = threads_per_item(c.batch, ids);
  const ResumeRecord record(c.out, "crf", crf_settings(c, params), c.batch);
  const BatchReport report = run_batch(
      "crf",
      ids,
      c.batch,
      [&](const std::string& id) {
        return c.save_q ? record.complete({output(id), q_output(id)})
                        : record.complete({output(id)});
      },
      [&](const std::string& id) {
        thread_local CrfWorkspace workspace;
        const RgbImage image = read_image(find_image(c.images, id));
        const Unary unary = load_unary(c, id, image);
        const DenseCrf2D crf(image, params, threads_per_image);
        const CrfResult r = crf.infer(
            unary, &workspace, c.save_q ? CrfOutputs::kLabelsAndMarginals : CrfOutputs::kLabels);
        if (c.save_q) {
          write_npy(q_output(id), planes_to_ndarray(r.q));
        }
        write_label_png(output(id), r.map, colors);
      });
  write_batch_summary(summary_path(c.out, "crf", c.batch), report, crf_params_json(params));
  print_batch_line("crf", "refined", report, c.out);
  return report.exit_status();
}

}  // namespace

void add_crf_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<CrfCommand>();
  CLI::App* sub =
      app.add_subcommand("crf", "Refine probability maps or label maps with a dense CRF");
  sub->footer(batch_footer(
      "Fully-connected CRF (Krähenbühl & Koltun 2011) with a Gaussian and a bilateral kernel, "
      "permutohedral\n"
      "lattice, Potts compatibility, symmetric normalisation; agrees with pydensecrf/densecrf "
      "pixel for pixel.\n"
      "Presets: deeplab (Gaussian 3/3, bilateral 80/13/10), urn (1/3, 67/3/4), irn (3/3, 50/5/10); "
      "10 iterations.\n"
      "Inputs are matched to images by file stem. --probs: probabilities in [0, 1] (NaN, "
      "infinities and\n"
      "negatives refused, as by urn; --logits for logits), unary -log(clip(p, 1e-5, 1)); --labels: "
      "a label PNG\n"
      "with --gt-prob confidence, 255 = unknown; --unary: energies as given. Output: "
      "<out>/<id>.png\n"
      "(and <out>/q/<id>.npy with --save-q); the settings in <out>/crf_settings.json "
      "(--resume).\n\n"
      "Example:\n  pseudomask crf --images VOC2012/JPEGImages --probs out/probs --out out/crf "
      "--preset urn --jobs 8"));
  sub->add_option("--images", c->images, "RGB image folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option(
         "--probs", c->probs, "Probability maps (<id>.npy or one-array .npz, (C,H,W) or (C,H*W))")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--labels", c->labels, "Label PNGs (255 = unknown)")
      ->check(CLI::ExistingDirectory);
  sub->add_option(
         "--unary", c->unary, "Unary energies (<id>.npy or one-array .npz, (M,H,W) or (M,H*W))")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--out", c->out, "Output folder")->required();
  sub->add_option("--palette", c->palette, palette_help())->capture_default_str();
  sub->add_option("--list", c->list, "Image-id list (default: every input file)")
      ->check(CLI::ExistingFile);
  sub->add_option("--preset", c->preset, "deeplab, urn or irn")->capture_default_str();
  add_iters_flag(sub, c->iters);
  sub->add_option("--gaussian", c->gaussian, "Gaussian term SXY,COMPAT (overrides the preset)");
  sub->add_option(
      "--bilateral", c->bilateral, "Bilateral term SXY,SRGB,COMPAT (overrides the preset)");
  sub->add_option("--gt-prob", c->gt_prob, "--labels: probability of the given label")
      ->capture_default_str();
  sub->add_option(
      "--num-labels", c->num_labels, "--labels: number of labels (default: max label + 1)");
  sub->add_flag("--logits", c->logits, "--probs holds logits: apply a softmax first");
  sub->add_flag("--save-q", c->save_q, "Also write the marginals Q to <out>/q/<id>.npy");
  add_batch_flags(sub, c->batch);
  sub->callback([c, &exit_code] { exit_code = run_crf(*c); });
}

}  // namespace pm::cli
