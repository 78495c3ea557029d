#pragma once

// Which connections the server holds, by client address, and what each is doing: the
// accept path admits a connection against `max_connections` and the per-address cap,
// making room by closing the connection idle longest, or else the one that has been
// sending one request longest (past `slow_request`: a client trickling its request, as
// Slowloris does, gives up its place to a new client). Shared by the sessions (they may
// outlive the server by a moment); thread-safe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace baton::api {

class ConnectionTable : public std::enable_shared_from_this<ConnectionTable> {
 public:
  struct Limits {
    std::size_t max_connections = 1024;
    std::size_t per_address = 256;  // 0: no cap
    // A connection still receiving one request after this long may be evicted for room
    // when none is idle.
    std::chrono::steady_clock::duration slow_request = std::chrono::seconds(1);
  };
  enum class State {
    Busy,       // answers owed, or a stream: never evicted
    Idle,       // waiting for a request with nothing owed
    Receiving,  // a request has begun arriving and is not yet whole
  };
  // What a connection is asked to do when it is chosen to make room: close itself, from
  // its own strand. Called outside the table's lock.
  using Evict = std::function<void()>;

  // One admitted connection; leaves the table when destroyed (or when moved from, the
  // new holder does). Empty when the connection was refused.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& o) noexcept : table_(std::move(o.table_)), id_(o.id_) { o.id_ = 0; }
    Ticket& operator=(Ticket&& o) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket();

    explicit operator bool() const { return id_ != 0; }
    // How the connection closes itself when the table needs its place; set once.
    void on_evict(Evict evict);
    void set(State state);
    // Not to be evicted ever again (a WebSocket stream).
    void pin();

   private:
    friend class ConnectionTable;
    Ticket(std::shared_ptr<ConnectionTable> t, std::uint64_t id) : table_(std::move(t)), id_(id) {}
    std::shared_ptr<ConnectionTable> table_;
    std::uint64_t id_ = 0;
  };

  enum class Refused { None, Address, Full };

  static std::shared_ptr<ConnectionTable> make(Limits limits);

  // Admits a connection from `address`. At the per-address cap it is refused; with the
  // table full, the connection idle longest is evicted to make room, or else the one
  // receiving a request longest if that began over `slow_request` ago; without either it
  // is refused. `why` says which.
  Ticket admit(const std::string& address, Refused* why = nullptr);
  // Evicts the connection idle longest, if any (the accept path, out of descriptors).
  bool evict_oldest_idle();

  std::size_t size() const;
  // Prometheus lines: open connections, refused by reason, evicted by state.
  std::string metrics_text() const;

  explicit ConnectionTable(Limits limits) : limits_(limits) {}

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::string address;
    Evict evict;
    State state = State::Busy;
    bool pinned = false;
    Clock::time_point since{};                   // when it entered `state`
    std::list<std::uint64_t>::iterator in_list;  // in idle_ or receiving_, by state
  };
  void leave(std::uint64_t id);
  void set_state(std::uint64_t id, State state);
  void pin(std::uint64_t id);
  void set_evict(std::uint64_t id, Evict evict);
  // REQUIRES: mu_ held. Takes out the connection to evict for room (the oldest idle, or
  // with `slow_too` the oldest slow receiver); returns its Evict, empty if none.
  Evict take_evictable(bool slow_too);
  std::list<std::uint64_t>* list_of(State state);
  void drop(std::unordered_map<std::uint64_t, Entry>::iterator it);  // REQUIRES: mu_ held

  const Limits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::uint64_t, Entry> entries_;          // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::size_t> per_address_;  // GUARDED_BY(mu_)
  std::list<std::uint64_t> idle_;                             // GUARDED_BY(mu_): oldest first
  std::list<std::uint64_t> receiving_;                        // GUARDED_BY(mu_): oldest first
  std::uint64_t next_id_ = 1;                                 // GUARDED_BY(mu_)
  std::uint64_t refused_address_ = 0, refused_full_ = 0;      // GUARDED_BY(mu_)
  std::uint64_t evicted_idle_ = 0, evicted_slow_ = 0;         // GUARDED_BY(mu_)
};

}  // namespace baton::api
