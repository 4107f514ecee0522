// SPDX-License-Identifier: MIT
#include "common/batch.h"

#include <chrono>
#include <cstdio>

#include "common/progress.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/parallel.h"

namespace pm::cli {

std::vector<std::string> resolve_ids(const std::string& list,
                                     const std::string& dir,
                                     const std::vector<std::string>& exts) {
  std::vector<std::string> ids;
  if (!list.empty()) {
    ids = read_id_list(list);
    PM_CHECK(!ids.empty(), "{}: the list is empty", list);
  } else {
    for (const auto& path : list_files(dir, exts))
      ids.push_back(file_stem(path));
    PM_CHECK(!ids.empty(), "{}: no input files found", dir);
  }
  return ids;
}

void print_failures(const std::vector<EvalFailure>& failures) {
  if (failures.empty())
    return;
  std::fprintf(stderr, "%zu image(s) failed and were left out:\n", failures.size());
  for (const auto& f : failures)
    std::fprintf(stderr, "  %s: %s\n", f.id.c_str(), f.message.c_str());
}

}  // namespace pm::cli

namespace pm::cli {

BatchReport run_batch(const std::string& label,
                      const std::vector<std::string>& all_ids,
                      const BatchOptions& options,
                      const std::function<bool(const std::string&)>& done,
                      const std::function<void(const std::string&)>& work) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> ids = take_shard(all_ids, options.shard);
  BatchReport report;
  std::vector<std::string> todo;
  for (const auto& id : ids) {
    if (options.resume && done(id)) {
      ++report.skipped;
    } else {
      todo.push_back(id);
    }
  }
  Progress progress(label, todo.size(), options.quiet);
  report.failures = for_each_item(
      todo,
      options.jobs,
      options.keep_going,
      [&](size_t done, size_t) { progress.update(done); },
      [&](size_t i) { work(todo[i]); });
  progress.finish();
  report.done = todo.size() - report.failures.size();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_failures(report.failures);
  return report;
}

void add_batch_flags(CLI::App* sub, BatchOptions& o) {
  sub->add_option(
         "--jobs", o.jobs, "Threads over images (0 = all cores); results do not depend on it")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option(
      "--shard", o.shard, "Process only shard I of N (I/N, 0-based), for cluster array jobs");
  sub->add_flag("--resume", o.resume, "Skip images whose output exists");
  sub->add_flag("--keep-going", o.keep_going, "Skip bad images and list them at the end");
  sub->add_flag("--quiet", o.quiet, "No progress output");
}

void print_batch_line(const std::string& label,
                      const std::string& verb,
                      const BatchReport& report,
                      const std::string& out) {
  std::printf("%s: %zu images%s%s, %zu skipped (existing), %zu failed, %.1f s -> %s\n",
              label.c_str(),
              report.done,
              verb.empty() ? "" : " ",
              verb.c_str(),
              report.skipped,
              report.failures.size(),
              report.seconds,
              out.c_str());
}

}  // namespace pm::cli
