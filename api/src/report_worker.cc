#include "report_worker.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

namespace baton::api {

ReportWorker::ReportWorker(const char* name, std::size_t threads, std::size_t queue,
                           Priority priority)
    : queue_(queue) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, threads); ++i) {
    threads_.emplace_back([this, name, priority] {
      pthread_setname_np(pthread_self(), name);
      if (priority == Priority::Background) {
        // The lowest share of the CPU (nice 19 for this thread alone): it gives way to the
        // server's threads, and still moves on a machine that is never idle.
        if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19) != 0) {
          spdlog::warn("{}: cannot run in the background ({}); it runs as the others", name,
                       std::strerror(errno));
        }
      }
      run();
    });
  }
}

ReportWorker::~ReportWorker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) {
    t.join();
  }
}

bool ReportWorker::submit(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (tasks_.size() >= queue_ || stopping_) {
      return false;
    }
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
  return true;
}

void ReportWorker::run() {
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

}  // namespace baton::api
