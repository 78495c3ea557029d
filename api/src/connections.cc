#include "connections.h"

#include <cassert>
#include <utility>

namespace baton::api {

ConnectionTable::Ticket& ConnectionTable::Ticket::operator=(Ticket&& o) noexcept {
  if (this != &o) {
    if (id_ != 0) {
      table_->leave(id_);
    }
    table_ = std::move(o.table_);
    id_ = o.id_;
    o.id_ = 0;
  }
  return *this;
}

ConnectionTable::Ticket::~Ticket() {
  if (id_ != 0) {
    table_->leave(id_);
  }
}

void ConnectionTable::Ticket::on_evict(Evict evict) {
  if (id_ != 0) {
    table_->set_evict(id_, std::move(evict));
  }
}

void ConnectionTable::Ticket::set(State state) {
  if (id_ != 0) {
    table_->set_state(id_, state);
  }
}

void ConnectionTable::Ticket::pin() {
  if (id_ != 0) {
    table_->pin(id_);
  }
}

std::shared_ptr<ConnectionTable> ConnectionTable::make(Limits limits) {
  return std::make_shared<ConnectionTable>(limits);
}

ConnectionTable::Ticket ConnectionTable::admit(const std::string& address, Refused* why) {
  Evict evict;
  std::uint64_t id = 0;
  Refused refused = Refused::None;
  {
    std::lock_guard lock(mu_);
    auto& from_address = per_address_[address];
    if (limits_.per_address != 0 && from_address >= limits_.per_address) {
      ++refused_address_;
      refused = Refused::Address;
    } else if (entries_.size() >= limits_.max_connections) {
      evict = take_evictable(true);
      if (!evict) {
        ++refused_full_;
        refused = Refused::Full;
      }
    }
    if (refused == Refused::None) {
      id = next_id_++;
      Entry e;
      e.address = address;
      entries_.emplace(id, std::move(e));
      ++from_address;
    } else if (from_address == 0) {
      per_address_.erase(address);
    }
    assert(entries_.size() <= limits_.max_connections);
  }
  if (evict) {
    evict();
  }
  if (why != nullptr) {
    *why = refused;
  }
  return id == 0 ? Ticket() : Ticket(shared_from_this(), id);
}

bool ConnectionTable::evict_oldest_idle() {
  Evict evict;
  {
    std::lock_guard lock(mu_);
    evict = take_evictable(false);
  }
  if (evict) {
    evict();
    return true;
  }
  return false;
}

ConnectionTable::Evict ConnectionTable::take_evictable(bool slow_too) {
  std::uint64_t id = 0;
  if (!idle_.empty()) {
    id = idle_.front();
    ++evicted_idle_;
  } else if (slow_too && !receiving_.empty() &&
             Clock::now() - entries_.at(receiving_.front()).since >= limits_.slow_request) {
    id = receiving_.front();
    ++evicted_slow_;
  } else {
    return {};
  }
  auto it = entries_.find(id);
  assert(it != entries_.end() && it->second.evict);
  Evict evict = std::move(it->second.evict);
  drop(it);
  return evict;
}

std::list<std::uint64_t>* ConnectionTable::list_of(State state) {
  switch (state) {
    case State::Idle:
      return &idle_;
    case State::Receiving:
      return &receiving_;
    case State::Busy:
      return nullptr;
  }
  return nullptr;
}

void ConnectionTable::drop(std::unordered_map<std::uint64_t, Entry>::iterator it) {
  if (auto* list = list_of(it->second.state)) {
    list->erase(it->second.in_list);
  }
  auto a = per_address_.find(it->second.address);
  if (a != per_address_.end() && --a->second == 0) {
    per_address_.erase(a);
  }
  entries_.erase(it);
}

void ConnectionTable::leave(std::uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end()) {  // evicted entries have left already
    drop(it);
  }
}

void ConnectionTable::set_state(std::uint64_t id, State state) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  // Only a connection that can close itself is ever evictable.
  if (it == entries_.end() || it->second.pinned || it->second.state == state || !it->second.evict) {
    return;
  }
  Entry& e = it->second;
  if (auto* from = list_of(e.state)) {
    from->erase(e.in_list);
  }
  e.state = state;
  e.since = Clock::now();
  if (auto* to = list_of(state)) {
    e.in_list = to->insert(to->end(), id);
  }
}

void ConnectionTable::pin(std::uint64_t id) {
  set_state(id, State::Busy);
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    it->second.pinned = true;
  }
}

void ConnectionTable::set_evict(std::uint64_t id, Evict evict) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    it->second.evict = std::move(evict);
  }
}

std::size_t ConnectionTable::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::string ConnectionTable::metrics_text() const {
  std::lock_guard lock(mu_);
  return "# HELP baton_connections Open client connections, streams included.\n"
         "# TYPE baton_connections gauge\nbaton_connections " +
         std::to_string(entries_.size()) +
         "\n# HELP baton_connections_by_state Open client connections: idle (waiting for a "
         "request), receiving (a request begun), busy (answers owed, or a stream).\n"
         "# TYPE baton_connections_by_state gauge\n"
         "baton_connections_by_state{state=\"idle\"} " +
         std::to_string(idle_.size()) + "\nbaton_connections_by_state{state=\"receiving\"} " +
         std::to_string(receiving_.size()) + "\nbaton_connections_by_state{state=\"busy\"} " +
         std::to_string(entries_.size() - idle_.size() - receiving_.size()) +
         "\n# HELP baton_connections_refused_total Connections closed at accept: over the "
         "per-address cap, or the server full with none idle.\n"
         "# TYPE baton_connections_refused_total counter\n"
         "baton_connections_refused_total{reason=\"address\"} " +
         std::to_string(refused_address_) + "\nbaton_connections_refused_total{reason=\"full\"} " +
         std::to_string(refused_full_) +
         "\n# HELP baton_connections_evicted_total Connections closed to make room: idle, or "
         "receiving one request for longer than slow_request.\n"
         "# TYPE baton_connections_evicted_total counter\n"
         "baton_connections_evicted_total{state=\"idle\"} " +
         std::to_string(evicted_idle_) + "\nbaton_connections_evicted_total{state=\"slow\"} " +
         std::to_string(evicted_slow_) + "\n";
}

}  // namespace baton::api
