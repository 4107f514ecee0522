// SPDX-License-Identifier: MIT
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "pseudomask/core/eval/evaluate.h"

namespace pm::cli {

/// The image ids a batch command works on: the --list file if given, else the stems of the
/// files with one of `exts` in `dir`. Throws if the result is empty.
std::vector<std::string> resolve_ids(const std::string& list,
                                     const std::string& dir,
                                     const std::vector<std::string>& exts);

/// Prints "N image(s) failed:" and one line per failure to stderr (nothing if none).
void print_failures(const std::vector<EvalFailure>& failures);

}  // namespace pm::cli

namespace pm::cli {

/// The conventions of every batch command: threads over items, a deterministic shard, resume,
/// keep-going, progress.
struct BatchOptions {
  int jobs = 0;             ///< threads over items, 0 = all cores
  std::string shard;        ///< "i/n" or ""
  bool resume = false;      ///< skip items whose output exists
  bool keep_going = false;  ///< record failures and go on
  bool quiet = false;       ///< no progress output
};

/// What a batch run did.
struct BatchReport {
  size_t done = 0;
  size_t skipped = 0;
  std::vector<EvalFailure> failures;
  double seconds = 0;
};

/// Runs `work(id)` for every id of this shard, in parallel, skipping ids for which `done(id)`
/// holds when resuming. Stops at the first pm::Error unless keep_going. Prints failures at the end.
BatchReport run_batch(const std::string& label,
                      const std::vector<std::string>& ids,
                      const BatchOptions& options,
                      const std::function<bool(const std::string&)>& done,
                      const std::function<void(const std::string&)>& work);

/// Prints a batch command's closing line: "<label>: N images[ verb], N skipped (existing),
/// N failed, T s -> <out>".
void print_batch_line(const std::string& label,
                      const std::string& verb,
                      const BatchReport& report,
                      const std::string& out);

/// Adds --jobs, --shard, --resume, --keep-going and --quiet to a subcommand.
void add_batch_flags(CLI::App* sub, BatchOptions& options);

}  // namespace pm::cli
