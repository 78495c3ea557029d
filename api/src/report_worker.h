#pragma once

// Long reads (reports, timeline pages) off the io threads and off the engine strand: a
// few threads and a short queue. A read asked for while the queue is full is refused
// (503), never queued without bound.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace baton::api {

class ReportWorker {
 public:
  // How the threads' work weighs against the server's: Background threads run at nice
  // 19, giving way to the io threads, the engine and the journal (what-if replays:
  // seconds of work that must not slow case creations) without ever being starved.
  enum class Priority { Normal, Background };

  // `name` names the threads (at most 15 characters, as the kernel keeps it).
  ReportWorker(const char* name, std::size_t threads, std::size_t queue,
               Priority priority = Priority::Normal);
  // Runs what is queued, then joins the thread.
  ~ReportWorker();
  ReportWorker(const ReportWorker&) = delete;
  ReportWorker& operator=(const ReportWorker&) = delete;

  // False when `queue` tasks wait already (or the worker is stopping): nothing is queued.
  bool submit(std::function<void()> task);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  const std::size_t queue_;
  std::vector<std::thread> threads_;
};

}  // namespace baton::api
