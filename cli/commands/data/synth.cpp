// SPDX-License-Identifier: MIT
// `pseudomask synth`: the built-in synthetic WSSS dataset, in the PASCAL VOC layout.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "commands/commands.h"
#include "common/batch.h"
#include "common/flags.h"
#include "common/report.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/parallel.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/synth/synth.h"
#include "pseudomask/core/synth/write.h"
#include "pseudomask/core/vis/layout.h"

namespace fs = std::filesystem;

namespace pm::cli {
namespace {

/// Flags of `pseudomask synth`.
struct SynthCommand {
  std::string out;               ///< dataset root (VOC layout)
  std::string palette = "none";  ///< colours of the mask PNGs: none | voc
  SynthOptions options;          ///< seed, sizes, rates
  double context_rate = 0.9;     ///< P(context | its class), 0..1
  double spurious_rate = 0.1;    ///< P(context | not its class), 0..1
  std::string contact_sheet;     ///< optional PNG of the first training samples with masks
  int sheet_count = 16;          ///< samples on the contact sheet
  BatchOptions batch;
};

int permille(double rate, const char* flag) {
  PM_CHECK(rate >= 0.0 && rate <= 1.0, "{} {}: expected a rate between 0 and 1", flag, rate);
  return static_cast<int>(std::lround(rate * 1000.0));
}

nlohmann::json stats_json(const SynthStats& s) {
  const auto& classes = synth_classes();
  const auto names = synth_class_names();
  nlohmann::json per_class = nlohmann::json::object();
  for (size_t c = 0; c < classes.size(); ++c) {
    per_class[classes[c].name] = {
        {"images", s.class_images[c]},
        {"image_frequency",
         s.images ? static_cast<double>(s.class_images[c]) / static_cast<double>(s.images) : 0.0},
        {"pixel_share", s.label_pixel_share[c + 1]}};
  }
  nlohmann::json contexts = nlohmann::json::array();
  for (const SynthContextRate& r : s.contexts) {
    const size_t bit = r.context == kContextSky ? 0 : r.context == kContextWater ? 1 : 2;
    contexts.push_back(
        {{"class", classes[static_cast<size_t>(r.class_id)].name},
         {"context", synth_context_names()[bit]},
         {"images_with_class", r.with_class},
         {"rate_with_class",
          r.with_class ? static_cast<double>(r.with_class_and_context) / r.with_class : 0.0},
         {"images_without_class", r.without_class},
         {"rate_without_class",
          r.without_class ? static_cast<double>(r.without_class_with_context) / r.without_class
                          : 0.0}});
  }
  return {{"images", s.images},
          {"mean_classes_per_image", s.mean_classes},
          {"mean_objects_per_image", s.mean_objects},
          {"background_pixel_share", s.label_pixel_share[0]},
          {"classes", per_class},
          {"context_cooccurrence", contexts}};
}

/// synth.json: the configuration, the class table and the label statistics. No timings, so the
/// file is identical for the same flags.
/// The generator's settings: the summary's "config" and what --resume checks (ResumeRecord).
nlohmann::json config_json(const SynthOptions& o) {
  return {{"seed", o.seed},
          {"train", o.train},
          {"val", o.val},
          {"size", o.size},
          {"context_rate", o.context_permille / 1000.0},
          {"spurious_context_rate", o.spurious_context_permille / 1000.0},
          {"max_objects", o.max_objects}};
}

nlohmann::json summary_json(const SynthCommand& c,
                            const std::vector<SynthRecord>& records,
                            const BatchReport& report) {
  const SynthOptions& o = c.options;
  nlohmann::json classes = nlohmann::json::array();
  const auto expected = expected_class_frequencies(o);
  for (size_t i = 0; i < synth_classes().size(); ++i) {
    const SynthClass& k = synth_classes()[i];
    std::string context;
    for (size_t bit = 0; bit < synth_context_names().size(); ++bit) {
      if (k.context == (1u << bit))
        context = synth_context_names()[bit];
    }
    classes.push_back({{"id", i},
                       {"label", i + 1},
                       {"name", k.name},
                       {"weight", k.weight},
                       {"context", context.empty() ? nlohmann::json() : nlohmann::json(context)},
                       {"expected_image_frequency", expected[i]},
                       {"look", k.look},
                       {"difficulty", k.difficulty}});
  }
  return {{"generator", "pseudomask synth"},
          {"config", config_json(o)},
          {"layout",
           {{"images", "JPEGImages/<id>.png"},
            {"masks", "SegmentationClass/<id>.png"},
            {"lists", "ImageSets/Segmentation/{train,val,trainval}.txt"},
            {"class_names", "classes.txt"},
            {"image_labels", "cls_labels.npy"}}},
          {"num_classes", synth_class_names().size()},
          {"classes", classes},
          {"statistics",
           {{"train", stats_json(synth_statistics(records, "train"))},
            {"val", stats_json(synth_statistics(records, "val"))}}},
          {"images_failed", report.failures.size()}};
}

void write_contact_sheet(const SynthCommand& c, const std::vector<SynthItem>& items) {
  std::vector<RgbImage> images;
  std::vector<LabelMap> masks;
  for (size_t i = 0; i < items.size() && static_cast<int>(i) < c.sheet_count; ++i) {
    SynthSample s = render_synth_sample(c.options, items[i]);
    images.push_back(std::move(s.image));
    masks.push_back(std::move(s.gt));
  }
  write_png_rgb(c.contact_sheet, contact_sheet(images, masks, /*columns=*/4));
}

int run_synth(SynthCommand& c) {
  c.options.context_permille = permille(c.context_rate, "--context-rate");
  c.options.spurious_context_permille = permille(c.spurious_rate, "--spurious-rate");
  c.options.validate();
  PM_CHECK(c.sheet_count >= 1, "--sheet-count {}: expected at least 1", c.sheet_count);
  palette_flag(c.palette);  // a bad --palette fails before any image
  const auto start = std::chrono::steady_clock::now();
  const std::vector<SynthItem> items = synth_items(c.options);
  std::vector<std::string> ids;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < items.size(); ++i) {
    ids.push_back(items[i].id);
    index[items[i].id] = i;
  }
  std::vector<SynthRecord> records(items.size());
  std::vector<char> have(items.size(), 0);
  const ResumeRecord record(c.out, "synth", config_json(c.options), c.batch);
  const BatchReport report = run_batch(
      "synth",
      ids,
      c.batch,
      [&](const std::string& id) {
        return record.complete({synth_image_path(c.out, id), synth_mask_path(c.out, id)});
      },
      [&](const std::string& id) {
        const size_t i = index.at(id);
        const SynthSample sample = render_synth_sample(c.options, items[i]);
        write_synth_sample(c.out, sample, palette_flag(c.palette));
        records[i] = synth_record(sample);
        have[i] = 1;
      });
  // The index covers every image, also those of other shards and those skipped: their labels are
  // rendered again (deterministic, about a millisecond each).
  parallel_for(items.size(), c.batch.jobs, [&](size_t i) {
    if (!have[i])
      records[i] = synth_record(render_synth_sample(c.options, items[i]));
  });
  write_synth_index(c.out, records);
  write_json(c.out + "/synth.json", summary_json(c, records, report));
  if (!c.contact_sheet.empty())
    write_contact_sheet(c, items);
  BatchReport total = report;  // the closing line counts the index and summary too
  total.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_batch_line("synth",
                   "written",
                   total,
                   fmt::format("{} ({} train, {} val, {}x{} px, seed {})",
                               c.out,
                               c.options.train,
                               c.options.val,
                               c.options.size,
                               c.options.size,
                               c.options.seed));
  return report.exit_status();
}

std::string difficulty_text() {
  std::string text = "Classes (label = id + 1; background = 0) and the difficulty each carries:\n";
  for (size_t i = 0; i < synth_classes().size(); ++i) {
    const SynthClass& k = synth_classes()[i];
    text += fmt::format("  {:2d} {:<12} {}\n", i + 1, k.name, k.difficulty);
  }
  return text;
}

}  // namespace

void add_synth_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<SynthCommand>();
  CLI::App* sub = app.add_subcommand(
      "synth", "Generate the built-in synthetic WSSS dataset (VOC layout, deterministic)");
  sub->footer(batch_footer(
      "Writes a small WSSS dataset in the PASCAL VOC layout: JPEGImages/<id>.png (RGB),\n"
      "SegmentationClass/<id>.png (8-bit grayscale, or --palette voc; exact ground truth, no "
      "ignore label),\n"
      "ImageSets/Segmentation/{train,val,trainval}.txt, classes.txt, cls_labels.npy and "
      "synth.json\n"
      "(configuration and label statistics). Integer arithmetic and our own random stream: the "
      "same\n"
      "seed and flags give byte-identical files on any machine and for any --jobs.\n\n"
      "Each image has 1-3 classes and 1-4 objects of varied scale with partial occlusion (every\n"
      "object keeps >= 50% visible), on a cluttered background (mottled gradients, blobs, striped\n"
      "patches, stray lines and rings in colours shared with objects). Context bands (sky, water,\n"
      "grass) are background but appear with their class at --context-rate and without it at\n"
      "--spurious-rate; boat and sheep never share an image. A light blur and sensor grain "
      "follow.\n" +
      difficulty_text() +
      "See docs/synthetic-dataset.md.\n\n"
      "Examples:\n"
      "  pseudomask synth --out data/synth --contact-sheet data/synth/sheet.png\n"
      "  pseudomask synth --out data/synth512 --size 256 --train 10000 --val 1000 --seed 7\n"
      "  pseudomask eval-cam --gt data/synth/SegmentationClass --cams cams --num-classes 11 \\\n"
      "      --classes data/synth/classes.txt --list data/synth/ImageSets/Segmentation/val.txt"));
  sub->add_option("--out", c->out, "Dataset folder to write")->required();
  sub->add_option("--palette", c->palette, palette_help())->capture_default_str();
  sub->add_option("--seed", c->options.seed, "Seed (same seed, same bytes)")->capture_default_str();
  sub->add_option("--train", c->options.train, "Training images")->capture_default_str();
  sub->add_option("--val", c->options.val, "Validation images")->capture_default_str();
  sub->add_option("--size", c->options.size, "Image side in pixels (32-1024)")
      ->capture_default_str();
  sub->add_option("--context-rate", c->context_rate, "P(context band | its class is present)")
      ->capture_default_str();
  sub->add_option("--spurious-rate", c->spurious_rate, "P(context band | its class is absent)")
      ->capture_default_str();
  sub->add_option("--max-objects", c->options.max_objects, "Objects per image at most (1-4)")
      ->capture_default_str();
  sub->add_option("--contact-sheet",
                  c->contact_sheet,
                  "Also write a PNG of the first training samples: image | mask | overlay");
  sub->add_option("--sheet-count", c->sheet_count, "Samples on the contact sheet")
      ->capture_default_str();
  add_batch_flags(sub, c->batch);
  sub->callback([c, &exit_code] { exit_code = run_synth(*c); });
}

}  // namespace pm::cli
