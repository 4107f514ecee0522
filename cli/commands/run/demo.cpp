// SPDX-License-Identifier: MIT
// `pseudomask demo`: the whole WSSS pipeline on the built-in synthetic dataset. Two classifiers
// and their CAMs, the ORANDNet ensemble, pseudo-masks, segmentation training with scale
// scheduling, URN's cyclic masks and uncertainty weights, retraining, evaluation, and a report.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "commands/commands.h"
#include "common/report.h"
#include "pipeline/demo_plan.h"
#include "pipeline/demo_report.h"
#include "pipeline/step_runner.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"

namespace fs = std::filesystem;

namespace pm::cli {
namespace {

/// Flags of `pseudomask demo`.
struct DemoCommand {
  DemoConfig config;
  int parallel = 2;
  int jobs = 0;
  bool dry_run = false;
  bool quiet = false;
};

std::string self_executable(const char* fallback) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(fallback) : self.string();
}

void write_report(const DemoConfig& c, const nlohmann::json& results, const std::string& md) {
  const std::string dir = c.out + "/report";
  fs::create_directories(dir);
  write_json(dir + "/results.json", results);
  write_file_atomic(dir + "/results.md", md);
  write_file_atomic(dir + "/index.html", demo_results_html(results));
}

int run_demo(DemoCommand c) {
  PM_CHECK(c.config.train_images >= 20, "--size must be at least 20 images");
  PM_CHECK(c.config.seeds >= 1 && c.config.seeds <= 10, "--seeds must be 1..10");
  PM_CHECK(c.config.epoch_scale > 0, "--epoch-scale must be positive");
  const int cores = c.jobs > 0 ? c.jobs : static_cast<int>(std::thread::hardware_concurrency());
  c.parallel = std::max(1, c.parallel);
  c.config.threads_per_step = std::max(1, cores / c.parallel);
  const std::vector<Step> steps = demo_steps(c.config);
  RunOptions o;
  o.program = self_executable("pseudomask");
  o.state_dir = c.config.out + "/pipeline";
  o.parallel = c.parallel;
  o.threads_per_step = c.config.threads_per_step;
  o.dry_run = c.dry_run;
  o.quiet = c.quiet;
  std::printf("pseudomask demo: %zu steps, %d at a time, %d thread(s) each -> %s\n",
              steps.size(),
              o.parallel,
              o.threads_per_step,
              c.config.out.c_str());
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<StepResult> results = run_steps(steps, o);
  if (c.dry_run)
    return 0;
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const nlohmann::json doc = collect_demo_results(c.config, results, wall);
  const std::string md = demo_results_markdown(doc);
  write_report(c.config, doc, md);
  std::printf("\n%s\n```json\n%s\n```\n", md.c_str(), doc.at("pseudo_masks").dump().c_str());
  std::printf("```json\n%s\n```\n", doc.at("segmentation").dump().c_str());
  std::printf("\nreport: %s/report/index.html (results.md, results.json)\n", c.config.out.c_str());
  return 0;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<DemoCommand>();
  CLI::App* sub = app.add_subcommand(
      "demo", "Run the whole WSSS pipeline on the built-in synthetic dataset, with a report");
  sub->footer(
      "Steps (each a pseudomask command with its inputs and outputs on disk under --out):\n"
      "  synth -> train-cls A (resnet-tiny) and B (vit-tiny) -> cam -> ensemble or/and/mean ->\n"
      "  orandnet train/infer -> eval-cam and labels --mode crf per CAM set -> labels --mode irn\n"
      "  (ORANDNet) -> train-irn -> irn-labels per CAM set -> train-seg on the ORANDNet+CRF\n"
      "  pseudo-masks (plain, scale scheduling) and on ORANDNet+IRN -> predict --crf urn on\n"
      "  train (M_c)\n"
      "  -> urn (hard, prob) -> train-seg on M_c (plain, URN weights t = 0.05, probability\n"
      "  weights) -> predict + eval on val -> report/{results.md,results.json,index.html}.\n"
      "A step whose done marker (<out>/pipeline/done/<step>.json) exists is skipped, so a rerun\n"
      "resumes; logs are in <out>/pipeline/logs/. Independent steps run --parallel at a time.\n"
      "The default takes about 15 minutes on 2 CPU cores; --size and --epoch-scale scale it.\n\n"
      "Example:\n  pseudomask demo --out runs/demo\n"
      "  pseudomask demo --out runs/demo_big --size 5000 --image-size 160 --seeds 3 --device "
      "cuda");
  sub->add_option("--out", c->config.out, "Output folder")->capture_default_str();
  sub->add_option("--size", c->config.train_images, "Training images (val: a fifth)")
      ->capture_default_str();
  sub->add_option("--image-size", c->config.image_size, "Image side in pixels")
      ->capture_default_str()
      ->check(CLI::Range(64, 512));
  sub->add_option("--data-seed", c->config.data_seed, "Seed of the synthetic dataset")
      ->capture_default_str();
  sub->add_option("--seeds", c->config.seeds, "Segmentation runs per variant (1-10)")
      ->capture_default_str();
  sub->add_option("--epoch-scale", c->config.epoch_scale, "Multiplies every training budget")
      ->capture_default_str();
  sub->add_option("--device", c->config.device, "Torch device: cpu, cuda or cuda:N")
      ->capture_default_str();
  sub->add_option("--parallel", c->parallel, "Steps at once")->capture_default_str();
  sub->add_option("--jobs", c->jobs, "Cores to use in all (0 = all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--dry-run", c->dry_run, "Print the steps' commands, run nothing");
  sub->add_flag("--quiet", c->quiet, "No per-step lines");
  sub->callback([c, &exit_code] { exit_code = run_demo(*c); });
}

}  // namespace pm::cli
