#include "baton/engine/timer_queue.h"

namespace baton::engine {

void TimerQueue::reserve(std::size_t n) {
  live_.reserve(n);
  std::vector<Entry> entries;
  entries.reserve(n);
  while (!heap_.empty()) {
    entries.push_back(heap_.top());
    heap_.pop();
  }
  heap_ = decltype(heap_)(std::greater<>{}, std::move(entries));
}

std::size_t TimerQueue::capacity() const { return entries_before_growth(live_); }

TimerId TimerQueue::schedule(TimePoint due, Timer timer) {
  TimerId id = next_id_++;
  heap_.push(Entry{due, id});
  live_.emplace(id, timer);
  return id;
}

void TimerQueue::cancel(TimerId id) { live_.erase(id); }

void TimerQueue::drop_dead() const {
  while (!heap_.empty() && live_.find(heap_.top().id) == live_.end()) {
    heap_.pop();
  }
}

std::optional<TimePoint> TimerQueue::next_due() const {
  drop_dead();
  if (heap_.empty()) {
    return std::nullopt;
  }
  return heap_.top().due;
}

std::optional<std::pair<TimePoint, Timer>> TimerQueue::pop_due(TimePoint now) {
  drop_dead();
  if (heap_.empty() || heap_.top().due > now) {
    return std::nullopt;
  }
  Entry e = heap_.top();
  heap_.pop();
  auto it = live_.find(e.id);
  Timer t = it->second;
  live_.erase(it);
  return std::make_pair(e.due, t);
}

}  // namespace baton::engine
