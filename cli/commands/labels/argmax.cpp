// SPDX-License-Identifier: MIT
// `pseudomask argmax`: label PNGs from probability maps by their plain argmax.
#include <filesystem>

#include "commands/commands.h"
#include "common/batch.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/labels/argmax.h"

namespace fs = std::filesystem;

namespace pm::cli {
namespace {

/// Flags of `pseudomask argmax`.
struct ArgmaxCommand {
  std::string probs;  ///< probability maps (<id>.npy, (C,H,W))
  std::string out;    ///< output folder: <id>.png label maps
  std::string list;   ///< optional id list
  BatchOptions batch;
};

int run_argmax(const ArgmaxCommand& c) {
  check_out_is_no_input(c.out, {c.probs});
  const auto ids = resolve_ids(c.list, c.probs, {".npy", ".npz"});
  auto output = [&](const std::string& id) { return c.out + "/" + id + ".png"; };
  const BatchReport report = run_batch(
      "argmax",
      ids,
      c.batch,
      [&](const std::string& id) { return fs::exists(output(id)); },
      [&](const std::string& id) {
        const std::string path = find_input(c.probs, id, {".npy", ".npz"}, "probability map");
        write_label_png(output(id), argmax_probability_file(path));
      });
  write_batch_summary(summary_path(c.out, "argmax", c.batch), report, {{"probs", c.probs}});
  print_batch_line("argmax", "labelled", report, c.out);
  return report.exit_status();
}

}  // namespace

void add_argmax_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<ArgmaxCommand>();
  CLI::App* sub = app.add_subcommand(
      "argmax", "Label PNGs from probability maps by their plain argmax (no CRF)");
  sub->footer(batch_footer(
      "Each <probs>/<id>.npy or one-array .npz (float16/32/64, (C,H,W): probabilities or logits,\n"
      "label l = plane l) becomes <out>/<id>.png with the label of its largest plane per pixel; "
      "the lowest label\n"
      "wins ties, as np.argmax does. Nothing is clipped or smoothed (for CRF refinement use\n"
      "`pseudomask crf --probs`). `pseudomask eval --probs DIR` scores the same labels "
      "directly.\n\n"
      "Example:\n  pseudomask argmax --probs out/probs --out out/argmax --jobs 8"));
  sub->add_option("--probs", c->probs, "Probability maps (<id>.npy or one-array .npz, (C,H,W))")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--out", c->out, "Output folder of label PNGs")->required();
  sub->add_option("--list", c->list, "Image-id list (default: every input file)")
      ->check(CLI::ExistingFile);
  add_batch_flags(sub, c->batch);
  sub->callback([c, &exit_code] { exit_code = run_argmax(*c); });
}

}  // namespace pm::cli
