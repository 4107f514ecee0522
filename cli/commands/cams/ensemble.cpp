// SPDX-License-Identifier: MIT
// `pseudomask ensemble`: ORANDNet's probabilistic OR / AND (Eq. 1) and the naive mean of two
// CAM sets, written as IRN-layout CAM files.
#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <filesystem>

#include "commands/commands.h"
#include "common/batch.h"
#include "common/flags.h"
#include "common/report.h"
#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/ensemble/ensemble.h"

namespace fs = std::filesystem;

namespace pm::cli {
namespace {

/// CAM file extensions the command reads, in the order they are looked for.
const std::vector<std::string> kCamExtensions = {".npy", ".npz"};

/// Flags of `pseudomask ensemble`.
struct EnsembleCommand {
  std::string cams1;                  ///< first CAM set (the CNN's, e.g. ResNet-50)
  std::string cams2;                  ///< second CAM set (the ViT's; --official shifts it)
  std::string out;                    ///< output folder: <id>.npy in the IRN layout
  std::string list;                   ///< optional id list (default: every file of --cams1)
  std::string mode = "or";            ///< or | and | mean
  bool official = false;              ///< reproduce the official code (see the footer)
  std::string low_res = "combine";    ///< combine | downsample | none
  bool plain_has_background = false;  ///< plain (C,H,W) arrays carry a background channel 0
  BatchOptions batch;
};

/// The one place the flags are checked; throws naming the bad flag.
EnsembleOptions validate(const EnsembleCommand& c) {
  EnsembleOptions o;
  o.mode = ensemble_mode_flag("--mode", c.mode);
  o.official = c.official;
  o.low_res = low_res_policy_flag("--low-res", c.low_res);
  check_out_is_no_input(c.out, {c.cams1, c.cams2});
  return o;
}

int run_ensemble(const EnsembleCommand& c) {
  const EnsembleOptions options = validate(c);
  const auto ids = resolve_ids(c.list, c.cams1, kCamExtensions);
  CamReadOptions read_options;
  read_options.plain_has_background = c.plain_has_background;
  auto output = [&](const std::string& id) { return c.out + "/" + id + ".npy"; };
  std::atomic<size_t> resized{0};
  const ResumeRecord record(c.out,
                            "ensemble",
                            {{"mode", ensemble_mode_name(options.mode)},
                             {"official", options.official},
                             {"low_res", low_res_policy_name(options.low_res)},
                             {"plain_has_background", c.plain_has_background}},
                            c.batch);
  const BatchReport report = run_batch(
      "ensemble",
      ids,
      c.batch,
      [&](const std::string& id) { return record.complete({output(id)}); },
      [&](const std::string& id) {
        const std::string path1 = find_input(c.cams1, id, kCamExtensions, "CAM file");
        const std::string path2 = find_input(c.cams2, id, kCamExtensions, "CAM file");
        bool was_resized = false;
        const CamFile result = ensemble_cams(read_cam_file(path1, read_options),
                                             read_cam_file(path2, read_options),
                                             options,
                                             path1,
                                             path2,
                                             &was_resized);
        write_cam_file(output(id), result);
        resized += was_resized;
      });
  write_batch_summary(summary_path(c.out, "ensemble", c.batch),
                      report,
                      {{"mode", ensemble_mode_name(options.mode)},
                       {"official", options.official},
                       {"low_res", low_res_policy_name(options.low_res)},
                       {"cams1", c.cams1},
                       {"cams2", c.cams2},
                       {"images_resized", resized.load()}});
  print_batch_line(fmt::format("ensemble ({}{})",
                               ensemble_mode_name(options.mode),
                               options.official ? ", official" : ""),
                   "written",
                   report,
                   c.out,
                   fmt::format("{} resized", resized.load()));
  return report.exit_status();
}

}  // namespace

void add_ensemble_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<EnsembleCommand>();
  CLI::App* sub = app.add_subcommand(
      "ensemble", "Combine two CAM sets: probabilistic OR / AND (ORANDNet Eq. 1) or the mean");
  sub->footer(batch_footer(
      "Per image <id>, the CAM files of --cams1 and --cams2 (IRN, AMN, MCTformer, plain "
      ".npy/.npz)\n"
      "are matched by id and their channels by class key (different key sets are an error). Where\n"
      "sizes differ, the second is resized bilinearly to the first.\n"
      "Modes (ORANDNet Eq. 1): or = c1 + c2 - c1*c2, and = c1*c2, mean = (c1 + c2)/2, each divided "
      "by\n"
      "its per-class spatial maximum (a class whose maximum is 0 stays 0).\n"
      "--official reproduces github.com/engineerJPark/ORANDNet: 0.15 is added to the second CAM, "
      "OR\n"
      "and AND are not normalised, mean is simple_addition.py's ReLU((c1 + c2 + 0.15)/2)/(max + "
      "1e-5).\n"
      "Output: <out>/<id>.npy in the IRN layout {keys, high_res, cam} (np.load(f, "
      "allow_pickle=True)\n"
      ".item() reads it) and <out>/ensemble_summary.json. high_res is combined at the first set's\n"
      "size; the stride-4 cam is combined from the inputs' cams when both have one (--low-res\n"
      "combine), downsampled from the combined high_res as make_orand.py does (downsample), or "
      "left\n"
      "out (none).\n"
      "\n"
      "Example:\n"
      "  pseudomask ensemble --cams1 cams/resnet --cams2 cams/vit --mode and --out cams/and --jobs "
      "8"));
  sub->add_option("--cams1", c->cams1, "First CAM folder (e.g. the CNN's)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--cams2", c->cams2, "Second CAM folder (e.g. the ViT's)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--out", c->out, "Output folder")->required();
  sub->add_option("--mode", c->mode, "or, and or mean")->capture_default_str();
  sub->add_flag("--official", c->official, "Reproduce the official ORANDNet code (see below)");
  sub->add_option("--low-res", c->low_res, "The stride-4 cam: combine, downsample or none")
      ->capture_default_str();
  sub->add_option("--list", c->list, "Image-id list (default: every file in --cams1)")
      ->check(CLI::ExistingFile);
  sub->add_flag("--plain-has-background",
                c->plain_has_background,
                "Plain (C,H,W) arrays have a background channel 0 (dropped)");
  add_batch_flags(sub, c->batch);
  sub->callback([c, &exit_code] { exit_code = run_ensemble(*c); });
}

}  // namespace pm::cli
