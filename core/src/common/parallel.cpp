// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

namespace pm {

int resolve_jobs(int jobs) {
  if (jobs > 0)
    return jobs;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

namespace {

// Runs `body` on `count` threads at once (the caller being one of them) and waits for all.
// Worker threads persist and are reused: creating a thread costs a fresh stack, and on some
// virtual machines its page faults cost more than a short parallel loop. A call made while the
// pool is busy (from a pool thread, i.e. nested, or from another thread) spawns its own threads.
class ThreadPool {
 public:
  static ThreadPool& instance() {
    static ThreadPool pool;
    return pool;
  }

  void run(size_t count, const std::function<void()>& body) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || in_pool_thread()) {
      run_on_new_threads(count, body);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (threads_.size() + 1 < count)
        threads_.emplace_back([this] { worker(); });
      body_ = &body;
      wanted_ = count - 1;
      remaining_ = count - 1;
      ++generation_;
    }
    start_.notify_all();
    body();
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [this] { return remaining_ == 0; });
    body_ = nullptr;
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    start_.notify_all();
    for (auto& t : threads_)
      t.join();
  }

 private:
  static bool& in_pool_thread() {
    thread_local bool flag = false;
    return flag;
  }

  static void run_on_new_threads(size_t count, const std::function<void()>& body) {
    std::vector<std::thread> threads;
    for (size_t t = 0; t + 1 < count; ++t)
      threads.emplace_back(body);
    body();
    for (auto& t : threads)
      t.join();
  }

  void worker() {
    in_pool_thread() = true;
    size_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      start_.wait(lock, [&] { return stop_ || (generation_ != seen && wanted_ > 0); });
      if (stop_)
        return;
      seen = generation_;
      --wanted_;
      const std::function<void()>* body = body_;
      lock.unlock();
      (*body)();
      lock.lock();
      if (--remaining_ == 0)
        finished_.notify_one();
    }
  }

  std::mutex busy_;   // held by the one caller using the pool
  std::mutex mutex_;  // guards everything below
  std::condition_variable start_, finished_;
  std::vector<std::thread> threads_;
  const std::function<void()>* body_ = nullptr;
  size_t wanted_ = 0;     // workers still to join this generation
  size_t remaining_ = 0;  // workers of this generation not finished
  size_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace

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
  ThreadPool::instance().run(workers, work);
  if (error)
    std::rethrow_exception(error);
}

}  // namespace pm
