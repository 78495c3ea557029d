#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace baton::api {

// queue. A report asked for while the queue is full is refused (503), never queued
// without bound.
class ReportWorker {
 public:
  static constexpr std::size_t kQueue = 8;
  ReportWorker()
      : thread_([this] {
          pthread_setname_np(pthread_self(), "baton-reports");
          run();
        }) {}
  ~ReportWorker() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  ReportWorker(const ReportWorker&) = delete;
  ReportWorker& operator=(const ReportWorker&) = delete;

  bool submit(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      if (tasks_.size() >= kQueue || stopping_) {
        return false;
      }
      tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
    return true;
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) {
          return;  // stopping, and nothing left
        }
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace baton::api
