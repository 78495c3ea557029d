// Command framing: what a command touched becomes one Mutation, held or sent to
// the journal, and published only after its commit.

#include "engine_internal.h"

namespace baton::engine {

using namespace internal;

void Engine::check_owner() {
  if (on_owner_) {
    BATON_CHECK(on_owner_(), "the engine runs on its strand alone");
    return;
  }
  if (owner_thread_ == std::thread::id()) {
    owner_thread_ = std::this_thread::get_id();
  }
  BATON_CHECK(owner_thread_ == std::this_thread::get_id(), "the engine runs on one thread alone");
}

void Engine::begin() {
  check_owner();
  BATON_ASSERT(touched_cases_.empty() && touched_agents_.empty(), "commands do not nest");
  pending_ = Mutation{};
  frame_at_ = clock_.now();
}

void Engine::queue_deliveries() {
  bool any =
      std::any_of(webhooks_.begin(), webhooks_.end(), [](const Webhook& w) { return w.active; });
  if (!any) {
    return;
  }
  for (const CaseEvent& e : pending_.events) {
    bool source = false;
    if (const Value* hid = e.find("handoff_id");
        hid != nullptr && std::holds_alternative<double>(*hid)) {
      auto h = handoffs_.find(HandoffId(static_cast<std::uint64_t>(std::get<double>(*hid))));
      source = h != handoffs_.end() && h->second.from_case == e.case_id;
    }
    std::string name = webhook_event_name(e, source);
    if (name.empty()) {
      continue;
    }
    for (const Webhook& w : webhooks_) {
      bool wants =
          w.active && std::any_of(w.events.begin(), w.events.end(),
                                  [&](const std::string& n) { return n == "*" || n == name; });
      if (wants) {
        pending_.deliveries.push_back(
            Delivery{DeliveryId(next_delivery_++), w.id, name, e.id, e.case_id, e.at});
      }
    }
  }
}

void Engine::finish() {
  frame_at_.reset();
  for (CaseId id : touched_cases_) {
    auto it = cases_.find(id);
    if (it != cases_.end()) {
      pending_.cases.push_back(it->second);
    }
  }
  for (AgentState* a : touched_agents_) {
    a->touched = false;
    BATON_ASSERT(a->agent.load == router_->loads(a->slot), "agent load agrees with the router");
    for (Channel ch : kAllChannels) {
      BATON_ASSERT(a->agent.load[index_of(ch)] <= a->agent.capacity[index_of(ch)],
                   "an agent never exceeds its capacity");
    }
    pending_.agents.push_back(a->agent);
  }
  for (OfferId id : touched_offers_) {
    auto it = offers_.find(id);
    if (it != offers_.end()) {
      pending_.offers.push_back(it->second);
    }
  }
  for (HandoffId id : touched_handoffs_) {
    pending_.handoffs.push_back(handoffs_.at(id));
  }
  touched_cases_.clear();
  touched_agents_.clear();
  touched_offers_.clear();
  touched_handoffs_.clear();

  // Finished cases leave memory after their last state is in the mutation.
  for (CaseId id : finished_) {
    auto it = cases_.find(id);
    if (it == cases_.end()) {
      continue;
    }
    router_->forget(id.value());
    if (config_.evict_finished &&
        (it->second.status == CaseStatus::Closed || it->second.status == CaseStatus::Abandoned)) {
      for (auto o = offers_.begin(); o != offers_.end();) {
        o = o->second.case_id == id ? offers_.erase(o) : std::next(o);
      }
      case_rule_.erase(id);
      cases_.erase(it);
    }
  }
  finished_.clear();
  queue_deliveries();

  if (hold_) {
    // Every command until release_commit() joins the held mutation, in order.
    if (!held_) {
      held_ = std::move(pending_);
    } else {
      append(*held_, std::move(pending_));
    }
    pending_ = Mutation{};
    return;
  }
  if (pending_.empty()) {
    return;
  }
  Mutation m = std::move(pending_);
  pending_ = Mutation{};
  commit(std::move(m), nullptr);
}

void Engine::hold_commit() {
  check_owner();
  BATON_ASSERT(!hold_ && !held_, "one held command at a time");
  hold_ = true;
}

void Engine::release_commit(std::optional<StoredResponse> response,
                            std::function<void(Status)> done) {
  // A command refused before begin() leaves nothing held.
  hold_ = false;
  Mutation m = held_ ? std::move(*held_) : Mutation{};
  held_.reset();
  m.response = std::move(response);
  if (m.empty()) {
    if (done) {
      done(Status{});
    }
    return;
  }
  commit(std::move(m), std::move(done));
}

void Engine::commit(Mutation m, std::function<void(Status)> done) {
  auto committed = std::make_shared<const Mutation>(std::move(m));
  last_ = committed;
  if (journal_ != nullptr) {
    Publisher* pub = publisher_;
    auto failed = storage_failed_;
    journal_->append(committed, [pub, committed, failed, done = std::move(done)](Status st) {
      // Commit, then publish: nothing goes out that is not durable.
      if (!st.has_value()) {
        failed->store(true);
      } else if (pub != nullptr) {
        pub->publish(*committed);
      }
      if (done) {
        done(st);
      }
    });
    return;
  }
  if (publisher_ != nullptr) {
    publisher_->publish(*committed);
  }
  if (done) {
    done(Status{});
  }
}

void Engine::emit(const Case& c, EventType type, std::string actor,
                  std::vector<std::pair<std::string, Value>> data) {
  CaseEvent e;
  e.id = EventId(next_event_++);
  e.case_id = c.id;
  e.customer = c.customer;
  e.type = type;
  e.at = command_now();
  e.actor = std::move(actor);
  e.data = std::move(data);
  pending_.events.push_back(std::move(e));
}

void Engine::touch(const Case& c) {
  if (std::find(touched_cases_.begin(), touched_cases_.end(), c.id) == touched_cases_.end()) {
    touched_cases_.push_back(c.id);
  }
}

void Engine::touch(const AgentState& a) {
  if (!a.touched) {
    const_cast<AgentState&>(a).touched = true;
    touched_agents_.push_back(const_cast<AgentState*>(&a));
  }
}

void Engine::touch(const Offer& o) {
  if (std::find(touched_offers_.begin(), touched_offers_.end(), o.id) == touched_offers_.end()) {
    touched_offers_.push_back(o.id);
  }
}

void Engine::touch_handoff(HandoffId id) {
  if (std::find(touched_handoffs_.begin(), touched_handoffs_.end(), id) ==
      touched_handoffs_.end()) {
    touched_handoffs_.push_back(id);
  }
}

}  // namespace baton::engine
