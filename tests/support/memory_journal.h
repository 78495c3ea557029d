#pragma once

// An in-memory Journal: commits at once (or fails on demand) and keeps every mutation,
// so tests can read case timelines without SQLite.

#include <string>
#include <vector>

#include "baton/engine/ports.h"

namespace baton::testing {

class MemoryJournal final : public engine::Journal {
 public:
  void append(std::shared_ptr<const engine::Mutation> m,
              std::function<void(Status)> done) override {
    if (fail_next_) {
      fail_next_ = false;
      done(Error(ErrorCode::Unavailable, "disk full"));
      return;
    }
    mutations.push_back(*m);
    done({});
  }
  void fail_next() { fail_next_ = true; }

  std::vector<engine::CaseEvent> events_of(engine::CaseId id) const {
    std::vector<engine::CaseEvent> out;
    for (const auto& m : mutations) {
      for (const auto& e : m.events) {
        if (e.case_id == id) {
          out.push_back(e);
        }
      }
    }
    return out;
  }
  std::vector<std::string> event_types_of(engine::CaseId id) const {
    std::vector<std::string> out;
    for (const auto& e : events_of(id)) {
      out.emplace_back(engine::to_string(e.type));
    }
    return out;
  }

  std::vector<engine::Mutation> mutations;

 private:
  bool fail_next_ = false;
};

// A Publisher that records what it was given.
class RecordingPublisher final : public engine::Publisher {
 public:
  void publish(const engine::Mutation& m) override { published.push_back(m); }
  std::vector<engine::Mutation> published;
};

}  // namespace baton::testing
