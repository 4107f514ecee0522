// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace pm {

/// Number of worker threads to use for a --jobs value: 0 means all hardware threads.
int resolve_jobs(int jobs);

/// Runs fn(i) for i in [0, n) on `jobs` threads (0 = all cores), items handed out dynamically.
/// If calls throw, the remaining items are skipped and the exception of the lowest failing
/// index among those that ran is rethrown, so the reported error does not depend on timing
/// more than necessary. Results must not depend on the thread count: fn must write only to
/// its own slot.
void parallel_for(size_t n, int jobs, const std::function<void(size_t)>& fn);

/// Called after each item with (items done, items total); may be empty.
using ProgressFn = std::function<void(size_t, size_t)>;

/// An item of a batch that failed (kept with keep_going).
struct ItemFailure {
  std::string id;
  std::string message;
};

/// Runs work(i) for every id on `jobs` threads. A pm::Error stops the run unless keep_going, in
/// which case it is recorded; failures come back in list order whatever the thread timing.
/// std::bad_alloc and std::filesystem::filesystem_error thrown by work(i) are that item's error
/// too (a pm::Error naming the item, and the path for a filesystem error), not internal errors.
std::vector<ItemFailure> for_each_item(const std::vector<std::string>& ids,
                                       int jobs,
                                       bool keep_going,
                                       const ProgressFn& progress,
                                       const std::function<void(size_t)>& work);

}  // namespace pm
