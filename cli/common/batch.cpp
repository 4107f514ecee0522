// SPDX-License-Identifier: MIT
#include "common/batch.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <new>
#include <unordered_set>

#include "common/flags.h"
#include "common/progress.h"
#include "common/report.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/image_id.h"

namespace pm::cli {

const char* const kExitStatusHelp =
    "Exit status: 0 all inputs done; 3 --keep-going skipped some inputs (listed on stderr and "
    "counted\n"
    "in the summary); 1 bad input or usage (the run stops at the first bad input, naming it); 2 "
    "internal\n"
    "error.";

std::string batch_footer(const std::string& text) {
  return text + "\n\n" + kExitStatusHelp;
}

std::string resource_error_message(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e))
    return "out of memory (std::bad_alloc)";
  if (const auto* fe = dynamic_cast<const std::filesystem::filesystem_error*>(&e)) {
    return fe->path1().empty() ? fe->code().message()
                               : fe->path1().string() + ": " + fe->code().message();
  }
  return "";
}

int batch_exit_status(const std::vector<ItemFailure>& failures) {
  return failures.empty() ? kExitDone : kExitSkipped;
}

std::vector<std::string> unique_ids(const std::vector<std::string>& ids) {
  std::unordered_set<std::string> seen;
  std::vector<std::string> unique;
  for (const auto& id : ids) {
    if (seen.insert(id).second)
      unique.push_back(id);
  }
  return unique;
}

std::vector<std::string> resolve_ids(const std::string& list,
                                     const std::string& dir,
                                     const std::vector<std::string>& exts) {
  std::vector<std::string> ids;
  if (!list.empty()) {
    ids = read_id_list(list);
    PM_CHECK(!ids.empty(), "{}: the list is empty", list);
  } else {
    for (const auto& path : list_files(dir, exts)) {
      ids.push_back(file_stem(path));
      check_image_id(ids.back(), dir);
    }
    PM_CHECK(!ids.empty(), "{}: no input files found", dir);
  }
  return unique_ids(ids);
}

std::vector<std::string> given_or_resolved_ids(const std::vector<std::string>& given,
                                               const std::string& list,
                                               const std::string& dir,
                                               const std::vector<std::string>& exts) {
  PM_CHECK(given.empty() || list.empty(), "give --ids or --list, not both");
  return given.empty() ? resolve_ids(list, dir, exts) : unique_ids(given);
}

std::string find_input(const std::string& dir,
                       const std::string& id,
                       const std::vector<std::string>& exts,
                       const std::string& what) {
  const std::string path = find_by_stem(dir, id, exts);
  PM_CHECK(!path.empty(), "{}/{}{}: missing {}", dir, id, exts.front(), what);
  return path;
}

void print_failures(const std::vector<ItemFailure>& failures) {
  if (failures.empty())
    return;
  std::fprintf(stderr, "%zu image(s) failed and were left out:\n", failures.size());
  for (const auto& f : failures)
    std::fprintf(stderr, "  %s: %s\n", f.id.c_str(), with_flag_names(f.message).c_str());
}

void check_out_is_no_input(const std::string& out, const std::vector<std::string>& inputs) {
  for (const std::string& in : inputs) {
    PM_CHECK(!same_path(in, out), "--out {} is an input folder; inputs are never overwritten", out);
  }
}

bool same_path(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty())
    return false;
  std::error_code ec;
  const auto normal = [](const std::string& p) {
    std::error_code ignored;
    std::filesystem::path n = std::filesystem::absolute(p, ignored).lexically_normal();
    return n.has_filename() ? n : n.parent_path();  // "D/" is "D"
  };
  return normal(a) == normal(b) || std::filesystem::equivalent(a, b, ec);
}

std::vector<std::string> batch_ids(const std::vector<std::string>& ids,
                                   const BatchOptions& options) {
  check_image_ids(ids, "input");
  return take_shard(unique_ids(ids), parse_shard(options.shard));
}

int threads_per_item(const BatchOptions& options, const std::vector<std::string>& ids) {
  const size_t items = std::max<size_t>(batch_ids(ids, options).size(), 1);
  return std::max(1, resolve_jobs(options.jobs) / static_cast<int>(items));
}

BatchReport run_batch(const std::string& label,
                      const std::vector<std::string>& all_ids,
                      const BatchOptions& options,
                      const std::function<bool(const std::string&)>& done,
                      const std::function<void(const std::string&)>& work) {
  const auto start = std::chrono::steady_clock::now();
  BatchReport report;
  std::vector<std::string> todo;
  for (const auto& id : batch_ids(all_ids, options)) {
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
      [&](size_t finished, size_t) { progress.update(finished); },
      [&](size_t i) { work(todo[i]); });
  progress.finish();
  report.done = todo.size() - report.failures.size();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_failures(report.failures);
  return report;
}

namespace {

/// The settings keys whose values differ between two records, as "key: old -> new" (at most 3).
std::string settings_difference(const nlohmann::json& before, const nlohmann::json& now) {
  std::vector<std::string> parts;
  nlohmann::json keys = nlohmann::json::object();
  for (const auto* j : {&before, &now}) {
    if (j->is_object()) {
      for (const auto& item : j->items())
        keys[item.key()] = true;
    }
  }
  for (const auto& item : keys.items()) {
    const std::string& key = item.key();
    const nlohmann::json old_value =
        before.is_object() ? before.value(key, nlohmann::json()) : nlohmann::json();
    const nlohmann::json new_value = now.value(key, nlohmann::json());
    if (old_value != new_value && parts.size() < 3)
      parts.push_back(key + ": " + old_value.dump() + " -> " + new_value.dump());
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i)
    out += (i ? "; " : "") + parts[i];
  return out.empty() ? "the record is unreadable" : out;
}

}  // namespace

ResumeRecord::ResumeRecord(const std::string& out,
                           const std::string& name,
                           const nlohmann::json& settings,
                           const BatchOptions& options)
    : path_(out + "/" + name + "_settings.json") {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(path_, ec)) {
    nlohmann::json recorded;
    try {
      const std::vector<uint8_t> bytes = read_file_bytes(path_);
      recorded =
          nlohmann::json::parse(bytes.begin(), bytes.end()).value("settings", nlohmann::json());
    } catch (const std::exception&) {
      recorded = nlohmann::json();
    }
    if (recorded == settings) {
      since_ = fs::last_write_time(path_, ec);
      PM_CHECK(!ec, "{}: cannot read its time ({})", path_, ec.message());
      return;
    }
    PM_CHECK(!options.resume,
             "--resume: the outputs in {} were made with other settings ({}); rerun without "
             "--resume to redo them, or write to a new --out",
             out,
             settings_difference(recorded, settings));
  }
  write_json(path_, {{"command", name}, {"settings", settings}});
  since_ = fs::last_write_time(path_, ec);
  PM_CHECK(!ec, "{}: cannot read its time ({})", path_, ec.message());
}

bool ResumeRecord::complete(const std::vector<std::string>& paths) const {
  namespace fs = std::filesystem;
  for (const std::string& p : paths) {
    std::error_code ec;
    const fs::file_status status = fs::status(p, ec);
    if (ec || !fs::is_regular_file(status) || fs::file_size(p, ec) == 0 || ec)
      return false;
    const auto written = fs::last_write_time(p, ec);
    if (ec || written < since_)
      return false;
  }
  return true;
}

std::string summary_path(const std::string& out,
                         const std::string& name,
                         const BatchOptions& options) {
  if (options.shard.empty())
    return out + "/" + name + "_summary.json";
  std::string tag = options.shard;
  std::replace(tag.begin(), tag.end(), '/', '-');
  return out + "/" + name + "_summary.shard" + tag + ".json";
}

nlohmann::json batch_counts_json(const BatchReport& report) {
  return {{"images_done", report.done},
          {"images_skipped", report.skipped},
          {"failures", report.failures.size()},
          {"seconds", report.seconds}};
}

void write_batch_summary(const std::string& path,
                         const BatchReport& report,
                         nlohmann::json details) {
  details.update(batch_counts_json(report));
  write_json(path, details);
}

void add_batch_flags(CLI::App* sub, BatchOptions& o) {
  sub->add_option(
         "--jobs", o.jobs, "Threads over images (0 = all cores); results do not depend on it")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--shard",
                  o.shard,
                  "Process only shard I of N (I/N, 0-based, 0 <= I < N), for cluster array jobs");
  sub->add_flag("--resume",
                o.resume,
                "Skip images whose outputs are complete and were made with the same settings "
                "(recorded in <out>/<command>_settings.json); refuse other settings' outputs");
  sub->add_flag("--keep-going", o.keep_going, "Skip bad images, list them and exit with 3");
  sub->add_flag("--quiet", o.quiet, "No progress output");
}

void print_batch_line(const std::string& label,
                      const std::string& verb,
                      const BatchReport& report,
                      const std::string& out,
                      const std::string& detail) {
  std::printf("%s: %zu images%s%s, %zu skipped (existing), %zu failed%s%s, %.1f s -> %s\n",
              label.c_str(),
              report.done,
              verb.empty() ? "" : " ",
              verb.c_str(),
              report.skipped,
              report.failures.size(),
              detail.empty() ? "" : ", ",
              detail.c_str(),
              report.seconds,
              out.c_str());
}

}  // namespace pm::cli
