// SPDX-License-Identifier: MIT
// `pseudomask irn-labels`: IRN's random walk (Ahn, Cho & Kwak 2019, Sec. 4.3) from CAM files and
// class-boundary maps (files, or a trained IRN's in the nn module) to label PNGs.
#include "commands/labels/irn_labels.h"

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

void validate(const IrnLabelsCommand& c) {
  PM_CHECK(c.boundary.empty() != c.irn.empty(),
           "--boundary and --irn: give exactly one source of boundary maps");
  PM_CHECK(c.irn.empty() || !c.dataset.empty(), "--irn needs --dataset (the images)");
  PM_CHECK(c.irn.empty() || c.threads >= 0, "--threads {}: must be >= 0", c.threads);
  check_out_is_no_input(c.out, {c.cams, c.boundary});
  if (!c.boundary_out.empty())
    check_out_is_no_input(c.boundary_out, {c.cams, c.boundary, c.out});
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

/// The boundary maps of --boundary: <dir>/<id>.npy or .png at the walk's size.
BoundaryFn boundary_files(const std::string& dir) {
  return [dir](const std::string& id, int, int, int h4, int w4) {
    return read_boundary_map(find_input(dir, id, {".npy", ".png"}, "boundary map"), h4, w4);
  };
}

std::string label_output(const IrnLabelsCommand& c, const std::string& id) {
  return c.out + "/" + id + ".png";
}

std::string boundary_output(const IrnLabelsCommand& c, const std::string& id) {
  return c.boundary_out + "/" + id + ".png";
}

/// Walks the CAMs of `id` over its boundary map; writes the labels (and the boundary PNG with
/// --boundary-out).
void walk_one(const IrnLabelsCommand& c,
              const BoundaryFn& boundary_of,
              const WalkFn& walk,
              const LabelPngColors& colors,
              const std::string& id) {
  const std::string cam_path = find_input(c.cams, id, kCamFiles, "CAM file");
  CamReadOptions read_options;
  read_options.plain_has_background = c.plain_has_background;
  const CamFile file = read_cam_file(cam_path, read_options);
  const WalkInput in = walk_input(file, cam_path);
  const std::vector<float> boundary =
      boundary_of(id, in.height, in.width, in.cam.height(), in.cam.width());
  const Planes walked =
      walk ? walk(in.cam, boundary, c.walk) : random_walk(in.cam, boundary, c.walk);
  write_label_png(label_output(c, id),
                  walk_labels(walked, file.keys, in.height, in.width, c.bg_threshold),
                  colors);
  if (!c.boundary_out.empty())
    write_boundary_png(boundary_output(c, id), boundary, in.cam.height(), in.cam.width());
}

nlohmann::json settings_json(const IrnLabelsCommand& c) {
  nlohmann::json j = {{"radius", c.walk.radius},
                      {"beta", c.walk.beta},
                      {"exp_times", c.walk.exp_times},
                      {"bg_threshold", shortest(c.bg_threshold)},
                      {"plain_has_background", c.plain_has_background}};
  if (!c.irn.empty())  // boundary maps from a network (the records of --boundary runs unchanged)
    j["irn"] = c.irn;
  return j;
}

/// The ids to label: --list, else with --irn and --split the split's, else every CAM file.
std::vector<std::string> ids_to_label(const IrnLabelsCommand& c, const Dataset* dataset) {
  if (c.list.empty() && dataset != nullptr && !c.split.empty())
    return unique_ids(dataset->ids);
  return resolve_ids(c.list, c.cams, kCamFiles);
}

int run_irn_labels(const IrnLabelsCommand& c, const NetworkBoundary& network) {
  validate(c);
  PM_CHECK(c.irn.empty() || network,
           "--irn needs the nn module (pseudomask_nn_commands.so, a build with libtorch)");
  const LabelPngColors colors = palette_flag(c.palette);
  Dataset dataset;
  BoundaryFn boundary_of = boundary_files(c.boundary);
  WalkFn walk;  // core's
  if (!c.irn.empty()) {
    // The split names the images' folder for some layouts (COCO); without one, --list or VOC's
    // train list does.
    const std::string split = !c.split.empty() ? c.split : !c.list.empty() ? c.list : "train";
    dataset = open_dataset(parse_dataset_layout(c.layout), c.dataset, split);
    NetworkSource source = network(c, dataset);
    boundary_of = std::move(source.boundary);
    walk = std::move(source.walk);
  }
  const auto ids = ids_to_label(c, c.irn.empty() ? nullptr : &dataset);
  if (!c.boundary_out.empty())
    fs::create_directories(c.boundary_out);
  const ResumeRecord record(c.out, "irn-labels", settings_json(c), c.batch);
  const BatchReport report = run_batch(
      "irn-labels",
      ids,
      c.batch,
      [&](const std::string& id) {
        return c.boundary_out.empty()
                   ? record.complete({label_output(c, id)})
                   : record.complete({label_output(c, id), boundary_output(c, id)});
      },
      [&](const std::string& id) { walk_one(c, boundary_of, walk, colors, id); });
  nlohmann::json summary = settings_json(c);
  summary.update({{"cams", c.cams},
                  {"boundary", c.boundary},
                  {"dataset", c.dataset},
                  {"boundary_out", c.boundary_out}});
  write_batch_summary(summary_path(c.out, "irn-labels", c.batch), report, summary);
  print_batch_line("irn-labels", "written", report, c.out);
  return report.exit_status();
}

}  // namespace

void add_irn_labels_command(CLI::App& app, int& exit_code) {
  add_irn_labels_subcommand(app, exit_code, {});
}

void add_irn_labels_subcommand(CLI::App& app, int& exit_code, NetworkBoundary network) {
  auto c = std::make_shared<IrnLabelsCommand>();
  CLI::App* sub = app.add_subcommand(
      "irn-labels", "IRN's random walk: CAMs and class-boundary maps to label PNGs");
  sub->footer(batch_footer(
      "IRN (Ahn, Cho & Kwak, CVPR 2019) as its make_sem_seg_labels step computes it. Per id:\n"
      "the CAM file's stride-4 maps (IRN layout: 'cam', or 'high_res' resized to ceil(H/4) x\n"
      "ceil(W/4)) and <boundary>/<id>.npy ((h, w) floats in [0, 1]) or .png (8-bit, B*255) at\n"
      "that size, or with --irn MODEL (train-irn's model.pth, or the public IRN code's\n"
      "res50_irn.pth) the network's boundary map of\n"
      "the image <dataset>/<id> (the image and its flip, as IRN's inference). Affinities\n"
      "a_ij = (1 - max boundary on the path i..j)^beta for pairs within --radius, the\n"
      "transition matrix T (columns normalised), the maps times (1 - B) walked\n"
      "2^--exp-times steps (T stays sparse: a few MB at VOC size where IRN's dense matrix needs\n"
      "hundreds), upsampled x4 (bilinear), cropped to the image, divided by their maximum; a\n"
      "background plane at --bg-threshold; argmax; class key k -> label k+1.\n"
      "Writes <out>/<id>.png (8-bit grayscale; --palette voc for colours),\n"
      "<out>/irn-labels_summary.json and, with --boundary-out DIR, DIR/<id>.png (round(255 B),\n"
      "which --boundary reads back). --irn runs in the nn module; the network's inference is\n"
      "serialised (on --device, --threads torch threads), the walks run on --jobs threads.\n\n"
      "Examples:\n"
      "  pseudomask irn-labels --cams cams/orand --irn runs/irn/model.pth --dataset VOC2012\n"
      "      --boundary-out irn/boundary --out masks/irn\n"
      "  pseudomask irn-labels --cams cams/orand --boundary irn/boundary --out masks/irn"));
  sub->add_option("--cams", c->cams, "CAM folder (<id>.npy / .npz, IRN layout)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--boundary", c->boundary, "Boundary maps (<id>.npy or .png at stride 4)")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--irn", c->irn, "A trained IRN (train-irn's model.pth) computes the boundaries")
      ->check(CLI::ExistingFile);
  sub->add_option("--dataset", c->dataset, "The images of --irn (VOC: the folder of JPEGImages/)")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--layout", c->layout, "--dataset's layout: voc, coco, coco91 or generic")
      ->capture_default_str();
  sub->add_option("--split",
                  c->split,
                  "With --irn: label this split's ids (default: every CAM file, or --list; the "
                  "dataset is opened with --list, else its train split)");
  sub->add_option("--boundary-out", c->boundary_out, "Also write the boundary maps (<id>.png)");
  sub->add_option(
         "--device", c->device, "--irn: the network's and the walk's device (cpu, cuda or cuda:N)")
      ->capture_default_str();
  sub->add_option("--threads", c->threads, "--irn's torch threads (0 = torch's default)")
      ->capture_default_str();
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
  sub->callback([c, network, &exit_code] { exit_code = run_irn_labels(*c, network); });
}

}  // namespace pm::cli
