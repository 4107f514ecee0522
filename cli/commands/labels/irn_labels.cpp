// SPDX-License-Identifier: MIT
// `pseudomask irn-labels`: IRN's random walk (Ahn, Cho & Kwak 2019, Sec. 4.3) from CAM files and
// class-boundary maps to label PNGs.
#include <cmath>
#include <filesystem>

#include "commands/commands.h"
#include "common/batch.h"
#include "common/flags.h"
#include "common/report.h"
#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/resize.h"
#include "pseudomask/core/common/value_checks.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/irn/random_walk.h"

namespace fs = std::filesystem;

namespace pm::cli {
namespace {

const std::vector<std::string> kCamFiles = {".npy", ".npz"};

/// Flags of `pseudomask irn-labels`.
struct IrnLabelsCommand {
  std::string cams;      ///< CAM files (IRN layout: keys, cam at stride 4 and/or high_res)
  std::string boundary;  ///< <id>.npy / <id>.png class-boundary maps at stride 4
  std::string out;
  std::string list;
  std::string palette = "none";
  RandomWalkOptions walk;
  float bg_threshold = 0.25f;  ///< IRN sem_seg_bg_thres as ORANDNet re-thresholds it
  bool plain_has_background = false;
  BatchOptions batch;
};

void validate(const IrnLabelsCommand& c) {
  check_out_is_no_input(c.out, {c.cams, c.boundary});
  c.walk.validate();
  PM_CHECK(std::isfinite(c.bg_threshold) && c.bg_threshold >= 0.0f,
           "--bg-threshold {}: must be a finite value >= 0",
           c.bg_threshold);
}

/// The stride-4 CAMs the walk runs on and the image size they belong to: the file's `cam` (with
/// high_res giving the size, as IRN's image does), or high_res resized to ⌈H/4⌉×⌈W/4⌉.
struct WalkInput {
  Planes cam;
  int height = 0;
  int width = 0;
};

WalkInput walk_input(const CamFile& file, const std::string& path) {
  WalkInput in;
  PM_CHECK(!file.high_res.empty() || !file.cam.empty(), "{}: neither cam nor high_res", path);
  if (!file.high_res.empty()) {
    in.height = file.high_res.height();
    in.width = file.high_res.width();
  } else {
    in.height = 4 * file.cam.height();  // IRN crops the ×4 maps to the image: here, to the maps
    in.width = 4 * file.cam.width();
  }
  const int sh = (in.height - 1) / 4 + 1, sw = (in.width - 1) / 4 + 1;
  in.cam = file.cam.empty() ? resize_planes_bilinear(file.high_res, sh, sw) : file.cam;
  PM_CHECK(in.cam.height() == sh && in.cam.width() == sw,
           "{}: cam is {}, expected (K, {}, {}) for its {}x{} high_res",
           path,
           in.cam.describe(),
           sh,
           sw,
           in.width,
           in.height);
  PM_CHECK(static_cast<size_t>(in.cam.channels()) == file.keys.size(),
           "{}: {} CAM planes for {} keys",
           path,
           in.cam.channels(),
           file.keys.size());
  check_finite(in.cam, path, "cam");
  return in;
}

LabelMap walk_one(const IrnLabelsCommand& c, const std::string& id) {
  const std::string cam_path = find_input(c.cams, id, kCamFiles, "CAM file");
  CamReadOptions read_options;
  read_options.plain_has_background = c.plain_has_background;
  const CamFile file = read_cam_file(cam_path, read_options);
  const WalkInput in = walk_input(file, cam_path);
  const std::string boundary_path = find_input(c.boundary, id, {".npy", ".png"}, "boundary map");
  const std::vector<float> boundary =
      read_boundary_map(boundary_path, in.cam.height(), in.cam.width());
  const Planes walked = random_walk(in.cam, boundary, c.walk);
  return walk_labels(walked, file.keys, in.height, in.width, c.bg_threshold);
}

nlohmann::json settings_json(const IrnLabelsCommand& c) {
  return {{"radius", c.walk.radius},
          {"beta", c.walk.beta},
          {"exp_times", c.walk.exp_times},
          {"bg_threshold", shortest(c.bg_threshold)},
          {"plain_has_background", c.plain_has_background}};
}

int run_irn_labels(const IrnLabelsCommand& c) {
  validate(c);
  const LabelPngColors colors = palette_flag(c.palette);
  const auto ids = resolve_ids(c.list, c.cams, kCamFiles);
  auto output = [&](const std::string& id) { return c.out + "/" + id + ".png"; };
  const ResumeRecord record(c.out, "irn-labels", settings_json(c), c.batch);
  const BatchReport report = run_batch(
      "irn-labels",
      ids,
      c.batch,
      [&](const std::string& id) { return record.complete({output(id)}); },
      [&](const std::string& id) { write_label_png(output(id), walk_one(c, id), colors); });
  nlohmann::json summary = settings_json(c);
  summary.update({{"cams", c.cams}, {"boundary", c.boundary}});
  write_batch_summary(summary_path(c.out, "irn-labels", c.batch), report, summary);
  print_batch_line("irn-labels", "written", report, c.out);
  return report.exit_status();
}

}  // namespace

void add_irn_labels_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<IrnLabelsCommand>();
  CLI::App* sub = app.add_subcommand(
      "irn-labels", "IRN's random walk: CAMs and class-boundary maps to label PNGs");
  sub->footer(batch_footer(
      "IRN (Ahn, Cho & Kwak, CVPR 2019) as its make_sem_seg_labels step computes it. Per id:\n"
      "the CAM file's stride-4 maps (IRN layout: 'cam', or 'high_res' resized to ceil(H/4) x\n"
      "ceil(W/4)) and <boundary>/<id>.npy ((h, w) floats in [0, 1]) or .png (8-bit, B*255) at\n"
      "that size. Affinities a_ij = (1 - max boundary on the path i..j)^beta for pairs within\n"
      "--radius, the transition matrix T (columns normalised), the maps times (1 - B) walked\n"
      "2^--exp-times steps (T stays sparse: a few MB at VOC size where IRN's dense matrix needs\n"
      "hundreds), upsampled x4 (bilinear), cropped to the image, divided by their maximum; a\n"
      "background plane at --bg-threshold; argmax; class key k -> label k+1.\n"
      "Writes <out>/<id>.png (8-bit grayscale; --palette voc for colours) and\n"
      "<out>/irn-labels_summary.json.\n\n"
      "Example:\n"
      "  pseudomask irn-labels --cams cams/orand --boundary irn/boundary --out masks/irn"));
  sub->add_option("--cams", c->cams, "CAM folder (<id>.npy / .npz, IRN layout)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--boundary", c->boundary, "Boundary maps (<id>.npy or .png at stride 4)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--out", c->out, "Output folder of label PNGs")->required();
  sub->add_option("--list", c->list, "Image-id list (default: every CAM file)")
      ->check(CLI::ExistingFile);
  sub->add_option("--radius", c->walk.radius, "Pairs within this radius (IRN: 5)")
      ->capture_default_str();
  sub->add_option("--beta", c->walk.beta, "Affinity exponent beta (IRN: 10)")
      ->capture_default_str();
  sub->add_option("--exp-times", c->walk.exp_times, "2^N walk steps (IRN: 8)")
      ->capture_default_str();
  sub->add_option("--bg-threshold",
                  c->bg_threshold,
                  "Background plane after the walk (IRN 0.25 as ORANDNet re-thresholds)")
      ->capture_default_str();
  sub->add_option("--palette", c->palette, palette_help())->capture_default_str();
  sub->add_flag("--plain-has-background",
                c->plain_has_background,
                "Plain (C,H,W) CAM arrays carry a background channel first");
  add_batch_flags(sub, c->batch);
  sub->callback([c, &exit_code] { exit_code = run_irn_labels(*c); });
}

}  // namespace pm::cli
