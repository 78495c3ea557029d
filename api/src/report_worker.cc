#include "report_worker.h"

#include <algorithm>

#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>

namespace baton::api {

ReportWorker::ReportWorker(const char* name, std::size_t threads, std::size_t queue,
                           Priority priority)
    : queue_(queue) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, threads); ++i) {
    threads_.emplace_back([this, name, priority] {
      pthread_setname_np(pthread_self(), name);
      if (priority == Priority::Background) {
        sched_param none{};
        if (int rc = pthread_setschedparam(pthread_self(), SCHED_IDLE, &none); rc != 0) {
          spdlog::warn("{}: cannot run in the background (error {}); it runs as the others", name,
                       rc);
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
