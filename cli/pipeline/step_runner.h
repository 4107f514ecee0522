// SPDX-License-Identifier: MIT
#pragma once

// Runs a pipeline of `pseudomask` subcommands, IRN-style: every step is one command with its
// inputs and outputs on disk, so a rerun skips what is done and a failed step can be rerun alone.

#include <string>
#include <utility>
#include <vector>

namespace pm::cli {

/// One step: `pseudomask <args...>`, run after the steps it depends on.
struct Step {
  Step() = default;
  Step(std::string name,
       std::string stage,
       std::vector<std::string> args,
       std::vector<std::string> deps = {},
       std::string resume_if = {},
       std::vector<std::string> resume_args = {})
      : name(std::move(name)),
        stage(std::move(stage)),
        args(std::move(args)),
        deps(std::move(deps)),
        resume_if(std::move(resume_if)),
        resume_args(std::move(resume_args)) {}

  std::string name;               ///< unique; names the log and the done marker
  std::string stage;              ///< group shown in the progress lines (e.g. "classifiers")
  std::vector<std::string> args;  ///< arguments after the program name
  std::vector<std::string> deps;  ///< names of steps that must finish first
  /// Arguments added only when `resume_if` exists (e.g. --resume when <out>/last.pth is there).
  std::string resume_if;
  std::vector<std::string> resume_args;
};

/// How the steps are run.
struct RunOptions {
  std::string program;       ///< the pseudomask executable
  std::string state_dir;     ///< holds logs/<name>.log and done/<name>.json
  int parallel = 1;          ///< steps at once (each gets threads/parallel cores)
  int threads_per_step = 1;  ///< exported as OMP/OPENBLAS_NUM_THREADS when they are unset
  bool dry_run = false;      ///< print the commands, run nothing
  bool quiet = false;        ///< no per-step lines
};

/// What happened to one step.
struct StepResult {
  std::string name;
  std::string stage;
  bool skipped = false;  ///< its done marker existed
  double seconds = 0;    ///< wall time of this run, or of the run that made the marker
};

/// Throws pm::Error unless the names are unique and every dependency names an earlier step.
void check_steps(const std::vector<Step>& steps);

/// The steps not yet started whose dependencies have all finished, in plan order (run_steps
/// starts them in this order while it has free slots).
std::vector<size_t> ready_steps(const std::vector<Step>& steps,
                                const std::vector<bool>& finished,
                                const std::vector<bool>& started);

/// Runs the steps, up to `parallel` at once, each as soon as its dependencies are done. A step
/// whose done marker exists is skipped. On the first failure, waits for the running steps, then
/// throws pm::Error naming the step and its log (the log's last lines go to stderr first).
std::vector<StepResult> run_steps(const std::vector<Step>& steps, const RunOptions& options);

/// "pseudomask a b 'c d'": a command line a shell would read back.
std::string command_line(const std::string& program, const std::vector<std::string>& args);

}  // namespace pm::cli
