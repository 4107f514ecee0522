// SPDX-License-Identifier: MIT
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "pseudomask/core/common/parallel.h"

namespace pm::cli {

/// The exit status of every command (README "Exit status"; kExitStatusHelp in --help).
enum ExitStatus : int {
  kExitDone = 0,      ///< every input done
  kExitBadInput = 1,  ///< bad input or usage: the run stopped at the first bad input
  kExitInternal = 2,  ///< internal error (a bug)
  kExitSkipped = 3,   ///< --keep-going skipped some inputs, listed on stderr and in the summary
};

/// The exit-status paragraph that closes every batch command's --help.
extern const char* const kExitStatusHelp;

/// A batch command's --help footer: `text`, then kExitStatusHelp.
std::string batch_footer(const std::string& text);

/// The one-line message of a std::bad_alloc ("out of memory") or std::filesystem::filesystem_error
/// ("<path>: <reason>") that escaped a command outside its per-input work (which reports them as
/// that input's error), or "" for any other exception, a bug. Such errors exit with
/// kExitBadInput, not kExitInternal.
std::string resource_error_message(const std::exception& e);

/// kExitDone if nothing failed, kExitSkipped if --keep-going skipped some inputs.
int batch_exit_status(const std::vector<ItemFailure>& failures);

/// `ids` without repeats, in the order of their first occurrence (a list may repeat an id; each
/// is processed once).
std::vector<std::string> unique_ids(const std::vector<std::string>& ids);

/// The image ids a batch command works on: the --list file if given, else the stems of the
/// files with one of `exts` in `dir`; without repeats. Throws if the result is empty or an id is
/// not a plain file name (check_image_id, naming the list line or the folder).
std::vector<std::string> resolve_ids(const std::string& list,
                                     const std::string& dir,
                                     const std::vector<std::string>& exts);

/// The ids given on the command line (--ids A,B,...) without repeats if any, else
/// resolve_ids(list, dir, exts).
std::vector<std::string> given_or_resolved_ids(const std::vector<std::string>& given,
                                               const std::string& list,
                                               const std::string& dir,
                                               const std::vector<std::string>& exts);

/// The input `<dir>/<id><ext>` for the first of `exts` that exists; throws
/// "<dir>/<id><exts[0]>: missing <what>" if none does.
std::string find_input(const std::string& dir,
                       const std::string& id,
                       const std::vector<std::string>& exts,
                       const std::string& what);

/// Prints "N image(s) failed:" and one line per failure to stderr (nothing if none).
void print_failures(const std::vector<ItemFailure>& failures);

/// The conventions of every batch command: threads over items, a deterministic shard, resume,
/// keep-going, progress.
struct BatchOptions {
  int jobs = 0;             ///< threads over items, 0 = all cores
  std::string shard;        ///< "i/n" or ""
  bool resume = false;      ///< skip items whose outputs are complete (ResumeRecord)
  bool keep_going = false;  ///< record failures and go on
  bool quiet = false;       ///< no progress output
};

/// Throws "--out DIR is an input folder" if `out` is one of `inputs` ("" inputs are not given):
/// a batch command never overwrites its inputs.
void check_out_is_no_input(const std::string& out, const std::vector<std::string>& inputs);

/// Whether two paths name the same file: the same after making them absolute and normal, or
/// the same existing file ("" names nothing).
bool same_path(const std::string& a, const std::string& b);

/// The ids a run of `options` processes: `ids` without repeats, then its shard. Throws unless
/// every id is a plain file name (check_image_id), so no output lands outside --out and no input
/// is read outside its folder, whatever the ids' source.
std::vector<std::string> batch_ids(const std::vector<std::string>& ids,
                                   const BatchOptions& options);

/// Threads inside each item of batch_ids(ids, options) when there are fewer items than --jobs
/// (spare cores go inside the images; results do not depend on it).
int threads_per_item(const BatchOptions& options, const std::vector<std::string>& ids);

/// What --resume trusts: the settings that made the outputs in --out, recorded in
/// <out>/<name>_settings.json before a run writes anything, and outputs written since.
///
/// A run whose settings match the record keeps it; a run with other settings (or none recorded)
/// records its own, so every output written before counts as stale; with --resume and other
/// settings recorded, it refuses to start (their outputs would be kept as if made with these
/// settings). complete() then tells a finished item: every output file exists, is non-empty and
/// was written after the record. Settings are what changes the outputs' content (not --jobs,
/// --shard, --list, or which extra files are asked for: those are complete()'s paths).
class ResumeRecord {
 public:
  ResumeRecord(const std::string& out,
               const std::string& name,
               const nlohmann::json& settings,
               const BatchOptions& options);

  /// Whether `paths` (one item's outputs) are complete outputs of the recorded settings.
  bool complete(const std::vector<std::string>& paths) const;

  /// The record's path.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::filesystem::file_time_type since_;
};

/// What a batch run did.
struct BatchReport {
  size_t done = 0;
  size_t skipped = 0;
  std::vector<ItemFailure> failures;
  double seconds = 0;

  /// batch_exit_status(failures).
  int exit_status() const { return batch_exit_status(failures); }
};

/// Runs `work(id)` for every id of batch_ids(ids, options), in parallel, skipping ids for which
/// `done(id)` holds when resuming. Stops at the first pm::Error unless keep_going. Prints
/// failures at the end.
BatchReport run_batch(const std::string& label,
                      const std::vector<std::string>& ids,
                      const BatchOptions& options,
                      const std::function<bool(const std::string&)>& done,
                      const std::function<void(const std::string&)>& work);

/// "<out>/<name>_summary.json", or "<out>/<name>_summary.shardI-N.json" with --shard I/N (so
/// that the shards of an array job do not overwrite each other's summary).
std::string summary_path(const std::string& out,
                         const std::string& name,
                         const BatchOptions& options);

/// The counts every batch summary holds: images_done, images_skipped, failures (a count) and
/// seconds.
nlohmann::json batch_counts_json(const BatchReport& report);

/// Writes a batch command's summary: `details` (the command's settings and statistics) with
/// batch_counts_json(report) added.
void write_batch_summary(const std::string& path,
                         const BatchReport& report,
                         nlohmann::json details);

/// Prints a batch command's closing line: "<label>: N images[ verb], N skipped (existing),
/// N failed[, detail], T s -> <out>".
void print_batch_line(const std::string& label,
                      const std::string& verb,
                      const BatchReport& report,
                      const std::string& out,
                      const std::string& detail = "");

/// Adds --jobs, --shard, --resume, --keep-going and --quiet to a subcommand.
void add_batch_flags(CLI::App* sub, BatchOptions& options);

}  // namespace pm::cli
