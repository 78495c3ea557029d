#pragma once

// Long reads (reports) off the io threads and off the engine strand: one thread, a short
// queue. A report asked for while the queue is full is refused (503), never queued
// without bound.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace baton::api {

class ReportWorker {
 public:
  static constexpr std::size_t kQueue = 8;
  ReportWorker();
  // Runs what is queued, then joins the thread.
  ~ReportWorker();
  ReportWorker(const ReportWorker&) = delete;
  ReportWorker& operator=(const ReportWorker&) = delete;

  // False when kQueue tasks wait already (or the worker is stopping): nothing is queued.
  bool submit(std::function<void()> task);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace baton::api
