// SPDX-License-Identifier: MIT
// The pipeline runner (real subprocesses through /bin/sh), the demo's plan and its report.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/report.h"
#include "pipeline/demo_plan.h"
#include "pipeline/demo_report.h"
#include "pipeline/step_runner.h"
#include "pseudomask/core/common/error.h"
#include "support/test_paths.h"

namespace fs = std::filesystem;

namespace pm::cli {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Step shell(const std::string& name, const std::string& script, std::vector<std::string> deps = {}) {
  return Step(name, "test", {"-c", script}, std::move(deps));
}

RunOptions shell_options(const test::TempDir& dir, int parallel = 1) {
  RunOptions o;
  o.program = "/bin/sh";
  o.state_dir = dir / "state";
  o.parallel = parallel;
  o.quiet = true;
  return o;
}

TEST(StepRunner, RunsInDependencyOrderAndSkipsDoneStepsOnRerun) {
  const test::TempDir dir("pipe");
  const std::string log = dir / "order.txt";
  const std::vector<Step> steps = {
      shell("a", "sleep 0.2; echo a >> " + log),
      shell("b", "echo b >> " + log),
      shell("c", "echo c >> " + log, {"a", "b"}),
  };
  auto results = run_steps(steps, shell_options(dir, 2));
  const std::string order = slurp(log);
  EXPECT_EQ(order.substr(order.size() - 2), "c\n") << order;  // after both a and b
  EXPECT_EQ(order.size(), 6u);
  for (const StepResult& r : results)
    EXPECT_FALSE(r.skipped) << r.name;
  EXPECT_TRUE(fs::exists(dir / "state/done/c.json"));
  EXPECT_NE(slurp(dir / "state/logs/a.log").find("$ /bin/sh -c"), std::string::npos);
  results = run_steps(steps, shell_options(dir, 2));
  EXPECT_EQ(slurp(log).size(), 6u) << "a rerun must not run done steps again";
  for (const StepResult& r : results)
    EXPECT_TRUE(r.skipped) << r.name;
  EXPECT_GT(results[0].seconds, 0.1) << "skipped steps report the time of the run that did them";
}

TEST(StepRunner, AFailureNamesTheStepAndItsLogAndStopsDependents) {
  const test::TempDir dir("pipe");
  const std::vector<Step> steps = {
      shell("ok", "true"),
      shell("bad", "echo 'input.png: not a PNG' >&2; exit 3"),
      shell("after", "touch " + dir / "after", {"bad"}),
  };
  try {
    run_steps(steps, shell_options(dir));
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'bad'"), std::string::npos) << what;
    EXPECT_NE(what.find("exit code 3"), std::string::npos) << what;
    EXPECT_NE(what.find("logs/bad.log"), std::string::npos) << what;
  }
  EXPECT_FALSE(fs::exists(dir / "after"));
  EXPECT_TRUE(fs::exists(dir / "state/done/ok.json"));
  EXPECT_FALSE(fs::exists(dir / "state/done/bad.json"));
  EXPECT_NE(slurp(dir / "state/logs/bad.log").find("not a PNG"), std::string::npos);
}

TEST(StepRunner, ResumeArgumentsOnlyWhenTheCheckpointExists) {
  const test::TempDir dir("pipe");
  Step s = shell("train", "echo \"$0\" > " + dir / "args");
  s.args.push_back("first");  // $0 of the script
  s.resume_if = dir / "last.pth";
  s.resume_args = {"--resume"};
  run_steps({s}, shell_options(dir));
  EXPECT_EQ(slurp(dir / "args"), "first\n");
  std::ofstream(dir / "last.pth") << "x";
  s.name = "train2";
  s.args = {"-c", "echo \"$0\" > " + dir / "args2"};
  run_steps({s}, shell_options(dir));
  EXPECT_EQ(slurp(dir / "args2"), "--resume\n");
}

TEST(StepRunner, ADryRunWalksTheWholeGraphAndRunsNothing) {
  const test::TempDir dir("pipe");
  const std::vector<Step> steps = {shell("a", "touch " + dir / "a"),
                                   shell("b", "touch " + dir / "b", {"a"}),
                                   shell("c", "touch " + dir / "c", {"b"})};
  RunOptions o = shell_options(dir);
  o.dry_run = true;
  EXPECT_EQ(run_steps(steps, o).size(), 3u);
  for (const char* f : {"a", "b", "c", "state"})
    EXPECT_FALSE(fs::exists(dir / f)) << f;
}

TEST(StepRunner, RejectsBadPlans) {
  EXPECT_THROW(check_steps({shell("a", "true", {"b"}), shell("b", "true")}), Error);
  EXPECT_THROW(check_steps({shell("a", "true"), shell("a", "true")}), Error);
  EXPECT_THROW(check_steps({shell("x/y", "true")}), Error);
  EXPECT_NO_THROW(check_steps({shell("a", "true"), shell("b", "true", {"a"})}));
}

TEST(StepRunner, CommandLinesQuoteWhatAShellWouldSplit) {
  EXPECT_EQ(command_line("pm", {"a", "b c", "it's", ""}), "pm a 'b c' 'it'\\''s' ''");
}

TEST(DemoPlan, IsAValidPlanWhoseStepsProduceEveryFileTheReportReads) {
  DemoConfig c;
  c.out = "/o";
  c.seeds = 2;
  const std::vector<Step> steps = demo_steps(c);
  EXPECT_NO_THROW(check_steps(steps));
  std::set<std::string> written;
  for (const Step& s : steps) {
    auto it = std::find(s.args.begin(), s.args.end(), "--json");
    if (it != s.args.end())
      written.insert(*(it + 1));
  }
  for (const CamSet& s : demo_cam_sets()) {
    EXPECT_TRUE(written.count("/o/eval/cam_" + s.key + ".json")) << s.key;
    EXPECT_TRUE(written.count("/o/eval/crf_" + s.key + ".json")) << s.key;
    EXPECT_TRUE(written.count("/o/eval/irn_" + s.key + ".json")) << s.key;
  }
  for (const SegVariant& v : demo_seg_variants()) {
    for (int seed = 0; seed < 2; ++seed)
      EXPECT_TRUE(written.count("/o/eval/seg_" + v.key + "_seed" + std::to_string(seed) + ".json"))
          << v.key;
  }
  EXPECT_TRUE(written.count("/o/eval/cyclic.json"));
}

TEST(DemoPlan, UrnVariantsTrainOnTheTeachersCyclicMasksWithTheirWeights) {
  DemoConfig c;
  c.out = "/o";
  auto find = [&](const std::string& name) {
    for (const Step& s : demo_steps(c))
      if (s.name == name)
        return s;
    ADD_FAILURE() << name;
    return Step{};
  };
  auto has = [](const Step& s, const std::vector<std::string>& seq) {
    return std::search(s.args.begin(), s.args.end(), seq.begin(), seq.end()) != s.args.end();
  };
  EXPECT_TRUE(has(find("predict-train"), {"--crf", "urn"}));
  EXPECT_TRUE(has(find("predict-train"), {"--probs"}));
  EXPECT_TRUE(has(find("train-seg-cyclic-urn-s0"), {"--weights", "/o/urn/hard/urn"}));
  EXPECT_TRUE(has(find("train-seg-cyclic-prob-s0"), {"--weight-thresh", "-1"}));
  EXPECT_TRUE(has(find("urn-prob"), {"--mode", "prob"}));
  EXPECT_TRUE(has(find("train-seg-scale-schedule-s0"), {"--scale-schedule", "4:1,2:3"}));
  EXPECT_EQ(find("train-seg-cyclic-s0").deps, std::vector<std::string>{"urn-hard"});
  EXPECT_EQ(find("train-cls-A").resume_if, "/o/cls/A/last.pth");
  EXPECT_TRUE(has(find("train-seg-pseudo-s0"), {"--pretrained", "/o/cls/A/model.pth"}));
}

TEST(DemoPlan, IrnTrainsOnOrandnetsConfidentRegionsAndEveryCamSetWalksItsBoundaries) {
  DemoConfig c;
  c.out = "/o";
  std::map<std::string, Step> by_name;
  for (const Step& s : demo_steps(c))
    by_name[s.name] = s;
  auto has = [](const Step& s, const std::vector<std::string>& seq) {
    return std::search(s.args.begin(), s.args.end(), seq.begin(), seq.end()) != s.args.end();
  };
  EXPECT_TRUE(has(by_name.at("ir-labels-orand"), {"--cams", "/o/cams/orand"}));
  EXPECT_TRUE(has(by_name.at("ir-labels-orand"), {"--mode", "irn"}));
  EXPECT_TRUE(has(by_name.at("train-irn"), {"--ir-labels", "/o/masks/orand_ir"}));
  EXPECT_EQ(by_name.at("train-irn").resume_if, "/o/irn/last.pth");
  EXPECT_TRUE(has(by_name.at("irn-labels-orand"), {"--irn", "/o/irn/model.pth"}));
  EXPECT_TRUE(has(by_name.at("irn-labels-orand"), {"--boundary-out", "/o/irn/boundary"}));
  for (const CamSet& s : demo_cam_sets()) {
    const Step& walk = by_name.at("irn-labels-" + s.key);
    EXPECT_TRUE(has(walk, {"--cams", "/o/cams/" + s.key})) << s.key;
    if (s.key != "orand") {
      EXPECT_TRUE(has(walk, {"--boundary", "/o/irn/boundary"})) << s.key;
      EXPECT_NE(std::find(walk.deps.begin(), walk.deps.end(), "irn-labels-orand"), walk.deps.end());
    }
  }
  EXPECT_TRUE(has(by_name.at("train-seg-pseudo-irn-s0"), {"--labels", "/o/masks/orand_irn"}));
}

TEST(DemoReport, MeanAndSampleStd) {
  const auto [m, s] = mean_and_std({0.5, 0.7});
  EXPECT_DOUBLE_EQ(m, 0.6);
  EXPECT_NEAR(s, 0.141421356, 1e-8);
  EXPECT_EQ(mean_and_std({0.3}).second, 0.0);
}

void write_eval(const std::string& path, double miou, double precision, double recall) {
  fs::create_directories(fs::path(path).parent_path());
  write_json(path, {{"mean_iou", miou}, {"mean_precision", precision}, {"mean_recall", recall}});
}

TEST(DemoReport, TablesCarryTheEvalFiguresOfEveryRowAndSeed) {
  const test::TempDir dir("report");
  DemoConfig c;
  c.out = dir.str();
  c.seeds = 2;
  double v = 0.10;
  for (const CamSet& s : demo_cam_sets()) {
    write_json(
        dir / ("eval/cam_" + s.key + ".json"),
        {{"best_threshold", 0.25},
         {"best", {{"mean_iou", v}, {"mean_precision", v + 0.1}, {"mean_recall", v + 0.2}}}});
    write_eval(dir / ("eval/crf_" + s.key + ".json"), v + 0.01, v + 0.02, v + 0.03);
    write_eval(dir / ("eval/irn_" + s.key + ".json"), v + 0.04, v, s.key == "A" ? 0.9 : 0.1);
    v += 0.05;
  }
  write_eval(dir / "eval/cyclic.json", 0.4242, 0.5, 0.6);
  for (const SegVariant& var : demo_seg_variants()) {
    write_eval(dir / ("eval/seg_" + var.key + "_seed0.json"), 0.50, 0, 0);
    write_eval(dir / ("eval/seg_" + var.key + "_seed1.json"), 0.60, 0, 0);
  }
  const nlohmann::json r = collect_demo_results(c, {{"synth", "data", false, 2.0}}, 3.0);
  ASSERT_EQ(r["pseudo_masks"].size(), demo_cam_sets().size());
  EXPECT_DOUBLE_EQ(r["pseudo_masks"][5]["miou"].get<double>(), 0.35);  // ORANDNet, the 6th row
  EXPECT_DOUBLE_EQ(r["pseudo_masks"][5]["crf"]["recall"].get<double>(), 0.38);
  EXPECT_DOUBLE_EQ(r["pseudo_masks"][0]["irn"]["recall"].get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(r["segmentation"][3]["mean"].get<double>(), 0.55);
  const std::string md = demo_results_markdown(r);
  EXPECT_NE(md.find("| ORANDNet | 0.25 | 35.00 | 45.00 | 55.00 | 36.00 | 37.00 | 38.00 | 39.00 | "
                    "35.00 | 10.00 |"),
            std::string::npos)
      << md;
  // IRN's mIoU (v + 0.04) beats the CRF's (v + 0.01) in every row.
  EXPECT_NE(md.find("higher mIoU for 6 of 6 CAM sets (ORANDNet: 39.00 w/ IRN, 36.00 +CRF)"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| M_c + URN weights (t = 0.05) | 55.00 ± 7.07 |"), std::string::npos) << md;
  EXPECT_NE(md.find("42.42"), std::string::npos);
  const std::string html = demo_results_html(r);
  EXPECT_NE(html.find("<td>M_c + URN weights (t = 0.05)</td><td>55.00 ± 7.07</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
}

TEST(DemoReport, AMissingEvalFileIsNamed) {
  const test::TempDir dir("report");
  DemoConfig c;
  c.out = dir.str();
  try {
    collect_demo_results(c, {}, 0.0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("eval/cam_A.json: missing"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace pm::cli
