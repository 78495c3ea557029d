#include "stream.h"

#include <unordered_set>

#include <boost/json/serialize.hpp>

#include "codec.h"

namespace baton::api {

using engine::Agent;
using engine::AgentId;
using engine::Case;
using engine::Handoff;
using engine::Mutation;
using engine::Offer;
using engine::OfferStatus;

namespace {

Message envelope(std::string_view type, const std::string& data) {
  std::string m;
  m.reserve(data.size() + type.size() + 20);
  m += R"({"type":")";
  m += type;
  m += R"(","data":)";
  m += data;
  m += '}';
  return std::make_shared<const std::string>(std::move(m));
}

// An offer with its case inside: {"id": "off_…", …, "case": {…}}.
Message offer_message(const Offer& o, const Case* c) {
  std::string data = json::serialize(to_json(o));
  if (c != nullptr) {
    data.pop_back();
    data += R"(,"case":)";
    data += case_text(*c);
    data += '}';
  }
  return envelope("offer", data);
}

}  // namespace

StreamHub::StreamHub(EnginePost post, engine::Engine& engine)
    : post_(std::move(post)), engine_(&engine) {}

void StreamHub::seed(const engine::Engine& engine) {
  std::lock_guard lock(mu_);
  for (const Agent* a : engine.agents()) {
    for (const Offer* o : engine.pending_offers(a->id)) {
      pending_[a->id][o->id.value()] = offer_message(*o, engine.find_case(o->case_id));
    }
  }
}

void StreamHub::subscribe(const std::shared_ptr<Subscriber>& s, const StreamGrant& grant) {
  std::lock_guard lock(mu_);
  subs_[s.get()] = Entry{grant.agent, grant.staff};
  if (grant.staff) {
    staff_.emplace_back(s.get(), s);
  }
  if (grant.agent) {
    auto& mine = by_agent_[*grant.agent];
    mine.emplace_back(s.get(), s);
    if (mine.size() == 1) {
      // Posted under the lock, so the engine sees opens and closes in their order.
      post_([agent = *grant.agent, engine = engine_] { engine->stream_opened(agent); });
    }
    if (auto it = pending_.find(*grant.agent); it != pending_.end()) {
      for (const auto& [id, m] : it->second) {
        s->push(m);
      }
    }
  }
}

void StreamHub::unsubscribe(const Subscriber* s) {
  std::lock_guard lock(mu_);
  auto it = subs_.find(s);
  if (it == subs_.end()) {
    return;
  }
  auto drop = [s](Subs& from) { std::erase_if(from, [s](const auto& e) { return e.first == s; }); };
  if (it->second.staff) {
    drop(staff_);
  }
  if (const auto& agent = it->second.agent) {
    auto mine = by_agent_.find(*agent);
    if (mine != by_agent_.end()) {
      drop(mine->second);
      if (mine->second.empty()) {
        by_agent_.erase(mine);
        post_([agent = *agent, engine = engine_] { engine->stream_closed(agent); });
      }
    }
  }
  subs_.erase(it);
}

void StreamHub::send(const Subs& to, const Message& m) {
  for (const auto& [key, weak] : to) {
    if (auto s = weak.lock()) {
      s->push(m);
      sent_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void StreamHub::send_agent(const AgentId& agent, const Message& m) {
  if (auto it = by_agent_.find(agent); it != by_agent_.end()) {
    send(it->second, m);
  }
}

void StreamHub::send_staff(const Message& m) { send(staff_, m); }

bool StreamHub::listens(const AgentId& agent) const { return by_agent_.count(agent) != 0; }

void StreamHub::publish(const Mutation& m) {
  // An object may appear more than once (commands merged into one commit); its last
  // state is the one that counts, except that every offer made is announced. Most
  // mutations hold one case: the tables are made only for more.
  bool many = m.cases.size() > 1;
  std::unordered_map<std::uint64_t, const Case*> last_case;
  if (many) {
    for (const Case& c : m.cases) {
      last_case[c.id.value()] = &c;
    }
  }
  auto last_of = [&](engine::CaseId id) -> const Case* {
    if (!many) {
      return m.cases.empty() || m.cases[0].id != id ? nullptr : &m.cases[0];
    }
    auto it = last_case.find(id.value());
    return it == last_case.end() ? nullptr : it->second;
  };
  std::lock_guard lock(mu_);
  for (const Offer& o : m.offers) {
    if (o.status == OfferStatus::Pending) {
      auto msg = offer_message(o, last_of(o.case_id));
      pending_[o.agent][o.id.value()] = msg;
      send_agent(o.agent, msg);
      continue;
    }
    auto p = pending_.find(o.agent);
    if (p != pending_.end()) {
      p->second.erase(o.id.value());
      if (p->second.empty()) {
        pending_.erase(p);
      }
    }
    if ((o.status == OfferStatus::TimedOut || o.status == OfferStatus::Revoked) &&
        listens(o.agent)) {
      send_agent(o.agent, envelope("offer_revoked", json::serialize(to_json(o))));
    }
  }
  // Below, a message is only written when someone will get it: with no stream open the
  // journal's completion thread pays for the bookkeeping alone.
  std::unordered_set<std::uint64_t> sent;
  for (auto c = m.cases.rbegin(); c != m.cases.rend(); ++c) {
    if (many && !sent.insert(c->id.value()).second) {
      continue;
    }
    std::optional<AgentId> before;
    if (auto it = owner_.find(c->id.value()); it != owner_.end()) {
      before = it->second;
      if (before != c->assignee) {
        owner_.erase(it);
      }
    }
    if (!is_open(c->status)) {
      owner_.erase(c->id.value());
    } else if (c->assignee) {
      owner_[c->id.value()] = *c->assignee;
    }
    bool to_owner = c->assignee && listens(*c->assignee);
    // A case that left an agent (transferred, reopened, requeued) tells that agent too.
    bool to_before = before && before != c->assignee && listens(*before);
    if (!to_owner && !to_before && staff_.empty()) {
      continue;
    }
    auto msg = envelope("case_updated", case_text(*c));
    if (to_owner) {
      send_agent(*c->assignee, msg);
    }
    if (to_before) {
      send_agent(*before, msg);
    }
    send_staff(msg);
  }
  for (const Handoff& h : m.handoffs) {
    bool to_from = h.from_agent && listens(*h.from_agent);
    bool to_to = h.to_agent && h.to_agent != h.from_agent && listens(*h.to_agent);
    if (!to_from && !to_to && staff_.empty()) {
      continue;
    }
    auto msg = envelope("handoff", json::serialize(to_json(h)));
    if (to_from) {
      send_agent(*h.from_agent, msg);
    }
    if (to_to) {
      send_agent(*h.to_agent, msg);
    }
    send_staff(msg);
  }
  for (const auto& e : m.events) {
    if (e.type != engine::EventType::SlaBreached && e.type != engine::EventType::Escalated) {
      continue;
    }
    // The events a supervisor acts on, as they happen (webhooks take the same seam).
    auto owner = owner_.find(e.case_id.value());
    bool to_owner = owner != owner_.end() && listens(owner->second);
    if (!to_owner && staff_.empty()) {
      continue;
    }
    auto msg = envelope(e.type == engine::EventType::SlaBreached ? "sla_breached" : "escalated",
                        json::serialize(to_json(e)));
    if (to_owner) {
      send_agent(owner->second, msg);
    }
    send_staff(msg);
  }
  for (const Agent& a : m.agents) {
    if (!listens(a.id) && staff_.empty()) {
      continue;
    }
    auto msg = envelope("agent_updated", json::serialize(to_json(a)));
    send_agent(a.id, msg);
    send_staff(msg);
  }
}

void StreamHub::to_staff(const Message& m) {
  std::lock_guard lock(mu_);
  send_staff(m);
}

bool StreamHub::has_staff() const {
  std::lock_guard lock(mu_);
  return !staff_.empty();
}

std::string StreamHub::metrics_text() const {
  std::size_t open = 0;
  {
    std::lock_guard lock(mu_);
    open = subs_.size();
  }
  return "# TYPE baton_stream_connections gauge\nbaton_stream_connections " + std::to_string(open) +
         "\n# TYPE baton_stream_messages_total counter\nbaton_stream_messages_total " +
         std::to_string(sent_.load(std::memory_order_relaxed)) +
         "\n# TYPE baton_stream_dropped_total counter\nbaton_stream_dropped_total " +
         std::to_string(dropped_.load(std::memory_order_relaxed)) + "\n";
}

}  // namespace baton::api
