// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <functional>

namespace pm {

/// Number of worker threads to use for a --jobs value: 0 means all hardware threads.
int resolve_jobs(int jobs);

/// Runs fn(i) for i in [0, n) on `jobs` threads (0 = all cores), items handed out dynamically.
/// If calls throw, the remaining items are skipped and the exception of the lowest failing
/// index among those that ran is rethrown, so the reported error does not depend on timing
/// more than necessary. Results must not depend on the thread count: fn must write only to
/// its own slot.
void parallel_for(size_t n, int jobs, const std::function<void(size_t)>& fn);

}  // namespace pm
