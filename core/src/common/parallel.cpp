// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/parallel.h"

#include "pseudomask/core/common/error.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <filesystem>
#include <limits>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <vector>

namespace pm {
namespace {

// Running out of memory or a filesystem error while processing one input (an oversized image, a
// symbolic link loop) is that input's error, not a bug: a one-line pm::Error naming it.

std::string out_of_memory_message(const std::string& id) {
  return fmt::format("image '{}': out of memory while processing it (std::bad_alloc)", id);
}

std::string filesystem_message(const std::string& id, const std::filesystem::filesystem_error& e) {
  if (e.path1().empty())
    return fmt::format("image '{}': {}", id, e.code().message());
  return fmt::format("{}: {} (image '{}')", e.path1().string(), e.code().message(), id);
}

}  // namespace

int resolve_jobs(int jobs) {
  if (jobs > 0)
    return jobs;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

void parallel_for(size_t n, int jobs, const std::function<void(size_t)>& fn) {
  const size_t workers = std::min(n, static_cast<size_t>(resolve_jobs(jobs)));
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i)
      fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  size_t failed_index = std::numeric_limits<size_t>::max();
  std::exception_ptr error;
  const std::function<void()> work = [&] {
    while (!failed.load(std::memory_order_relaxed)) {
      const size_t i = next.fetch_add(1);
      if (i >= n)
        return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (i < failed_index) {
          failed_index = i;
          error = std::current_exception();
        }
        failed.store(true);
      }
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  for (size_t t = 0; t + 1 < workers; ++t)
    threads.emplace_back(work);
  work();
  for (auto& t : threads)
    t.join();
  if (error)
    std::rethrow_exception(error);
}

std::vector<ItemFailure> for_each_item(const std::vector<std::string>& ids,
                                       int jobs,
                                       bool keep_going,
                                       const ProgressFn& progress,
                                       const std::function<void(size_t)>& work) {
  std::vector<std::optional<std::string>> errors(ids.size());
  std::atomic<size_t> done{0};
  parallel_for(ids.size(), jobs, [&](size_t i) {
    std::optional<std::string> error;
    try {
      work(i);
    } catch (const Error& e) {
      error = e.what();
    } catch (const std::bad_alloc&) {
      error = out_of_memory_message(ids[i]);
    } catch (const std::filesystem::filesystem_error& e) {
      error = filesystem_message(ids[i], e);
    }
    if (error) {
      if (!keep_going)
        throw Error(*error);
      errors[i] = std::move(error);
    }
    const size_t d = ++done;
    if (progress)
      progress(d, ids.size());
  });
  std::vector<ItemFailure> failures;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (errors[i])
      failures.push_back({ids[i], *errors[i]});
  }
  return failures;
}

}  // namespace pm
