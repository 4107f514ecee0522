// SPDX-License-Identifier: MIT
// `pseudomask show`: overlays of label maps, CAMs and URN weights, per image or as a contact sheet.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "commands/commands.h"
#include "common/batch.h"
#include "common/report.h"
#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/urn/urn_png.h"
#include "pseudomask/core/vis/layout.h"
#include "pseudomask/core/vis/overlay.h"

namespace fs = std::filesystem;

namespace pm::cli {
namespace {

/// Flags of `pseudomask show`.
struct ShowCommand {
  std::string dataset;              ///< VOC-layout root: sets --images, --gt and the list
  std::string split = "train";      ///< --dataset: the split list
  std::string images;               ///< RGB images (<id>.jpg / .png)
  std::string gt;                   ///< ground-truth label PNGs
  std::vector<std::string> labels;  ///< more label PNG folders (pseudo-masks, predictions)
  std::string cams;                 ///< CAM files (<id>.npy / .npz), one panel per class key
  std::string weights;              ///< URN weight PNGs (official 3-channel or single-channel)
  std::string list;                 ///< id list file
  std::vector<std::string> ids;     ///< ids given on the command line
  int count = 0;                    ///< first N ids only (0 = all)
  int per_row = 0;                  ///< sheet: images per row (0 = 4 for narrow strips, else 1)
  int alpha = kOverlayAlpha;        ///< overlay colour weight 0..255
  std::string out;                  ///< a folder (one PNG per image) or a .png (contact sheet)
  BatchOptions batch;
};

bool is_sheet(const ShowCommand& c) {
  const std::string ext = fs::path(c.out).extension().string();
  return ext == ".png" || ext == ".PNG";
}

void check_same_size(const std::string& path, int w, int h, const RgbImage& image) {
  PM_CHECK(w == image.width && h == image.height,
           "{}: is {}x{}, the image is {}x{}",
           path,
           w,
           h,
           image.width,
           image.height);
}

LabelMap read_labels_for(const std::string& dir,
                         const std::string& id,
                         const RgbImage& image,
                         const char* what) {
  const std::string path = find_input(dir, id, {".png"}, what);
  LabelMap labels = read_label_png(path);
  check_same_size(path, labels.width, labels.height, image);
  return labels;
}

/// The weight map of a URN weight PNG (read_weight_png: gray, or an official file's R = G).
WeightMap read_weights_for(const std::string& dir, const std::string& id, const RgbImage& image) {
  const std::string path = find_input(dir, id, {".png"}, "weight map");
  WeightMap w = read_weight_png(path);
  check_same_size(path, w.width, w.height, image);
  return w;
}

/// The panels of one image, left to right: image, ground truth, each label folder, each CAM
/// class, uncertainty.
RgbImage make_strip(const ShowCommand& c, const std::string& id) {
  const RgbImage image = read_image(find_image(c.images, id));
  std::vector<RgbImage> panels{image};
  if (!c.gt.empty())
    panels.push_back(
        blend_labels(image, read_labels_for(c.gt, id, image, "ground truth"), c.alpha));
  for (const std::string& dir : c.labels)
    panels.push_back(blend_labels(image, read_labels_for(dir, id, image, "label map"), c.alpha));
  if (!c.cams.empty()) {
    const std::string path = find_input(c.cams, id, {".npy", ".npz"}, "CAM file");
    try {
      for (RgbImage& p : cam_panels(image, read_cam_file(path)))
        panels.push_back(std::move(p));
    } catch (const Error& e) {
      const std::string msg = e.what();
      throw Error(msg.rfind(path, 0) == 0 ? msg : with_context(path, msg));
    }
  }
  if (!c.weights.empty())
    panels.push_back(uncertainty_panel(read_weights_for(c.weights, id, image)));
  return hstack(panels);
}

std::vector<std::string> show_ids(const ShowCommand& c) {
  std::vector<std::string> ids = unique_ids(c.ids);
  if (ids.empty())
    ids = resolve_ids(c.list, c.images, {".jpg", ".jpeg", ".png"});
  if (c.count > 0 && static_cast<size_t>(c.count) < ids.size())
    ids.resize(static_cast<size_t>(c.count));
  return ids;
}

void apply_dataset(ShowCommand& c) {
  if (c.dataset.empty())
    return;
  const fs::path root(c.dataset);
  PM_CHECK(fs::is_directory(root / "JPEGImages"),
           "{}: not a VOC-layout dataset (no JPEGImages/)",
           c.dataset);
  if (c.images.empty())
    c.images = (root / "JPEGImages").string();
  if (c.gt.empty() && fs::is_directory(root / "SegmentationClass"))
    c.gt = (root / "SegmentationClass").string();
  if (c.list.empty() && c.ids.empty()) {
    const fs::path list = root / "ImageSets" / "Segmentation" / (c.split + ".txt");
    PM_CHECK(fs::is_regular_file(list), "{}: no such split list", list.string());
    c.list = list.string();
  }
}

nlohmann::json columns_json(const ShowCommand& c) {
  nlohmann::json cols = nlohmann::json::array({"image"});
  if (!c.gt.empty())
    cols.push_back("gt:" + c.gt);
  for (const auto& d : c.labels)
    cols.push_back("labels:" + d);
  if (!c.cams.empty())
    cols.push_back("cams (one panel per class key):" + c.cams);
  if (!c.weights.empty())
    cols.push_back("uncertainty 1-w:" + c.weights);
  return cols;
}

int run_show(ShowCommand& c) {
  apply_dataset(c);
  PM_CHECK(!c.images.empty(), "give --images or --dataset");
  PM_CHECK(c.alpha >= 0 && c.alpha <= 255, "--alpha {}: expected 0 to 255", c.alpha);
  PM_CHECK(c.per_row >= 0, "--per-row {}: expected 0 or more", c.per_row);
  const std::vector<std::string> ids = show_ids(c);
  const bool sheet = is_sheet(c);
  std::vector<RgbImage> strips(ids.size());
  std::vector<char> made(ids.size(), 0);
  std::map<std::string, size_t> slot;
  for (size_t i = 0; i < ids.size(); ++i)
    slot.emplace(ids[i], i);
  auto output = [&](const std::string& id) { return c.out + "/" + id + ".png"; };
  const BatchReport report = run_batch(
      "show",
      ids,
      c.batch,
      [&](const std::string& id) { return !sheet && fs::exists(output(id)); },
      [&](const std::string& id) {
        RgbImage strip = make_strip(c, id);
        if (sheet) {
          const size_t i = slot.at(id);
          strips[i] = std::move(strip);
          made[i] = 1;
        } else {
          write_png_rgb(output(id), strip);
        }
      });
  std::string summary = summary_path(c.out, "show", c.batch);
  size_t panels_per_row = 0;
  if (sheet) {
    std::vector<RgbImage> cells;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (made[i])
        cells.push_back(std::move(strips[i]));
    }
    PM_CHECK(!cells.empty(), "{}: no image could be drawn", c.out);
    int per_row = c.per_row;
    if (per_row == 0)
      per_row = cells[0].width <= 3 * cells[0].height + 8 ? 4 : 1;
    panels_per_row = static_cast<size_t>(per_row);
    write_png_rgb(c.out, grid(cells, per_row));
    summary =
        (fs::path(c.out).parent_path() / (fs::path(c.out).stem().string() + ".json")).string();
  }
  write_batch_summary(summary,
                      report,
                      {{"columns", columns_json(c)},
                       {"output", c.out},
                       {"contact_sheet", sheet},
                       {"images_per_row", panels_per_row}});
  print_batch_line("show", "drawn", report, c.out);
  return report.exit_status();
}

}  // namespace

void add_show_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<ShowCommand>();
  CLI::App* sub = app.add_subcommand(
      "show", "Draw overlays: label maps, CAM heat maps, URN uncertainty; per image or a sheet");
  sub->footer(batch_footer(
      "One strip per image, panels left to right: the image; --gt and each --labels folder as VOC\n"
      "palette colours blended over the image (--alpha); one jet heat map per CAM class key\n"
      "(--cams: any CAM file `inspect` reads; high_res, or cam resized to the image); the URN\n"
      "uncertainty 1 - w as a jet map (--weights: the official 3-channel PNG, G = R = w*255, or a\n"
      "single-channel weight PNG), as in URN's Fig. 1. Files are matched by id.\n"
      "--out DIR writes <DIR>/<id>.png and show_summary.json; --out FILE.png writes one contact\n"
      "sheet (strips in a grid of --per-row) and FILE.json beside it.\n\n"
      "Examples:\n"
      "  pseudomask show --dataset data/synth --split train --count 16 --out sheet.png\n"
      "  pseudomask show --images VOC2012/JPEGImages --gt VOC2012/SegmentationClass \\\n"
      "      --labels out/pseudo --weights out/urn_weights --list val.txt --count 8 --out fig.png\n"
      "  pseudomask show --images VOC2012/JPEGImages --cams out/cams --out out/cam_overlays"));
  sub->add_option("--dataset", c->dataset, "VOC-layout root: images, ground truth and split list")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--split", c->split, "--dataset: split list name")->capture_default_str();
  sub->add_option("--images", c->images, "RGB image folder")->check(CLI::ExistingDirectory);
  sub->add_option("--gt", c->gt, "Ground-truth label PNG folder")->check(CLI::ExistingDirectory);
  sub->add_option("--labels", c->labels, "Label PNG folder (repeatable): pseudo-masks, predictions")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--cams", c->cams, "CAM folder (<id>.npy / .npz)")->check(CLI::ExistingDirectory);
  sub->add_option("--weights", c->weights, "URN weight PNG folder")->check(CLI::ExistingDirectory);
  sub->add_option("--list", c->list, "Image-id list (default: every image)")
      ->check(CLI::ExistingFile);
  sub->add_option("--ids", c->ids, "Image ids (comma-separated)")->delimiter(',');
  sub->add_option("--count", c->count, "Only the first N ids")->check(CLI::NonNegativeNumber);
  sub->add_option("--per-row", c->per_row, "Contact sheet: images per row (default 4 or 1)");
  sub->add_option("--alpha", c->alpha, "Overlay colour weight, 0-255")->capture_default_str();
  sub->add_option("--out", c->out, "Output folder, or a .png for one contact sheet")->required();
  add_batch_flags(sub, c->batch);
  sub->callback([c, &exit_code] { exit_code = run_show(*c); });
}

}  // namespace pm::cli
