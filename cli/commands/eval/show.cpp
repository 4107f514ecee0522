// SPDX-License-Identifier: MIT
// `pseudomask show`: overlays of label maps, CAMs and URN weights, per image or as a contact sheet.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include "commands/commands.h"
#include "common/batch.h"
#include "common/report.h"
#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/image_id.h"
#include "pseudomask/core/common/resize.h"
#include "pseudomask/core/datasets/classes.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/urn/urn_png.h"
#include "pseudomask/core/vis/annotate.h"
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
  /// Panel height in pixels (widths keep the aspect ratio); -1: kSheetPanelHeight on a contact
  /// sheet, the image's own size per image; 0: always the image's own size.
  int panel_height = -1;
  std::string out;  ///< a folder (one PNG per image) or a .png (contact sheet)
  BatchOptions batch;
};

bool is_sheet(const ShowCommand& c) {
  const std::string ext = fs::path(c.out).extension().string();
  return ext == ".png" || ext == ".PNG";
}

/// The default panel height of a contact sheet: every strip's panels the same height, so that
/// rows of portrait and landscape images line up.
constexpr int kSheetPanelHeight = 240;

/// The height every panel is scaled to, or 0 for the image's own size.
int panel_height(const ShowCommand& c) {
  return c.panel_height >= 0 ? c.panel_height : is_sheet(c) ? kSheetPanelHeight : 0;
}

/// `panel` scaled (bilinear) to `height` pixels, its width keeping the aspect ratio; as it is
/// when height is 0 or already its height.
RgbImage at_panel_height(const RgbImage& panel, int height) {
  if (height <= 0 || panel.height == height)
    return panel;
  const double w = static_cast<double>(panel.width) * height / panel.height;
  return resize_bilinear(panel, std::max(1, static_cast<int>(std::lround(w))), height);
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

/// What labels a strip's panels and legend.
struct ShowNames {
  std::vector<std::string> classes;  ///< label id → name
  std::string source;                ///< where they came from
};

/// The class names of the pictures: the dataset's classes.txt beside --gt (or in --dataset),
/// else VOC's.
ShowNames show_names(const ShowCommand& c) {
  DatasetClasses found = find_dataset_classes(!c.gt.empty() ? c.gt : c.images);
  if (found.names.empty())
    return {voc_class_names(), "VOC (no classes.txt beside the ground truth)"};
  return {std::move(found.names), found.source};
}

std::string class_name(const ShowNames& names, int label) {
  return static_cast<size_t>(label) < names.classes.size()
             ? names.classes[static_cast<size_t>(label)]
             : "label " + std::to_string(label);
}

/// The column title of a label folder: its last path component.
std::string folder_title(const std::string& dir) {
  const fs::path p = fs::path(dir).lexically_normal();
  const std::string name = (p.has_filename() ? p : p.parent_path()).filename().string();
  return name.empty() ? dir : name;
}

/// The labels of `maps` (255 excluded) in ascending order, as legend entries.
std::vector<std::pair<std::string, std::array<uint8_t, 3>>> legend_entries(
    const std::vector<LabelMap>& maps, const ShowNames& names) {
  std::array<bool, 256> present{};
  for (const LabelMap& m : maps)
    for (uint8_t v : m.labels)
      present[v] = true;
  std::vector<std::pair<std::string, std::array<uint8_t, 3>>> out;
  for (int l = 0; l < 255; ++l) {
    if (present[static_cast<size_t>(l)])
      out.emplace_back(class_name(names, l), voc_palette()[static_cast<size_t>(l)]);
  }
  if (present[kIgnoreLabel])
    out.emplace_back("ignore (255)", voc_palette()[kIgnoreLabel]);
  return out;
}

/// One image's strip: titled panels left to right (the image with its id, ground truth, each
/// label folder, one heat map per CAM class, the uncertainty over the image), then a legend of
/// the classes in its label maps and a colour bar when it has heat maps.
RgbImage make_strip(const ShowCommand& c, const ShowNames& names, const std::string& id) {
  const RgbImage image = read_image(find_image(c.images, id));
  const int height = panel_height(c);
  const RgbImage shown = at_panel_height(image, height);
  // Text sized by the panel height when panels share one, so that every strip's titles match.
  const int scale = text_scale_for(height > 0 ? height : std::max(shown.width, shown.height));
  auto titled = [scale, height](const RgbImage& panel, const std::string& title) {
    return with_title(at_panel_height(panel, height), title, scale);
  };
  std::vector<RgbImage> panels{titled(image, id)};
  std::vector<LabelMap> maps;
  if (!c.gt.empty()) {
    maps.push_back(read_labels_for(c.gt, id, image, "ground truth"));
    panels.push_back(titled(blend_labels(image, maps.back(), c.alpha), "ground truth"));
  }
  for (const std::string& dir : c.labels) {
    maps.push_back(read_labels_for(dir, id, image, "label map"));
    panels.push_back(titled(blend_labels(image, maps.back(), c.alpha), folder_title(dir)));
  }
  std::string heat;  // what the heat maps show, for the colour bar
  if (!c.cams.empty()) {
    const std::string path = find_input(c.cams, id, {".npy", ".npz"}, "CAM file");
    try {
      const CamFile cams = read_cam_file(path);
      std::vector<RgbImage> heat_panels = cam_panels(image, cams);
      for (size_t k = 0; k < heat_panels.size(); ++k)
        panels.push_back(titled(heat_panels[k], "CAM " + class_name(names, cams.keys[k] + 1)));
      if (!heat_panels.empty())
        heat = "CAM";
    } catch (const Error& e) {
      const std::string msg = e.what();
      throw Error(msg.rfind(path, 0) == 0 ? msg : with_context(path, msg));
    }
  }
  if (!c.weights.empty()) {
    const Planes u = uncertainty_map(read_weights_for(c.weights, id, image));
    panels.push_back(titled(blend_heatmap(image, u, c.alpha), "uncertainty 1-w"));
    heat += heat.empty() ? "uncertainty" : " / uncertainty";
  }
  RgbImage row = hstack(panels);
  std::vector<RgbImage> parts{row};
  if (!maps.empty())
    parts.push_back(legend(legend_entries(maps, names), row.width, scale));
  if (!heat.empty())
    parts.push_back(jet_colour_bar(std::min(row.width, 160 * scale), "0", "1", heat, scale));
  return vstack(parts);
}

std::vector<std::string> show_ids(const ShowCommand& c) {
  check_image_ids(c.ids, "--ids");
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
    cols.push_back("uncertainty 1-w over the image:" + c.weights);
  return cols;
}

/// A contact sheet's file with extension `ext`: beside --out with its stem, and ".shardI-N" after
/// the stem with --shard, so that the shards of one --out do not overwrite each other's sheet.
std::string sheet_file(const ShowCommand& c, const std::string& ext) {
  std::string tag = c.batch.shard;
  std::replace(tag.begin(), tag.end(), '/', '-');
  const fs::path out(c.out);
  return (out.parent_path() / (out.stem().string() + (tag.empty() ? "" : ".shard" + tag) + ext))
      .string();
}

int run_show(ShowCommand& c) {
  apply_dataset(c);
  PM_CHECK(!c.images.empty(), "give --images or --dataset");
  PM_CHECK(c.alpha >= 0 && c.alpha <= 255, "--alpha {}: expected 0 to 255", c.alpha);
  PM_CHECK(c.per_row >= 0, "--per-row {}: expected 0 or more", c.per_row);
  PM_CHECK(c.panel_height == -1 || c.panel_height == 0 || c.panel_height >= 16,
           "--panel-height {}: expected 0 (the images' own size) or at least 16 pixels",
           c.panel_height);
  std::vector<std::string> inputs{c.images, c.gt, c.cams, c.weights};
  inputs.insert(inputs.end(), c.labels.begin(), c.labels.end());
  check_out_is_no_input(c.out, inputs);
  const std::vector<std::string> ids = show_ids(c);
  const ShowNames names = show_names(c);
  const bool sheet = is_sheet(c);
  std::vector<RgbImage> strips(ids.size());
  std::vector<char> made(ids.size(), 0);
  std::map<std::string, size_t> slot;
  for (size_t i = 0; i < ids.size(); ++i)
    slot.emplace(ids[i], i);
  auto output = [&](const std::string& id) { return c.out + "/" + id + ".png"; };
  // Per-image strips resume; a contact sheet is drawn whole each time.
  std::optional<ResumeRecord> record;
  if (!sheet)
    record.emplace(
        c.out,
        "show",
        nlohmann::json{
            {"columns", columns_json(c)}, {"alpha", c.alpha}, {"panel_height", panel_height(c)}},
        c.batch);
  const BatchReport report = run_batch(
      "show",
      ids,
      c.batch,
      [&](const std::string& id) { return record && record->complete({output(id)}); },
      [&](const std::string& id) {
        RgbImage strip = make_strip(c, names, id);
        if (sheet) {
          const size_t i = slot.at(id);
          strips[i] = std::move(strip);
          made[i] = 1;
        } else {
          write_png_rgb(output(id), strip);
        }
      });
  std::string summary = summary_path(c.out, "show", c.batch);
  std::string output_path = c.out;
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
    output_path = sheet_file(c, fs::path(c.out).extension().string());
    write_png_rgb(output_path, grid(cells, per_row));
    summary = sheet_file(c, ".json");
  }
  write_batch_summary(summary,
                      report,
                      {{"columns", columns_json(c)},
                       {"classes", names.source},
                       {"output", output_path},
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
      "One strip per image, each panel titled, left to right: the image (titled with its id); "
      "--gt\n"
      "and each --labels folder (titled with the folder's name) as VOC palette colours blended\n"
      "over the image (--alpha); one jet heat map per CAM class key (--cams: any CAM file\n"
      "`inspect` reads; high_res, or cam resized to the image; titled with the class name); the\n"
      "URN uncertainty 1 - w as a jet map over the image (--weights: the official 3-channel PNG,\n"
      "G = R = w*255, or a single-channel weight PNG), as in URN's Fig. 1. Under the panels: a\n"
      "legend of the classes in the label maps with their colours, and a colour bar (0 to 1) when\n"
      "there are heat maps. Class names come from the dataset's classes.txt beside --gt, else\n"
      "VOC's. Files are matched by id.\n"
      "--out DIR writes <DIR>/<id>.png and show_summary.json; --out FILE.png writes one contact\n"
      "sheet (strips in a grid of --per-row) and FILE.json beside it (FILE.shardI-N.png and .json "
      "with\n"
      "--shard I/N, show_summary.shardI-N.json in a folder).\n\n"
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
  sub->add_option("--panel-height",
                  c->panel_height,
                  "Panel height in pixels, widths keeping the aspect ratio (default: 240 on a "
                  "contact sheet, so rows of portrait and landscape images line up; the images' "
                  "own size per image; 0: always their own size)");
  sub->add_option("--out", c->out, "Output folder, or a .png for one contact sheet")->required();
  add_batch_flags(sub, c->batch);
  sub->callback([c, &exit_code] { exit_code = run_show(*c); });
}

}  // namespace pm::cli
