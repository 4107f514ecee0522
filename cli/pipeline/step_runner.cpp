// SPDX-License-Identifier: MIT
#include "pipeline/step_runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/report.h"
#include "pseudomask/core/common/error.h"

extern char** environ;

namespace fs = std::filesystem;

namespace pm::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string log_path(const RunOptions& o, const Step& s) {
  return o.state_dir + "/logs/" + s.name + ".log";
}

std::string marker_path(const RunOptions& o, const Step& s) {
  return o.state_dir + "/done/" + s.name + ".json";
}

std::vector<std::string> full_args(const Step& s) {
  std::vector<std::string> args = s.args;
  if (!s.resume_if.empty() && fs::exists(s.resume_if))
    args.insert(args.end(), s.resume_args.begin(), s.resume_args.end());
  return args;
}

// Sets a thread-count variable for the children unless the user has set it.
void default_env(const char* name, int value) {
  if (!std::getenv(name))
    setenv(name, std::to_string(value).c_str(), 0);
}

// Starts `program args` with stdout and stderr appended to `log`; returns the child's pid.
pid_t spawn_step(const std::string& program,
                 const std::vector<std::string>& args,
                 const std::string& log) {
  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addclose(&actions, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    PM_FAIL("{}: cannot start: {}", program, std::strerror(rc));
  return pid;
}

// The last `n` lines of a text file.
std::string tail_lines(const std::string& path, int n) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    // Progress bars redraw with '\r': keep the last state of the line.
    const size_t cr = line.find_last_of('\r', line.size() >= 2 ? line.size() - 2 : 0);
    lines.push_back(cr == std::string::npos ? line : line.substr(cr + 1));
  }
  std::string out;
  for (size_t i = lines.size() > static_cast<size_t>(n) ? lines.size() - n : 0; i < lines.size();
       ++i)
    out += "    " + lines[i] + "\n";
  return out;
}

double marker_seconds(const std::string& path) {
  try {
    std::ifstream in(path);
    return nlohmann::json::parse(in).value("seconds", 0.0);
  } catch (const std::exception&) {
    return 0.0;
  }
}

void write_marker(const RunOptions& o, const Step& s, double seconds) {
  write_json(
      marker_path(o, s),
      {{"step", s.name}, {"command", command_line(o.program, full_args(s))}, {"seconds", seconds}});
}

// The running steps of run_steps.
struct Running {
  size_t index;
  Clock::time_point start;
};

class Scheduler {
 public:
  Scheduler(const std::vector<Step>& steps, const RunOptions& options)
      : steps_(steps),
        o_(options),
        finished_(steps.size(), false),
        started_(steps.size(), false),
        results_(steps.size()) {}

  std::vector<StepResult> run() {
    skip_done_steps();
    while (true) {
      const bool started = !failed_ && start_ready_steps();
      if (running_.empty() && !started)
        break;  // nothing runs and nothing could start (a dry run finishes steps at once)
      if (!running_.empty())
        wait_for_one();
    }
    if (failed_)
      throw Error(failure_);
    return results_;
  }

 private:
  void skip_done_steps() {
    for (size_t i = 0; i < steps_.size(); ++i) {
      results_[i] = {steps_[i].name, steps_[i].stage, false, 0.0};
      const std::string marker = marker_path(o_, steps_[i]);
      if (fs::exists(marker)) {
        finished_[i] = started_[i] = true;
        results_[i].skipped = true;
        results_[i].seconds = marker_seconds(marker);
        announce(i, "done earlier, skipped");
      }
    }
  }

  // Starts ready steps while slots are free; true if any started.
  bool start_ready_steps() {
    bool any = false;
    for (size_t i : ready_steps(steps_, finished_, started_)) {
      if (static_cast<int>(running_.size()) >= o_.parallel)
        break;
      start(i);
      any = true;
    }
    return any;
  }

  void start(size_t i) {
    const Step& s = steps_[i];
    started_[i] = true;
    const std::vector<std::string> args = full_args(s);
    announce(i, o_.dry_run ? command_line(o_.program, args) : "started");
    if (o_.dry_run) {
      finished_[i] = true;
      return;
    }
    std::ofstream(log_path(o_, s), std::ios::app) << "$ " << command_line(o_.program, args) << "\n";
    const pid_t pid = spawn_step(o_.program, args, log_path(o_, s));
    running_.emplace(pid, Running{i, Clock::now()});
  }

  void wait_for_one() {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    auto it = running_.find(pid);
    if (pid < 0 || it == running_.end())
      PM_FAIL("pipeline: lost track of a step (waitpid: {})", std::strerror(errno));
    const size_t i = it->second.index;
    const double seconds = std::chrono::duration<double>(Clock::now() - it->second.start).count();
    running_.erase(it);
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok) {
      record_failure(i, status);
      return;
    }
    finished_[i] = true;
    results_[i].seconds = seconds;
    write_marker(o_, steps_[i], seconds);
    announce(i, fmt::format("done in {:.1f} s", seconds));
  }

  void record_failure(size_t i, int status) {
    const Step& s = steps_[i];
    const std::string how = WIFEXITED(status) ? fmt::format("exit code {}", WEXITSTATUS(status))
                                              : fmt::format("signal {}", WTERMSIG(status));
    std::fprintf(stderr, "%s", tail_lines(log_path(o_, s), 8).c_str());
    if (!failed_)
      failure_ = fmt::format(
          "pipeline step '{}' failed ({}); its log: {}; rerun the same "
          "command to resume",
          s.name,
          how,
          log_path(o_, s));
    failed_ = true;
  }

  void announce(size_t i, const std::string& what) const {
    if (o_.quiet)
      return;
    size_t finished = 0;
    for (bool f : finished_)
      finished += f;
    std::printf("[%zu/%zu] %-14s %-22s %s\n",
                finished,
                steps_.size(),
                steps_[i].stage.c_str(),
                steps_[i].name.c_str(),
                what.c_str());
    std::fflush(stdout);
  }

  const std::vector<Step>& steps_;
  const RunOptions& o_;
  std::vector<bool> finished_;
  std::vector<bool> started_;
  std::vector<StepResult> results_;
  std::map<pid_t, Running> running_;
  bool failed_ = false;
  std::string failure_;
};

}  // namespace

void check_steps(const std::vector<Step>& steps) {
  std::set<std::string> seen;
  for (const Step& s : steps) {
    if (s.name.empty() || s.name.find('/') != std::string::npos)
      PM_FAIL("pipeline: bad step name '{}'", s.name);
    for (const std::string& d : s.deps) {
      if (!seen.count(d))
        PM_FAIL("pipeline: step '{}' depends on '{}', which is not an earlier step", s.name, d);
    }
    if (!seen.insert(s.name).second)
      PM_FAIL("pipeline: two steps are named '{}'", s.name);
  }
}

std::vector<size_t> ready_steps(const std::vector<Step>& steps,
                                const std::vector<bool>& finished,
                                const std::vector<bool>& started) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < steps.size(); ++i)
    index[steps[i].name] = i;
  std::vector<size_t> ready;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (started[i])
      continue;
    bool deps_done = true;
    for (const std::string& d : steps[i].deps)
      deps_done = deps_done && finished[index.at(d)];
    if (deps_done)
      ready.push_back(i);
  }
  return ready;
}

std::vector<StepResult> run_steps(const std::vector<Step>& steps, const RunOptions& options) {
  check_steps(steps);
  if (options.parallel < 1)
    PM_FAIL("pipeline: --parallel must be at least 1, got {}", options.parallel);
  if (!options.dry_run) {  // a dry run writes nothing
    fs::create_directories(options.state_dir + "/logs");
    fs::create_directories(options.state_dir + "/done");
  }
  // Torch and BLAS thread pools would each take every core; steps share them instead.
  default_env("OMP_NUM_THREADS", options.threads_per_step);
  default_env("OPENBLAS_NUM_THREADS", options.threads_per_step);
  return Scheduler(steps, options).run();
}

std::string command_line(const std::string& program, const std::vector<std::string>& args) {
  auto quote = [](const std::string& a) {
    if (!a.empty() && a.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos)
      return a;
    std::string q = "'";
    for (char c : a)
      q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  std::string line = quote(program);
  for (const std::string& a : args)
    line += " " + quote(a);
  return line;
}

}  // namespace pm::cli
