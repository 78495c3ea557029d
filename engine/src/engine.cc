#include "baton/engine/engine.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "baton/engine/identity.h"
#include "baton/routing/assert.h"

namespace baton::engine {

using routing::AgentSlot;

struct Engine::AgentState {
  Agent agent;
  AgentSlot slot = 0;
  std::vector<OfferId> offers;  // pending offers
  std::optional<TimerId> wrap_timer;
  int streams = 0;  // open stream connections
  std::optional<TimerId> grace_timer;
  bool touched = false;
};

namespace {

// A waiting case holds up to three timers: first response, resolution and its next
// escalation step.
constexpr std::size_t kTimersPerCase = 3;

constexpr std::string_view kSystem = "system";

Error invalid(std::string field, std::string message) {
  std::string m = field + " " + message;
  return Error(ErrorCode::InvalidArgument, m, {FieldError{std::move(field), std::move(message)}});
}

Error not_found(std::string what) { return Error(ErrorCode::NotFound, what + " not found"); }

Error bad_state(std::string message) {
  return Error(ErrorCode::FailedPrecondition, std::move(message));
}

std::string case_name(CaseId id) { return "case " + std::to_string(id.value()); }

bool valid_agent_id(const std::string& id) {
  if (id.empty() || id.size() > 64) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
  });
}

std::optional<Error> check_skills(const SkillLevels& skills, const std::string& field) {
  for (const auto& [name, level] : skills) {
    if (name.empty()) {
      return invalid(field, "skill names must not be empty");
    }
    if (level < kMinSkillLevel || level > kMaxSkillLevel) {
      return invalid(field + "." + name, "must be 1–10");
    }
  }
  return std::nullopt;
}

std::optional<Error> check_capacity(const ChannelCounts& cap) {
  for (Channel ch : kAllChannels) {
    int c = cap[index_of(ch)];
    if (c < 0 || c > 100) {
      return invalid("capacity." + std::string(to_string(ch)), "must be 0–100");
    }
  }
  return std::nullopt;
}

}  // namespace

Engine::Engine(Clock& clock, routing::RuleSet rules, EngineConfig config)
    : clock_(clock),
      rules_(std::move(rules)),
      config_(config),
      router_(std::make_unique<routing::Router>(rules_, config.explain_limit)) {
  if (std::size_t n = config_.expected_open_cases; n > 0) {
    cases_.reserve(n);
    case_rule_.reserve(n);
    escalation_timers_.reserve(n);
    router_->reserve_cases(n);
    timers_.reserve(kTimersPerCase * n);
  }
}

Engine::~Engine() = default;

std::size_t Engine::case_capacity() const {
  // The tables every open case has an entry in (timers and escalations are sized with
  // them, but not every case holds one).
  return std::min(
      {entries_before_growth(cases_), entries_before_growth(case_rule_), router_->case_capacity()});
}

// ---------------------------------------------------------------- command framing

void Engine::begin() {
  BATON_ASSERT(touched_cases_.empty() && touched_agents_.empty(), "commands do not nest");
  pending_ = Mutation{};
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

namespace {

template <class T>
void append_all(std::vector<T>& to, std::vector<T>&& from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

}  // namespace

void Engine::append(Mutation& to, Mutation&& from) {
  append_all(to.agents, std::move(from.agents));
  append_all(to.customers, std::move(from.customers));
  append_all(to.accounts, std::move(from.accounts));
  append_all(to.cases, std::move(from.cases));
  append_all(to.offers, std::move(from.offers));
  append_all(to.handoffs, std::move(from.handoffs));
  append_all(to.events, std::move(from.events));
  if (from.rules) {
    to.rules = std::move(from.rules);
  }
}

void Engine::hold_commit() {
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
  e.at = clock_.now();
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

void Engine::set_status(Case& c, CaseStatus to, const std::string& actor) {
  if (c.status == to) {
    return;
  }
  CaseStatus from = c.status;
  c.status = to;
  c.updated_at = clock_.now();
  emit(c, EventType::StatusChanged, actor,
       {{"from", std::string(to_string(from))}, {"to", std::string(to_string(to))}});
  touch(c);
  if (to == CaseStatus::Pending && !c.sla_paused_at) {
    c.sla_paused_at = clock_.now();  // the resolution clock waits for the customer
  } else if (from == CaseStatus::Pending && c.sla_paused_at) {
    if (const auto* q = rules_.find_queue(c.queue); q != nullptr && c.resolution_due) {
      const auto& hours = rules_.hours_for(*q);
      c.resolution_due =
          hours.add(*c.resolution_due, hours.between(*c.sla_paused_at, clock_.now()));
    }
    c.sla_paused_at.reset();
    arm_sla(c);
  }
}

// ---------------------------------------------------------------- helpers

Engine::AgentState* Engine::agent_state(const AgentId& id) {
  auto it = agents_.find(id);
  return it == agents_.end() ? nullptr : it->second.get();
}

Result<Case*> Engine::case_where(CaseId id, bool (*allowed)(CaseStatus), std::string_view needs) {
  BATON_RETURN_IF_ERROR(writable());
  auto r = open_case(id);
  if (r.has_value() && !allowed(r.value()->status)) {
    return bad_state(case_name(id) + " is " + std::string(to_string(r.value()->status)) + "; " +
                     std::string(needs));
  }
  return r;
}

Result<Case*> Engine::open_case(CaseId id) {
  auto it = cases_.find(id);
  if (it == cases_.end()) {
    return not_found(case_name(id));
  }
  return &it->second;
}

void Engine::sync_load(AgentState& a) {
  a.agent.load = router_->loads(a.slot);
  a.agent.updated_at = clock_.now();
  touch(a);
}

routing::CaseRequest Engine::request_for(const Case& c) const {
  routing::CaseRequest r;
  r.key = c.id.value();
  r.queue = c.queue;
  if (const auto* q = rules_.find_queue(c.queue)) {
    // Escalation steps taken so far may have widened the case to other queues' teams.
    for (int i = 0; i < c.escalation_step && i < static_cast<int>(q->escalation.size()); ++i) {
      if (const auto& w = q->escalation[static_cast<std::size_t>(i)].widen_to; !w.empty()) {
        r.queue += "+" + w;
      }
    }
  }
  r.channel = c.channel;
  r.priority = c.priority;
  r.required_skills = c.required_skills;
  r.arrival = c.arrival;
  r.queued_at = c.queued_at;
  return r;
}

void Engine::record(const routing::Decision& d, const Case& c) {
  if (!decision_sink_) {
    return;
  }
  RoutingRecord rec;
  rec.case_id = c.id;
  rec.at = clock_.now();
  auto it = case_rule_.find(c.id);
  rec.rule = it == case_rule_.end() ? "" : it->second;
  rec.queue = c.queue;
  rec.required_skills = c.required_skills;
  rec.candidates = d.candidates;
  if (d.chosen) {
    rec.chosen = agent_by_slot_[*d.chosen]->agent.id;
  }
  rec.why = d.why;
  decision_sink_(std::move(rec));
}

void Engine::apply(const routing::Decision& d, Case& c) {
  record(d, c);
  if (d.chosen) {
    make_offer(c, *agent_by_slot_[*d.chosen]);
  } else {
    arm_escalation(c);
  }
}

void Engine::route(Case& c, const std::string& actor, std::optional<AgentId> reserve_for,
                   Duration reserve_window) {
  BATON_ASSERT(c.status == CaseStatus::Queued, "only queued cases are routed");
  routing::CaseRequest req = request_for(c);
  AgentState* reserved = reserve_for ? agent_state(*reserve_for) : nullptr;
  if (reserved != nullptr) {
    req.reserved_for = reserved->slot;
    auto d = router_->route(req, clock_.now());
    emit(c, EventType::Routed, actor,
         {{"queue", c.queue}, {"to_agent", reserved->agent.id.value()}, {"why", d.why}});
    if (d.chosen) {
      apply(d, c);
      return;
    }
    if (reserve_window > Duration{0}) {
      record(d, c);
      owner_timers_[c.id] = timers_.schedule(clock_.now() + reserve_window,
                                             Timer{TimerKind::OwnerWindow, c.id.value()});
      return;
    }
    // No window: go to the queue at once.
    auto d2 = router_->end_reservation(c.id.value(), clock_.now());
    apply(d2, c);
    return;
  }
  auto d = router_->route(req, clock_.now());
  emit(c, EventType::Routed, actor, {{"queue", c.queue}, {"why", d.why}});
  apply(d, c);
}

void Engine::make_offer(Case& c, AgentState& a) {
  // The router has reserved a slot for this offer.
  BATON_ASSERT(c.status == CaseStatus::Queued, "only a queued case is offered");
  BATON_ASSERT(!c.assignee && !c.offer, "a case has at most one owner");
  Offer o;
  o.id = OfferId(next_offer_++);
  o.case_id = c.id;
  o.agent = a.agent.id;
  o.created_at = clock_.now();
  const auto* q = rules_.find_queue(c.queue);
  Duration timeout = q != nullptr ? q->offer_timeout_for(c.channel) : Duration{30'000};
  o.expires_at = o.created_at + timeout;
  offer_timers_[o.id] =
      timers_.schedule(o.expires_at, Timer{TimerKind::OfferTimeout, o.id.value()});
  c.offer = o.id;
  a.offers.push_back(o.id);
  sync_load(a);
  emit(c, EventType::Offered, std::string(kSystem),
       {{"offer_id", static_cast<double>(o.id.value())},
        {"agent", a.agent.id.value()},
        {"expires_at", static_cast<double>(o.expires_at.time_since_epoch().count())}});
  set_status(c, CaseStatus::Offered, std::string(kSystem));
  touch(o);
  offers_.emplace(o.id, std::move(o));
  ++counters_.offers_made;
}

void Engine::pull_touched() {
  // pull() may touch more agents; those it reaches have just been offered work.
  for (AgentState* t : std::vector<AgentState*>(touched_agents_)) {
    if (t->agent.presence == Presence::Available) {
      pull(*t);
    }
  }
}

void Engine::pull(AgentState& a) {
  while (auto d = router_->pull(a.slot, clock_.now())) {
    Case& c = cases_.at(CaseId(d->case_key));
    apply(*d, c);
  }
}

void Engine::end_offer(Offer& o, OfferStatus status, const std::string& reason,
                       const std::string& actor) {
  BATON_ASSERT(o.status == OfferStatus::Pending, "only a pending offer ends");
  o.status = status;
  o.decided_at = clock_.now();
  o.reason = reason;
  touch(o);
  if (auto t = offer_timers_.find(o.id); t != offer_timers_.end()) {
    timers_.cancel(t->second);
    offer_timers_.erase(t);
  }
  AgentState& a = *agents_.at(o.agent);
  a.offers.erase(std::remove(a.offers.begin(), a.offers.end(), o.id), a.offers.end());
  Case& c = cases_.at(o.case_id);
  c.offer.reset();
  router_->release(a.slot, c.channel, clock_.now());
  sync_load(a);
  if (status == OfferStatus::Declined || status == OfferStatus::TimedOut) {
    router_->exclude(c.id.value(), a.slot);
  }
  EventType type = status == OfferStatus::Declined   ? EventType::Declined
                   : status == OfferStatus::TimedOut ? EventType::OfferTimedOut
                                                     : EventType::OfferRevoked;
  emit(c, type, actor,
       {{"offer_id", static_cast<double>(o.id.value())},
        {"agent", a.agent.id.value()},
        {"reason", reason}});
  if (is_open(c.status)) {
    c.queued_at = clock_.now();
    set_status(c, CaseStatus::Queued, actor);
  }
}

void Engine::release_assignee(Case& c) {
  if (!c.assignee) {
    return;
  }
  AgentState& a = *agents_.at(*c.assignee);
  // Pending cases wait on the customer and hold no slot.
  if (c.status == CaseStatus::Assigned) {
    router_->release(a.slot, c.channel, clock_.now());
    sync_load(a);
  }
  c.assignee.reset();
  touch(c);
}

void Engine::requeue(Case& c, const std::string& actor) {
  c.queued_at = clock_.now();
  set_status(c, CaseStatus::Queued, actor);
  route(c, actor);
}

void Engine::finish_case(Case& c) {
  if (auto t = owner_timers_.find(c.id); t != owner_timers_.end()) {
    timers_.cancel(t->second);
    owner_timers_.erase(t);
  }
  reserved_.erase(c.id);
  if (auto t = escalation_timers_.find(c.id); t != escalation_timers_.end()) {
    timers_.cancel(t->second);
    escalation_timers_.erase(t);
  }
  router_->withdraw(c.id.value());
  if (c.status == CaseStatus::Closed || c.status == CaseStatus::Abandoned) {
    finished_.push_back(c.id);
  }
}

std::string Engine::identity_key(const Identity& id) const {
  // Addresses are stored canonical; one stored before that (or no longer valid under a
  // changed default country) is its own key.
  auto canonical = normalize_address(id.channel, id.address, config_.default_country);
  return std::string(to_string(id.channel)) + ":" + (canonical ? *canonical : id.address);
}

// ---------------------------------------------------------------- agents

Result<Agent> Engine::create_agent(NewAgent na) {
  BATON_RETURN_IF_ERROR(writable());
  if (!valid_agent_id(na.id.value())) {
    return invalid("id", "must be 1–64 of a-z, 0-9, _ and -");
  }
  if (agents_.count(na.id) != 0) {
    return Error(ErrorCode::AlreadyExists, "agent " + na.id.value() + " already exists");
  }
  if (na.name.empty()) {
    return invalid("name", "must not be empty");
  }
  if (auto e = check_skills(na.skills, "skills")) {
    return *e;
  }
  if (auto e = check_capacity(na.capacity)) {
    return *e;
  }
  begin();
  auto st = std::make_unique<AgentState>();
  Agent& a = st->agent;
  a.id = na.id;
  a.name = std::move(na.name);
  a.role = na.role;
  a.teams = std::move(na.teams);
  a.skills = std::move(na.skills);
  a.languages = std::move(na.languages);
  a.capacity = na.capacity;
  a.presence = Presence::Offline;
  a.presence_since = a.created_at = a.updated_at = clock_.now();
  routing::AgentProfile p{a.id.value(), a.teams, a.skills, a.capacity};
  st->slot = router_->add_agent(p, clock_.now());
  BATON_CHECK(st->slot == agent_by_slot_.size(), "router slots are dense");
  agent_by_slot_.push_back(st.get());
  AgentState* raw = st.get();
  agents_.emplace(a.id, std::move(st));
  touch(*raw);
  finish();
  return raw->agent;
}

Result<Agent> Engine::update_agent(const AgentId& id, AgentPatch patch) {
  BATON_RETURN_IF_ERROR(writable());
  AgentState* st = agent_state(id);
  if (st == nullptr) {
    return not_found("agent " + id.value());
  }
  if (patch.name && patch.name->empty()) {
    return invalid("name", "must not be empty");
  }
  if (patch.skills) {
    if (auto e = check_skills(*patch.skills, "skills")) {
      return *e;
    }
  }
  if (patch.capacity) {
    if (auto e = check_capacity(*patch.capacity)) {
      return *e;
    }
    for (Channel ch : kAllChannels) {
      if ((*patch.capacity)[index_of(ch)] < st->agent.load[index_of(ch)]) {
        return Error(
            ErrorCode::FailedPrecondition,
            "capacity for " + std::string(to_string(ch)) + " is below the agent's " +
                "current load of " + std::to_string(st->agent.load[index_of(ch)]),
            {FieldError{"capacity." + std::string(to_string(ch)), "below the current load"}});
      }
    }
  }
  begin();
  Agent& a = st->agent;
  if (patch.name) {
    a.name = std::move(*patch.name);
  }
  if (patch.role) {
    a.role = *patch.role;
  }
  if (patch.teams) {
    a.teams = std::move(*patch.teams);
  }
  if (patch.skills) {
    a.skills = std::move(*patch.skills);
  }
  if (patch.languages) {
    a.languages = std::move(*patch.languages);
  }
  if (patch.capacity) {
    a.capacity = *patch.capacity;
  }
  a.updated_at = clock_.now();
  router_->update_agent(st->slot,
                        routing::AgentProfile{a.id.value(), a.teams, a.skills, a.capacity});
  touch(*st);
  pull(*st);
  finish();
  return st->agent;
}

void Engine::set_agent_presence(AgentState& st, Presence p, const std::string& actor,
                                Case* requeued) {
  Agent& a = st.agent;
  if (a.presence == p) {
    return;
  }
  if (st.wrap_timer) {
    timers_.cancel(*st.wrap_timer);
    st.wrap_timer.reset();
  }
  a.presence = p;
  a.presence_since = a.updated_at = clock_.now();
  touch(st);
  bool takes_work = p == Presence::Available;
  router_->set_available(st.slot, takes_work, clock_.now());
  if (takes_work) {
    a.missed_offers = 0;
    pull(st);
    return;
  }
  if (p == Presence::Away || p == Presence::Offline) {
    // Pending offers are revoked and those cases routed again at once (elsewhere),
    // most urgent first, so none waits behind a less urgent one that took its agent.
    std::vector<Case*> revoked;
    if (requeued != nullptr) {
      revoked.push_back(requeued);
    }
    for (OfferId oid : std::vector<OfferId>(st.offers)) {
      Offer& o = offers_.at(oid);
      end_offer(o, OfferStatus::Revoked, "agent " + std::string(to_string(p)), actor);
      ++counters_.offers_revoked;
      revoked.push_back(&cases_.at(o.case_id));
    }
    std::sort(revoked.begin(), revoked.end(), [](const Case* x, const Case* y) {
      return std::tie(x->priority, x->arrival) < std::tie(y->priority, y->arrival);
    });
    for (Case* c : revoked) {
      route(*c, std::string(kSystem));
    }
    end_reservations_of(a.id, "went " + std::string(to_string(p)));
  }
}

void Engine::end_reservations_of(const AgentId& agent, const std::string& why) {
  std::vector<CaseId> ids;
  for (const auto& [id, r] : reserved_) {
    if (r.agent == agent && r.sticky) {
      ids.push_back(id);
    }
  }
  std::sort(ids.begin(), ids.end());
  for (CaseId id : ids) {
    end_reservation(cases_.at(id), why);
  }
}

void Engine::end_reservation(Case& c, const std::string& why) {
  auto r = reserved_.find(c.id);
  std::string who = r != reserved_.end() && r->second.sticky ? "last agent " : "account owner ";
  if (r != reserved_.end()) {
    reserved_.erase(r);
  }
  if (auto t = owner_timers_.find(c.id); t != owner_timers_.end()) {
    timers_.cancel(t->second);
    owner_timers_.erase(t);
  }
  if (c.status != CaseStatus::Queued || !router_->is_waiting(c.id.value())) {
    return;
  }
  emit(c, EventType::Escalated, std::string(kSystem), {{"step", who + why}, {"queue", c.queue}});
  touch(c);
  auto d = router_->end_reservation(c.id.value(), clock_.now());
  apply(d, c);
}

void Engine::arm_sla(const Case& c) {
  if (c.first_response_due && !c.first_response_at &&
      (c.sla_breached & kFirstResponseBreached) == 0) {
    timers_.schedule(*c.first_response_due, Timer{TimerKind::SlaFirstResponse, c.id.value()});
  }
  if (c.resolution_due && !c.sla_paused_at && (c.sla_breached & kResolutionBreached) == 0) {
    timers_.schedule(*c.resolution_due, Timer{TimerKind::SlaResolution, c.id.value()});
  }
}

void Engine::on_sla_timer(CaseId id, std::uint8_t which) {
  auto it = cases_.find(id);
  if (it == cases_.end()) {
    return;
  }
  Case& c = it->second;
  bool first = which == kFirstResponseBreached;
  const auto& due = first ? c.first_response_due : c.resolution_due;
  // A timer made stale by a pause (the due time moved) or by the work being done.
  if (!due || clock_.now() < *due || (c.sla_breached & which) != 0 ||
      (first && c.first_response_at) || (!first && c.sla_paused_at) ||
      c.status == CaseStatus::Resolved || c.status == CaseStatus::Closed ||
      c.status == CaseStatus::Abandoned) {
    return;
  }
  c.sla_breached |= which;
  emit(c, EventType::SlaBreached, std::string(kSystem),
       {{"target", std::string(first ? "first_response" : "resolution")},
        {"due_ms", static_cast<double>(due->time_since_epoch().count())},
        {"queue", c.queue}});
  touch(c);
}

void Engine::arm_escalation(const Case& c) {
  const auto* q = rules_.find_queue(c.queue);
  if (q == nullptr || c.status != CaseStatus::Queued ||
      c.escalation_step >= static_cast<int>(q->escalation.size())) {
    return;
  }
  TimePoint due = c.queued_at + q->escalation[static_cast<std::size_t>(c.escalation_step)].after;
  if (auto t = escalation_timers_.find(c.id); t != escalation_timers_.end()) {
    timers_.cancel(t->second);
  }
  escalation_timers_[c.id] =
      timers_.schedule(std::max(due, clock_.now()), Timer{TimerKind::Escalation, c.id.value()});
}

void Engine::escalate(Case& c) {
  const auto* q = rules_.find_queue(c.queue);
  if (q == nullptr || c.status != CaseStatus::Queued || !router_->is_waiting(c.id.value()) ||
      owner_timers_.count(c.id) != 0 ||
      c.escalation_step >= static_cast<int>(q->escalation.size())) {
    return;  // offered or taken meanwhile, or still waiting for its reserved agent
  }
  const auto& step = q->escalation[static_cast<std::size_t>(c.escalation_step)];
  ++c.escalation_step;
  std::vector<std::pair<std::string, Value>> data{{"step", static_cast<double>(c.escalation_step)},
                                                  {"after", format_duration(step.after)},
                                                  {"queue", c.queue}};
  if (step.relax_skills > 0 && !c.required_skills.empty()) {
    for (auto& [skill, level] : c.required_skills) {
      level = std::max(1, level - step.relax_skills);
    }
    data.emplace_back("relax_skills", static_cast<double>(step.relax_skills));
  }
  if (!step.widen_to.empty()) {
    data.emplace_back("widen_to", step.widen_to);
  }
  if (step.raise_priority > 0) {
    c.priority = std::max(1, c.priority - step.raise_priority);
    data.emplace_back("priority", static_cast<double>(c.priority));
  }
  emit(c, EventType::Escalated, std::string(kSystem), std::move(data));
  touch(c);
  // Back in line with the new requirements: its place (arrival) is kept.
  router_->withdraw(c.id.value());
  route(c, std::string(kSystem));
}

Result<Agent> Engine::set_presence(const AgentId& id, Presence presence) {
  BATON_RETURN_IF_ERROR(writable());
  AgentState* st = agent_state(id);
  if (st == nullptr) {
    return not_found("agent " + id.value());
  }
  if (presence == Presence::WrapUp) {
    return invalid("presence", "must be available, away or offline (wrap_up is set by Baton)");
  }
  begin();
  set_agent_presence(*st, presence, id.value());
  finish();
  return st->agent;
}

void Engine::stream_opened(const AgentId& id) {
  AgentState* st = agent_state(id);
  if (st == nullptr) {
    return;
  }
  ++st->streams;
  if (st->grace_timer) {
    timers_.cancel(*st->grace_timer);
    st->grace_timer.reset();
  }
}

void Engine::stream_closed(const AgentId& id) {
  AgentState* st = agent_state(id);
  if (st == nullptr || st->streams == 0) {
    return;
  }
  if (--st->streams == 0 && !st->grace_timer) {
    st->grace_timer = timers_.schedule(clock_.now() + config_.presence_grace,
                                       Timer{TimerKind::PresenceGrace, st->slot});
  }
}

// ---------------------------------------------------------------- accounts, customers

Result<Account> Engine::create_account(NewAccount na) {
  BATON_RETURN_IF_ERROR(writable());
  if (na.name.empty()) {
    return invalid("name", "must not be empty");
  }
  if (na.sales_owner && agents_.count(*na.sales_owner) == 0) {
    return invalid("sales_owner", "unknown agent " + na.sales_owner->value());
  }
  begin();
  Account acc;
  acc.id = AccountId(next_account_++);
  acc.name = std::move(na.name);
  acc.tier = std::move(na.tier);
  acc.segment = std::move(na.segment);
  acc.sales_owner = na.sales_owner;
  acc.created_at = clock_.now();
  pending_.accounts.push_back(acc);
  accounts_.emplace(acc.id, acc);
  finish();
  return acc;
}

Result<Customer> Engine::create_customer(NewCustomer nc) {
  BATON_RETURN_IF_ERROR(writable());
  if (nc.account && accounts_.count(*nc.account) == 0) {
    return invalid("account_id", "unknown account");
  }
  for (std::size_t i = 0; i < nc.identities.size(); ++i) {
    auto& idn = nc.identities[i];
    std::string field = "identities[" + std::to_string(i) + "].address";
    auto canonical = normalize_address(idn.channel, idn.address, config_.default_country);
    if (!canonical) {
      return invalid(field, canonical.error().message);
    }
    idn.address = std::move(canonical).value();
    if (customer_by_identity_.count(identity_key(idn)) != 0) {
      return Error(ErrorCode::AlreadyExists, "identity already belongs to another customer",
                   {FieldError{field, "already belongs to another customer"}});
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (nc.identities[j].channel == idn.channel && nc.identities[j].address == idn.address) {
        return invalid(field, "is the same identity as identities[" + std::to_string(j) + "]");
      }
    }
  }
  begin();
  Customer c;
  c.id = CustomerId(next_customer_++);
  c.name = std::move(nc.name);
  c.account = nc.account;
  c.identities = std::move(nc.identities);
  c.created_at = clock_.now();
  for (const auto& idn : c.identities) {
    customer_by_identity_[identity_key(idn)] = c.id;
  }
  pending_.customers.push_back(c);
  customers_.emplace(c.id, c);
  finish();
  return c;
}

Result<Customer> Engine::merge_customers(CustomerId into, CustomerId from, std::string actor) {
  BATON_RETURN_IF_ERROR(writable());
  auto to_it = customers_.find(into);
  if (to_it == customers_.end()) {
    return not_found("customer " + std::to_string(into.value()));
  }
  auto from_it = customers_.find(from);
  if (from_it == customers_.end()) {
    return invalid("from", "unknown customer");
  }
  if (from == into) {
    return invalid("from", "a customer cannot be merged into itself");
  }
  if (to_it->second.merged_into) {
    return bad_state("customer " + std::to_string(into.value()) + " was merged into another");
  }
  if (from_it->second.merged_into) {
    return bad_state("customer " + std::to_string(from.value()) + " was already merged");
  }
  Customer& survivor = to_it->second;
  Customer& gone = from_it->second;
  begin();
  std::vector<std::pair<std::string, Value>> data{{"from", static_cast<double>(from.value())},
                                                  {"from_name", gone.name}};
  std::string moved_identities;
  for (Identity& idn : gone.identities) {
    customer_by_identity_[identity_key(idn)] = into;
    moved_identities += (moved_identities.empty() ? "" : ", ") +
                        std::string(to_string(idn.channel)) + ":" + idn.address;
    survivor.identities.push_back(std::move(idn));
  }
  gone.identities.clear();
  data.emplace_back("identities", moved_identities);
  if (!survivor.account && gone.account) {
    survivor.account = gone.account;
    data.emplace_back("account", static_cast<double>(gone.account->value()));
  }
  if (!survivor.last_agent) {
    survivor.last_agent = gone.last_agent;
  }
  gone.merged_into = into;
  for (auto& [id, c] : cases_) {
    if (c.customer == from) {
      c.customer = into;
      touch(c);
    }
  }
  pending_.customers.push_back(gone);
  pending_.customers.push_back(survivor);
  pending_.merges.push_back(CustomerMerge{from, into, clock_.now()});
  CaseEvent e;
  e.id = EventId(next_event_++);
  e.customer = into;
  e.type = EventType::CustomerMerged;
  e.at = clock_.now();
  e.actor = std::move(actor);
  e.data = std::move(data);
  pending_.events.push_back(std::move(e));
  finish();
  return customers_.at(into);
}

// ---------------------------------------------------------------- cases

Result<Case> Engine::create_case(NewCase nc) {
  BATON_RETURN_IF_ERROR(writable());
  if (nc.priority != 0 && (nc.priority < kMinPriority || nc.priority > kMaxPriority)) {
    return invalid("priority", "must be 1–5");
  }
  if (nc.type.empty()) {
    return invalid("type", "must not be empty");
  }
  if (nc.subject.size() > 1000) {
    return invalid("subject", "must be at most 1000 bytes");
  }
  if (auto e = check_skills(nc.required_skills, "required_skills")) {
    return *e;
  }
  const Customer* known = nullptr;
  if (nc.customer.id) {
    auto it = customers_.find(*nc.customer.id);
    if (it == customers_.end()) {
      return invalid("customer.id", "unknown customer");
    }
    if (it->second.merged_into) {
      it = customers_.find(*it->second.merged_into);  // merges point at the survivor
    }
    known = &it->second;
  } else if (nc.customer.identity) {
    auto canonical = normalize_address(nc.customer.identity->channel, nc.customer.identity->address,
                                       config_.default_country);
    if (!canonical) {
      return invalid("customer.address", canonical.error().message);
    }
    nc.customer.identity->address = std::move(canonical).value();
    auto it = customer_by_identity_.find(identity_key(*nc.customer.identity));
    if (it != customer_by_identity_.end()) {
      known = &customers_.at(it->second);
    }
  } else {
    return invalid("customer", "must be {\"id\"} or an identity {\"channel\", \"address\"}");
  }

  begin();
  if (known == nullptr) {
    Customer cu;
    cu.id = CustomerId(next_customer_++);
    cu.name = nc.customer.name;
    cu.identities.push_back(*nc.customer.identity);
    cu.created_at = clock_.now();
    customer_by_identity_[identity_key(cu.identities[0])] = cu.id;
    pending_.customers.push_back(cu);
    known = &customers_.emplace(cu.id, std::move(cu)).first->second;
  }
  const Account* account = nullptr;
  if (known->account) {
    account = &accounts_.at(*known->account);
  }

  Case c;
  c.id = CaseId(next_case_++);
  c.channel = nc.channel;
  c.type = std::move(nc.type);
  c.subject = std::move(nc.subject);
  c.customer = known->id;
  c.account = known->account;
  c.attributes = std::move(nc.attributes);
  c.external_ref = std::move(nc.external_ref);
  c.created_by = nc.actor;
  c.created_at = c.updated_at = c.queued_at = clock_.now();
  c.arrival = next_arrival_++;

  std::string customer_id = std::to_string(known->id.value());
  std::string account_id = account ? std::to_string(account->id.value()) : "";
  routing::CaseFacts facts;
  facts.channel = to_string(c.channel);
  facts.type = c.type;
  facts.subject = c.subject;
  facts.body = nc.body;
  facts.external_ref = c.external_ref;
  facts.priority = nc.priority;
  facts.customer_id = customer_id;
  facts.customer_name = known->name;
  if (account != nullptr) {
    facts.has_account = true;
    facts.account_id = account_id;
    facts.account_name = account->name;
    facts.account_tier = account->tier;
    facts.account_segment = account->segment;
  }
  facts.attributes = &c.attributes;
  auto plan = rules_.plan(facts, nc.priority, nc.required_skills);
  c.queue = plan.queue;
  c.priority = plan.priority;
  c.required_skills = std::move(plan.required_skills);
  c.tags = std::move(plan.tags);
  c.suggested_handoffs = std::move(plan.suggested_handoffs);
  if (const auto* q = rules_.find_queue(c.queue)) {
    // Due times count the queue's business hours only.
    auto targets = q->sla.targets_for(c.priority);
    const auto& hours = rules_.hours_for(*q);
    if (targets.first_response) {
      c.first_response_due = hours.add(c.created_at, *targets.first_response);
    }
    if (targets.resolution) {
      c.resolution_due = hours.add(c.created_at, *targets.resolution);
    }
  }
  case_rule_[c.id] = plan.queue_rule;
  Case& stored = cases_.emplace(c.id, std::move(c)).first->second;
  touch(stored);
  arm_sla(stored);
  ++counters_.cases_created;

  std::vector<std::pair<std::string, Value>> created{
      {"channel", std::string(to_string(stored.channel))},
      {"type", stored.type},
      {"subject", stored.subject},
      {"priority", static_cast<double>(stored.priority)},
      {"queue", stored.queue}};
  if (!plan.matched_rules.empty()) {
    std::string rules;
    for (const auto& r : plan.matched_rules) {
      rules += (rules.empty() ? "" : ", ") + r;
    }
    created.emplace_back("rules", rules);
  }
  if (!stored.suggested_handoffs.empty()) {
    created.emplace_back("suggested_handoff", stored.suggested_handoffs.front());
  }
  emit(stored, EventType::Created, nc.actor, std::move(created));
  if (!nc.body.empty()) {
    emit(stored, EventType::MessageIn, nc.actor, {{"body", std::move(nc.body)}});
  }

  std::optional<AgentId> owner;
  Duration window{0};
  bool sticky = false;
  const auto* queue = rules_.find_queue(stored.queue);
  if (plan.route_to_owner && account != nullptr && account->sales_owner &&
      agents_.count(*account->sales_owner) != 0) {
    owner = account->sales_owner;
    if (queue != nullptr) {
      window = queue->owner_first;
    }
  } else if (queue != nullptr && queue->sticky_for > Duration{0} && known->last_agent) {
    // A returning customer: the agent who last helped them, if online and in a team of
    // this queue, for a while. Never an agent who is away or offline.
    const AgentState* last = agent_state(*known->last_agent);
    bool online = last != nullptr && (last->agent.presence == Presence::Available ||
                                      last->agent.presence == Presence::WrapUp);
    bool serves =
        online && std::any_of(queue->teams.begin(), queue->teams.end(), [&](const std::string& t) {
          const auto& mine = last->agent.teams;
          return std::find(mine.begin(), mine.end(), t) != mine.end();
        });
    if (serves) {
      owner = known->last_agent;
      window = queue->sticky_for;
      sticky = true;
    }
  }
  route(stored, std::string(kSystem), owner, window);
  if (owner && owner_timers_.count(stored.id) != 0) {
    reserved_[stored.id] = Reservation{*owner, sticky};
  }
  finish();
  return cases_.at(stored.id);
}

Result<Case> Engine::add_message(CaseId id, bool inbound, std::string body, std::string actor) {
  BATON_RETURN_IF_ERROR(writable());
  auto r = open_case(id);
  if (!r) {
    return r.error();
  }
  Case& c = *r.value();
  if (body.empty()) {
    return invalid("body", "must not be empty");
  }
  if (c.status == CaseStatus::Closed || c.status == CaseStatus::Abandoned) {
    return bad_state(case_name(id) + " is " + std::string(to_string(c.status)) +
                     "; it takes no messages");
  }
  if (!inbound && c.status != CaseStatus::Assigned && c.status != CaseStatus::Pending) {
    return bad_state(case_name(id) + " is " + std::string(to_string(c.status)) +
                     "; a reply needs an assigned case");
  }
  begin();
  emit(c, inbound ? EventType::MessageIn : EventType::MessageOut, actor,
       {{"body", std::move(body)}});
  c.updated_at = clock_.now();
  touch(c);
  if (!inbound && !c.first_response_at) {
    c.first_response_at = clock_.now();
  }
  if (inbound && c.status == CaseStatus::Pending && c.assignee) {
    // The customer answered: back to the agent if it has room; else it stays pending
    // and the message waits on the timeline (the agent is at capacity).
    AgentState& a = *agents_.at(*c.assignee);
    if (router_->has_room(a.slot, c.channel)) {
      router_->reserve(a.slot, c.channel, clock_.now());
      sync_load(a);
      set_status(c, CaseStatus::Assigned, std::string(kSystem));
    }
  } else if (inbound && c.status == CaseStatus::Resolved) {
    // A new message on a resolved case reopens it.
    c.resolved_at.reset();
    c.assignee.reset();
    requeue(c, std::string(kSystem));
  }
  finish();
  return cases_.at(id);
}

Result<Case> Engine::add_note(CaseId id, std::string body, std::string actor) {
  BATON_RETURN_IF_ERROR(writable());
  auto r = open_case(id);
  if (!r) {
    return r.error();
  }
  if (body.empty()) {
    return invalid("body", "must not be empty");
  }
  begin();
  Case& c = *r.value();
  emit(c, EventType::Note, actor, {{"body", std::move(body)}});
  c.updated_at = clock_.now();
  touch(c);
  finish();
  return cases_.at(id);
}

Result<AcceptResult> Engine::accept_offer(OfferId id, const AgentId& by) {
  BATON_RETURN_IF_ERROR(writable());
  auto it = offers_.find(id);
  if (it == offers_.end() || it->second.agent != by) {
    return not_found("offer " + std::to_string(id.value()));
  }
  Offer& o = it->second;
  if (o.status != OfferStatus::Pending) {
    return bad_state("offer " + std::to_string(id.value()) + " is " +
                     std::string(to_string(o.status)) + "; only a pending offer can be accepted");
  }
  begin();
  Case& c = cases_.at(o.case_id);
  AgentState& a = *agents_.at(by);
  BATON_ASSERT(c.status == CaseStatus::Offered && c.offer == o.id, "offer and case agree");
  o.status = OfferStatus::Accepted;
  o.decided_at = clock_.now();
  touch(o);
  if (auto t = offer_timers_.find(o.id); t != offer_timers_.end()) {
    timers_.cancel(t->second);
    offer_timers_.erase(t);
  }
  a.offers.erase(std::remove(a.offers.begin(), a.offers.end(), o.id), a.offers.end());
  a.agent.missed_offers = 0;
  touch(a);
  c.offer.reset();
  c.assignee = by;
  c.accepted_at = clock_.now();
  if (!c.first_accepted_at) {
    c.first_accepted_at = c.accepted_at;
  }
  {
    auto day = std::chrono::floor<std::chrono::days>(clock_.now()).time_since_epoch().count();
    auto& today = answered_[c.queue];
    if (today.day != day) {
      today = AnsweredToday{day, 0, 0};
    }
    ++today.answered;
    const auto* q = rules_.find_queue(c.queue);
    if (q != nullptr && clock_.now() - c.queued_at <= q->sla.answer_within) {
      ++today.in_target;
    }
  }
  emit(c, EventType::Accepted, by.value(), {{"offer_id", static_cast<double>(o.id.value())}});
  emit(c, EventType::Assigned, by.value(), {{"agent", by.value()}});
  set_status(c, CaseStatus::Assigned, by.value());
  if (auto& cu = customers_.at(c.customer); cu.last_agent != by) {
    cu.last_agent = by;
    pending_.customers.push_back(cu);  // sticky routing survives a restart
  }
  if (auto h = handoff_by_case_.find(c.id); h != handoff_by_case_.end()) {
    Handoff& hf = handoffs_.at(h->second);
    if (hf.status == HandoffStatus::Open) {
      hf.status = HandoffStatus::Accepted;
      hf.accepted_at = clock_.now();
      hf.to_agent = by;
      touch_handoff(hf.id);
      std::vector<std::pair<std::string, Value>> data{
          {"handoff_id", static_cast<double>(hf.id.value())}, {"agent", by.value()}};
      emit(c, EventType::HandoffAccepted, by.value(), data);
      if (auto src = cases_.find(hf.from_case); src != cases_.end()) {
        emit(src->second, EventType::HandoffAccepted, by.value(), data);
      }
    }
  }
  ++counters_.offers_accepted;
  finish();
  return AcceptResult{offers_.at(id), cases_.at(o.case_id)};
}

Result<Offer> Engine::decline_offer(OfferId id, const AgentId& by, std::string reason) {
  BATON_RETURN_IF_ERROR(writable());
  auto it = offers_.find(id);
  if (it == offers_.end() || it->second.agent != by) {
    return not_found("offer " + std::to_string(id.value()));
  }
  Offer& o = it->second;
  if (o.status != OfferStatus::Pending) {
    return bad_state("offer " + std::to_string(id.value()) + " is " +
                     std::string(to_string(o.status)) + "; only a pending offer can be declined");
  }
  begin();
  AgentState& a = *agents_.at(by);
  a.agent.missed_offers = 0;
  end_offer(o, OfferStatus::Declined, reason.empty() ? "declined" : reason, by.value());
  ++counters_.offers_declined;
  // The case first (it has waited longest), then the freed slot pulls the next case.
  route(cases_.at(o.case_id), std::string(kSystem));
  pull(a);
  finish();
  return offers_.at(id);
}

Result<Case> Engine::set_pending(CaseId id, std::string actor) {
  auto r = case_where(
      id, [](CaseStatus s) { return s == CaseStatus::Assigned; },
      "only an assigned case can wait on the customer");
  if (!r) {
    return r.error();
  }
  Case& c = *r.value();
  begin();
  AgentState& a = *agents_.at(*c.assignee);
  router_->release(a.slot, c.channel, clock_.now());
  sync_load(a);
  set_status(c, CaseStatus::Pending, actor);
  pull(a);
  finish();
  return cases_.at(id);
}

Result<Case> Engine::resume(CaseId id, std::string actor) {
  auto r = case_where(
      id, [](CaseStatus s) { return s == CaseStatus::Pending; },
      "only a pending case can be resumed");
  if (!r) {
    return r.error();
  }
  Case& c = *r.value();
  AgentState& a = *agents_.at(*c.assignee);
  if (!router_->has_room(a.slot, c.channel)) {
    return bad_state("agent " + a.agent.id.value() + " is at capacity for " +
                     std::string(to_string(c.channel)));
  }
  begin();
  router_->reserve(a.slot, c.channel, clock_.now());
  sync_load(a);
  set_status(c, CaseStatus::Assigned, actor);
  finish();
  return cases_.at(id);
}

Result<Case> Engine::resolve(CaseId id, std::string actor, std::string resolution) {
  auto r = case_where(id, is_open, "only an open case can be resolved");
  if (!r) {
    return r.error();
  }
  Case& c = *r.value();
  begin();
  std::optional<AgentId> worker = c.assignee;
  bool was_working = c.status == CaseStatus::Assigned;
  if (c.offer) {
    end_offer(offers_.at(*c.offer), OfferStatus::Revoked, "case resolved", actor);
    ++counters_.offers_revoked;
  }
  release_assignee(c);
  c.assignee = worker;  // the resolver stays on record as the last owner
  c.resolved_at = clock_.now();
  emit(c, EventType::Note, actor, {{"resolution", std::move(resolution)}});
  set_status(c, CaseStatus::Resolved, actor);
  finish_case(c);
  if (worker) {
    AgentState& a = *agents_.at(*worker);
    const auto* q = rules_.find_queue(c.queue);
    if (was_working && is_live(c.channel) && q != nullptr && q->wrap_up > Duration{0} &&
        a.agent.presence == Presence::Available) {
      // After a live case the agent gets wrap-up time before the next offer.
      set_agent_presence(a, Presence::WrapUp, std::string(kSystem));
      a.wrap_timer =
          timers_.schedule(clock_.now() + q->wrap_up, Timer{TimerKind::WrapUpEnd, a.slot});
    } else {
      pull(a);
    }
  }
  // A case resolved while queued or offered may have freed someone else's slot.
  pull_touched();
  finish();
  return cases_.at(id);
}

Result<Case> Engine::reopen(CaseId id, std::string actor) {
  auto r = case_where(
      id, [](CaseStatus s) { return s == CaseStatus::Resolved; },
      "only a resolved case can be reopened");
  if (!r) {
    return r.error();
  }
  Case& c = *r.value();
  begin();
  c.assignee.reset();
  c.resolved_at.reset();
  requeue(c, actor);
  finish();
  return cases_.at(id);
}

Result<Case> Engine::close(CaseId id, std::string actor, bool supervisor) {
  BATON_RETURN_IF_ERROR(writable());
  auto r = open_case(id);
  if (!r) {
    return r.error();
  }
  Case& c = *r.value();
  if (c.status == CaseStatus::Closed || c.status == CaseStatus::Abandoned ||
      (!supervisor && c.status != CaseStatus::Resolved)) {
    return bad_state(
        case_name(id) + " is " + std::string(to_string(c.status)) +
        (supervisor ? "; it is already finished" : "; only a resolved case can be closed"));
  }
  begin();
  if (c.offer) {
    end_offer(offers_.at(*c.offer), OfferStatus::Revoked, "case closed", actor);
    ++counters_.offers_revoked;
  }
  std::optional<AgentId> worker = c.assignee;
  if (c.status != CaseStatus::Resolved) {
    release_assignee(c);
    c.assignee = worker;
  }
  set_status(c, CaseStatus::Closed, actor);
  finish_case(c);
  pull_touched();
  Case copy = c;  // finish() may drop the closed case from memory
  finish();
  return copy;
}

Result<Case> Engine::abandon(CaseId id, std::string actor) {
  auto r = case_where(
      id, [](CaseStatus s) { return s == CaseStatus::Queued || s == CaseStatus::Offered; },
      "only a case not yet taken can be abandoned");
  if (!r) {
    return r.error();
  }
  Case& c = *r.value();
  begin();
  AgentState* freed = nullptr;
  if (c.offer) {
    freed = agents_.at(offers_.at(*c.offer).agent).get();
    end_offer(offers_.at(*c.offer), OfferStatus::Revoked, "customer left", actor);
    ++counters_.offers_revoked;
  }
  set_status(c, CaseStatus::Abandoned, actor);
  finish_case(c);
  if (freed != nullptr) {
    pull(*freed);
  }
  Case copy = c;
  finish();
  return copy;
}

Result<Case> Engine::transfer_to_queue(CaseId id, std::string queue, std::string actor,
                                       std::string note) {
  auto r = case_where(id, is_open, "only an open case can be transferred");
  if (!r) {
    return r.error();
  }
  Case& c = *r.value();
  if (rules_.find_queue(queue) == nullptr) {
    return invalid("to_queue", "unknown queue '" + queue + "'");
  }
  begin();
  AgentState* freed = c.assignee ? agents_.at(*c.assignee).get() : nullptr;
  if (c.offer) {
    freed = agents_.at(offers_.at(*c.offer).agent).get();
    end_offer(offers_.at(*c.offer), OfferStatus::Revoked, "case transferred", actor);
  }
  release_assignee(c);
  std::string from = c.queue;
  c.queue = queue;
  c.escalation_step = 0;  // the new queue's steps, from the start
  if (auto t = owner_timers_.find(c.id); t != owner_timers_.end()) {
    timers_.cancel(t->second);  // no longer waiting for one agent
    owner_timers_.erase(t);
  }
  reserved_.erase(c.id);
  case_rule_[c.id] = "transfer";
  emit(c, EventType::Transferred, actor,
       {{"from_queue", from}, {"to_queue", queue}, {"note", note}});
  c.queued_at = clock_.now();
  set_status(c, CaseStatus::Queued, actor);
  // The freed agent weighs this case against everything else waiting before the case
  // looks for an agent: it takes the best it can, which may be this case or another.
  router_->enqueue(request_for(c));
  if (freed != nullptr && freed->agent.presence == Presence::Available) {
    pull(*freed);
  }
  if (router_->is_waiting(c.id.value())) {
    route(c, actor);
  }
  finish();
  return cases_.at(id);
}

Result<Case> Engine::transfer_to_agent(CaseId id, const AgentId& to, std::string actor,
                                       std::string note) {
  auto r = case_where(id, is_open, "only an open case can be transferred");
  if (!r) {
    return r.error();
  }
  Case& c = *r.value();
  AgentState* target = agent_state(to);
  if (target == nullptr) {
    return invalid("to_agent", "unknown agent " + to.value());
  }
  if (c.assignee == to) {
    return bad_state("agent " + to.value() + " already owns " + case_name(id));
  }
  if (target->agent.presence != Presence::Available) {
    return bad_state("agent " + to.value() + " is " +
                     std::string(to_string(target->agent.presence)));
  }
  // A slot freed on the target by revoking its own offer of this case counts as room.
  bool offered_to_target = c.offer && offers_.at(*c.offer).agent == to;
  if (!offered_to_target && !router_->has_room(target->slot, c.channel)) {
    return bad_state("agent " + to.value() + " is at capacity for " +
                     std::string(to_string(c.channel)));
  }
  begin();
  AgentState* freed = c.assignee ? agents_.at(*c.assignee).get() : nullptr;
  if (c.offer) {
    freed = agents_.at(offers_.at(*c.offer).agent).get();
    end_offer(offers_.at(*c.offer), OfferStatus::Revoked, "case transferred", actor);
  }
  release_assignee(c);
  emit(c, EventType::Transferred, actor, {{"to_agent", to.value()}, {"note", note}});
  router_->withdraw(c.id.value());
  c.queued_at = clock_.now();
  set_status(c, CaseStatus::Queued, actor);
  router_->reserve(target->slot, c.channel, clock_.now());
  make_offer(c, *target);
  if (freed != nullptr && freed != target && freed->agent.presence == Presence::Available) {
    pull(*freed);
  }
  finish();
  return cases_.at(id);
}

Result<Case> Engine::record_csat(CaseId id, int score, std::string comment, std::string actor,
                                 const Case* finished) {
  BATON_RETURN_IF_ERROR(writable());
  if (score < 1 || score > 5) {
    return invalid("score", "must be 1–5");
  }
  if (cases_.count(id) == 0 && finished != nullptr && finished->id == id &&
      !is_open(finished->status)) {
    // Surveys come back after the case closed and left memory: the rating joins its
    // timeline; the case itself does not change.
    begin();
    emit(*finished, EventType::Csat, actor,
         {{"score", static_cast<double>(score)}, {"comment", std::move(comment)}});
    finish();
    return *finished;
  }
  auto r = open_case(id);
  if (!r) {
    return r.error();
  }
  begin();
  Case& c = *r.value();
  emit(c, EventType::Csat, actor,
       {{"score", static_cast<double>(score)}, {"comment", std::move(comment)}});
  touch(c);
  finish();
  return cases_.at(id);
}

Result<Case> Engine::set_priority(CaseId id, int priority, std::string actor) {
  BATON_RETURN_IF_ERROR(writable());
  auto r = open_case(id);
  if (!r) {
    return r.error();
  }
  if (priority < kMinPriority || priority > kMaxPriority) {
    return invalid("priority", "must be 1–5");
  }
  Case& c = *r.value();
  if (!is_open(c.status)) {
    return bad_state(case_name(id) + " is " + std::string(to_string(c.status)));
  }
  begin();
  int from = c.priority;
  c.priority = priority;
  c.updated_at = clock_.now();
  touch(c);
  emit(c, EventType::PriorityChanged, actor,
       {{"from", static_cast<double>(from)}, {"to", static_cast<double>(priority)}});
  if (c.status == CaseStatus::Queued && router_->is_waiting(c.id.value())) {
    route(c, actor);  // takes its new place in line (or an agent now)
  }
  finish();
  return cases_.at(id);
}

// ---------------------------------------------------------------- webhooks

Result<Webhook> Engine::create_webhook(Webhook w) {
  BATON_RETURN_IF_ERROR(writable());
  if (!w.url.starts_with("http://") && !w.url.starts_with("https://")) {
    return invalid("url", "must be an http:// or https:// URL");
  }
  if (w.events.empty()) {
    return invalid("events", "must name at least one event (or \"*\")");
  }
  const auto& known = webhook_event_names();
  for (std::size_t i = 0; i < w.events.size(); ++i) {
    if (w.events[i] != "*" && std::find(known.begin(), known.end(), w.events[i]) == known.end()) {
      return invalid("events[" + std::to_string(i) + "]", "unknown event '" + w.events[i] + "'");
    }
  }
  if (w.secret.size() < 16) {
    return invalid("secret", "must be at least 16 characters");
  }
  begin();
  w.id = WebhookId(next_webhook_++);
  w.active = true;
  w.created_at = clock_.now();
  webhooks_.push_back(w);
  pending_.webhooks.push_back(w);
  finish();
  return w;
}

Result<Webhook> Engine::remove_webhook(WebhookId id) {
  BATON_RETURN_IF_ERROR(writable());
  auto it = std::find_if(webhooks_.begin(), webhooks_.end(),
                         [&](const Webhook& w) { return w.id == id; });
  if (it == webhooks_.end()) {
    return not_found("webhook " + std::to_string(id.value()));
  }
  begin();
  it->active = false;
  pending_.webhooks.push_back(*it);
  finish();
  return *it;
}

const Webhook* Engine::find_webhook(WebhookId id) const {
  auto it = std::find_if(webhooks_.begin(), webhooks_.end(),
                         [&](const Webhook& w) { return w.id == id; });
  return it == webhooks_.end() ? nullptr : &*it;
}

std::vector<const Webhook*> Engine::webhooks() const {
  std::vector<const Webhook*> out;
  for (const auto& w : webhooks_) {
    out.push_back(&w);
  }
  return out;
}

// ---------------------------------------------------------------- handoffs

Result<Handoff> Engine::create_handoff(CaseId from, NewHandoff nh) {
  BATON_RETURN_IF_ERROR(writable());
  auto r = open_case(from);
  if (!r) {
    return r.error();
  }
  Case& src = *r.value();
  if (src.status == CaseStatus::Closed || src.status == CaseStatus::Abandoned) {
    return bad_state(case_name(from) + " is " + std::string(to_string(src.status)));
  }
  std::optional<AgentId> target;
  std::string queue;
  const Account* account = src.account ? &accounts_.at(*src.account) : nullptr;
  if (nh.to == "sales_owner") {
    if (account == nullptr || !account->sales_owner) {
      return invalid("to", "the customer's account has no sales owner");
    }
    target = account->sales_owner;
  } else if (nh.to.starts_with("team:")) {
    std::string team = nh.to.substr(5);
    for (const auto& [name, q] : rules_.queues()) {
      if (std::find(q.teams.begin(), q.teams.end(), team) != q.teams.end()) {
        queue = name;
        break;
      }
    }
    if (queue.empty()) {
      return invalid("to", "no queue is served by team '" + team + "'");
    }
  } else {
    AgentId aid(nh.to);
    if (agents_.count(aid) == 0) {
      return invalid("to", "must be \"sales_owner\", \"team:NAME\" or a known agent id");
    }
    target = aid;
  }
  if (nh.transfer && !is_open(src.status)) {
    return bad_state(case_name(from) + " is " + std::string(to_string(src.status)) +
                     "; only an open case can be transferred");
  }

  begin();
  Handoff h;
  h.id = HandoffId(next_handoff_++);
  h.from_case = src.id;
  h.from_agent = src.assignee;
  h.to = nh.to;
  h.to_agent = target;
  h.reason = nh.reason;
  h.note = nh.note;
  h.created_at = clock_.now();

  Case lc;
  lc.id = CaseId(next_case_++);
  lc.channel = src.channel;
  lc.type = is_sales_reason(nh.reason)               ? "lead"
            : nh.reason == HandoffReason::Onboarding ? "onboarding"
                                                     : "support";
  lc.subject = src.subject;
  lc.customer = src.customer;
  lc.account = src.account;
  lc.priority = src.priority;
  lc.attributes = src.attributes;
  lc.from_handoff = h.id;
  lc.created_at = lc.updated_at = lc.queued_at = clock_.now();
  lc.arrival = next_arrival_++;
  if (queue.empty()) {
    // Leads go to the sales queue, the way back to support, as the rules say.
    routing::CaseFacts facts;
    facts.channel = to_string(lc.channel);
    facts.type = lc.type;
    facts.subject = lc.subject;
    facts.priority = lc.priority;
    if (account != nullptr) {
      facts.has_account = true;
      facts.account_name = account->name;
      facts.account_tier = account->tier;
      facts.account_segment = account->segment;
    }
    facts.attributes = &lc.attributes;
    auto plan = rules_.plan(facts, lc.priority, {});
    queue = plan.queue;
    lc.tags = plan.tags;
    case_rule_[lc.id] = plan.queue_rule;
  } else {
    case_rule_[lc.id] = "handoff to " + nh.to;
  }
  lc.queue = queue;
  h.to_case = lc.id;
  Case& linked = cases_.emplace(lc.id, std::move(lc)).first->second;
  handoffs_.emplace(h.id, h);
  handoff_by_case_[linked.id] = h.id;
  touch_handoff(h.id);
  touch(linked);
  ++counters_.cases_created;

  std::string actor = nh.actor;
  emit(src, EventType::HandedOff, actor,
       {{"handoff_id", static_cast<double>(h.id.value())},
        {"to", nh.to},
        {"reason", std::string(to_string(nh.reason))},
        {"note", nh.note},
        {"to_case", static_cast<double>(linked.id.value())}});
  touch(src);
  emit(linked, EventType::Created, actor,
       {{"channel", std::string(to_string(linked.channel))},
        {"type", linked.type},
        {"subject", linked.subject},
        {"priority", static_cast<double>(linked.priority)},
        {"queue", linked.queue},
        {"from_case", static_cast<double>(src.id.value())}});
  emit(linked, EventType::HandedOff, actor,
       {{"handoff_id", static_cast<double>(h.id.value())},
        {"from_case", static_cast<double>(src.id.value())},
        {"reason", std::string(to_string(nh.reason))},
        {"note", nh.note},
        {"subject", src.subject}});
  {
    // The context the linked case's agent starts from: why, and what was last said.
    std::string context = "Handed off (" + std::string(to_string(nh.reason)) + ")";
    if (src.assignee) {
      context += " by " + src.assignee->value();
    }
    context += ": " + (nh.note.empty() ? std::string("no note") : nh.note);
    if (!nh.recent_messages.empty()) {
      context += "\n\nLast messages:";
      for (const auto& [direction, body] : nh.recent_messages) {
        context += "\n" + std::string(direction == "in" ? "customer" : "agent") + ": " + body;
      }
    }
    emit(linked, EventType::Note, actor, {{"body", std::move(context)}, {"context", true}});
  }

  Duration window{0};
  if (target) {
    const auto* q = rules_.find_queue(queue);
    window = q != nullptr && q->owner_first > Duration{0} ? q->owner_first : Duration{120'000};
  }
  route(linked, std::string(kSystem), target, window);

  if (nh.transfer) {
    std::optional<AgentId> worker = src.assignee;
    if (src.offer) {
      end_offer(offers_.at(*src.offer), OfferStatus::Revoked, "handed off", actor);
    }
    release_assignee(src);
    src.assignee = worker;
    src.resolved_at = clock_.now();
    set_status(src, CaseStatus::Resolved, actor);
    finish_case(src);
    if (worker) {
      pull(*agents_.at(*worker));
    }
  }
  // Whoever has room now (the worker, an agent whose offer of the source was revoked)
  // takes the best waiting case.
  pull_touched();
  finish();
  return handoffs_.at(h.id);
}

Result<Handoff> Engine::complete_handoff(HandoffId id, HandoffOutcome outcome, std::string actor) {
  BATON_RETURN_IF_ERROR(writable());
  auto it = handoffs_.find(id);
  if (it == handoffs_.end()) {
    return not_found("handoff " + std::to_string(id.value()));
  }
  if (outcome == HandoffOutcome::None) {
    return invalid("outcome", "must be won, lost, resolved or no_action");
  }
  Handoff& h = it->second;
  if (h.status == HandoffStatus::Completed) {
    return bad_state("handoff " + std::to_string(id.value()) + " is already completed");
  }
  begin();
  h.status = HandoffStatus::Completed;
  h.outcome = outcome;
  h.completed_at = clock_.now();
  touch_handoff(h.id);
  std::vector<std::pair<std::string, Value>> data{{"handoff_id", static_cast<double>(h.id.value())},
                                                  {"outcome", std::string(to_string(outcome))}};
  for (CaseId cid : {h.from_case, h.to_case}) {
    if (auto c = cases_.find(cid); c != cases_.end()) {
      emit(c->second, EventType::HandoffCompleted, actor, data);
    }
  }
  finish();
  return h;
}

// ---------------------------------------------------------------- recovery

Status Engine::restore(Snapshot snap) {
  if (!agents_.empty() || !cases_.empty()) {
    return bad_state("restore needs a new engine");
  }
  if (snap.rules) {
    auto parsed = routing::RuleSet::parse(snap.rules->source);
    if (!parsed) {
      return Error(ErrorCode::Internal, "saved routing rules version " +
                                            std::to_string(snap.rules->version) +
                                            " do not parse: " + parsed.error().message);
    }
    rules_ = std::move(parsed).value();
    rules_version_ = snap.rules->version;
    router_->set_rules(rules_);
  }
  begin();
  if (!snap.rules) {
    rules_version_ = 1;
    pending_.rules = RuleVersion{1, rules_.source(), clock_.now()};
  }
  for (Agent& a : snap.agents) {
    auto st = std::make_unique<AgentState>();
    a.load = ChannelCounts{};
    if (a.presence != Presence::Offline) {
      // Nobody is connected after a restart: every agent starts offline.
      a.presence = Presence::Offline;
      a.presence_since = a.updated_at = clock_.now();
    }
    st->agent = std::move(a);
    st->slot = router_->add_agent(routing::AgentProfile{st->agent.id.value(), st->agent.teams,
                                                        st->agent.skills, st->agent.capacity},
                                  clock_.now());
    BATON_CHECK(st->slot == agent_by_slot_.size(), "router slots are dense");
    agent_by_slot_.push_back(st.get());
    AgentState* raw = st.get();
    agents_.emplace(raw->agent.id, std::move(st));
    touch(*raw);
  }
  for (Account& acc : snap.accounts) {
    accounts_.emplace(acc.id, std::move(acc));
  }
  for (Customer& cu : snap.customers) {
    for (const auto& idn : cu.identities) {
      customer_by_identity_[identity_key(idn)] = cu.id;
    }
    customers_.emplace(cu.id, std::move(cu));
  }
  for (Handoff& h : snap.handoffs) {
    handoff_by_case_[h.to_case] = h.id;
    handoffs_.emplace(h.id, std::move(h));
  }
  for (Offer& o : snap.offers) {
    offers_.emplace(o.id, std::move(o));
  }
  std::vector<Case*> to_route;
  for (Case& c : snap.cases) {
    Case& stored = cases_.emplace(c.id, std::move(c)).first->second;
    arm_sla(stored);  // due while the server was down: breached at the first timer tick
    if (stored.status == CaseStatus::Assigned) {
      auto* a = stored.assignee ? agent_state(*stored.assignee) : nullptr;
      if (a == nullptr || !router_->has_room(a->slot, stored.channel)) {
        finish();
        return Error(ErrorCode::Internal,
                     "stored " + case_name(stored.id) + " is assigned beyond its agent's capacity");
      }
      router_->reserve(a->slot, stored.channel, clock_.now());
      sync_load(*a);
    } else if (stored.status == CaseStatus::Offered) {
      to_route.push_back(&stored);
    } else if (stored.status == CaseStatus::Queued) {
      to_route.push_back(&stored);
    }
  }
  next_case_ = snap.max_case + 1;
  next_offer_ = snap.max_offer + 1;
  next_handoff_ = snap.max_handoff + 1;
  next_webhook_ = snap.max_webhook + 1;
  next_delivery_ = snap.max_delivery + 1;
  webhooks_ = std::move(snap.webhooks);
  next_event_ = snap.max_event + 1;
  next_customer_ = snap.max_customer + 1;
  next_account_ = snap.max_account + 1;
  next_arrival_ = snap.max_arrival + 1;
  // Open offers were made to agents who are not connected any more: revoke them.
  for (Case* c : to_route) {
    if (c->status != CaseStatus::Offered) {
      continue;
    }
    auto it = c->offer ? offers_.find(*c->offer) : offers_.end();
    if (it == offers_.end() || it->second.status != OfferStatus::Pending) {
      c->offer.reset();
      c->queued_at = clock_.now();
      set_status(*c, CaseStatus::Queued, std::string(kSystem));
      continue;
    }
    Offer& o = it->second;
    AgentState& a = *agents_.at(o.agent);
    // end_offer releases a slot: take it first so the books balance.
    router_->reserve(a.slot, c->channel, clock_.now());
    a.offers.push_back(o.id);
    end_offer(o, OfferStatus::Revoked, "restarted", std::string(kSystem));
    ++counters_.offers_revoked;
  }
  std::sort(to_route.begin(), to_route.end(), [](const Case* x, const Case* y) {
    return std::tie(x->priority, x->arrival) < std::tie(y->priority, y->arrival);
  });
  for (Case* c : to_route) {
    route(*c, std::string(kSystem));
  }
  finish();
  return {};
}

// ---------------------------------------------------------------- rules, timers

Result<RuleVersion> Engine::set_rules(routing::RuleSet rules) {
  BATON_RETURN_IF_ERROR(writable());
  if (rules_version_ > 0 && rules.source() == rules_.source()) {
    return RuleVersion{rules_version_, rules_.source(), clock_.now()};
  }
  begin();
  rules_ = std::move(rules);
  router_->set_rules(rules_);
  RuleVersion v{++rules_version_, rules_.source(), clock_.now()};
  pending_.rules = v;
  for (AgentState* st : agent_by_slot_) {
    if (st->agent.presence == Presence::Available) {
      pull(*st);
    }
  }
  finish();
  return v;
}

void Engine::fire_due_timers() {
  if (!writable().has_value()) {
    return;  // timers wait until the workspace takes commands again
  }
  while (auto t = timers_.pop_due(clock_.now())) {
    begin();
    on_timer(t->second);
    finish();
  }
}

void Engine::on_timer(const Timer& t) {
  switch (t.kind) {
    case TimerKind::OfferTimeout: {
      OfferId oid(t.subject);
      offer_timers_.erase(oid);
      auto it = offers_.find(oid);
      if (it == offers_.end() || it->second.status != OfferStatus::Pending) {
        return;
      }
      Offer& o = it->second;
      AgentState& a = *agents_.at(o.agent);
      end_offer(o, OfferStatus::TimedOut, "no answer", std::string(kSystem));
      ++counters_.offers_timed_out;
      ++a.agent.missed_offers;
      touch(a);
      Case& lapsed = cases_.at(o.case_id);
      if (config_.away_after_missed_offers > 0 &&
          a.agent.missed_offers >= config_.away_after_missed_offers &&
          a.agent.presence == Presence::Available) {
        // An agent who lets offers lapse again and again is not really there: its other
        // offers go back too, and all of them are routed again most urgent first.
        set_agent_presence(a, Presence::Away, std::string(kSystem), &lapsed);
      } else {
        route(lapsed, std::string(kSystem));
        pull(a);
      }
      return;
    }
    case TimerKind::OwnerWindow: {
      CaseId cid(t.subject);
      owner_timers_.erase(cid);
      if (auto it = cases_.find(cid); it != cases_.end()) {
        end_reservation(it->second, "window over");
      } else {
        reserved_.erase(cid);
      }
      return;
    }
    case TimerKind::SlaFirstResponse:
      on_sla_timer(CaseId(t.subject), kFirstResponseBreached);
      return;
    case TimerKind::SlaResolution:
      on_sla_timer(CaseId(t.subject), kResolutionBreached);
      return;
    case TimerKind::Escalation: {
      CaseId cid(t.subject);
      escalation_timers_.erase(cid);
      if (auto it = cases_.find(cid); it != cases_.end()) {
        escalate(it->second);
      }
      return;
    }
    case TimerKind::WrapUpEnd: {
      AgentState& a = *agent_by_slot_.at(t.subject);
      a.wrap_timer.reset();
      if (a.agent.presence == Presence::WrapUp) {
        set_agent_presence(a, Presence::Available, std::string(kSystem));
      }
      return;
    }
    case TimerKind::PresenceGrace: {
      AgentState& a = *agent_by_slot_.at(t.subject);
      a.grace_timer.reset();
      if (a.streams == 0 &&
          (a.agent.presence == Presence::Available || a.agent.presence == Presence::WrapUp)) {
        // Gone without saying so (closed the tab, lost the network): no new offers.
        set_agent_presence(a, Presence::Away, std::string(kSystem));
      }
      return;
    }
  }
}

// ---------------------------------------------------------------- reads

const Agent* Engine::find_agent(const AgentId& id) const {
  auto it = agents_.find(id);
  return it == agents_.end() ? nullptr : &it->second->agent;
}
const Case* Engine::find_case(CaseId id) const {
  auto it = cases_.find(id);
  return it == cases_.end() ? nullptr : &it->second;
}
const Offer* Engine::find_offer(OfferId id) const {
  auto it = offers_.find(id);
  return it == offers_.end() ? nullptr : &it->second;
}
const Customer* Engine::find_customer(CustomerId id) const {
  auto it = customers_.find(id);
  return it == customers_.end() ? nullptr : &it->second;
}
const Account* Engine::find_account(AccountId id) const {
  auto it = accounts_.find(id);
  return it == accounts_.end() ? nullptr : &it->second;
}
const Handoff* Engine::find_handoff(HandoffId id) const {
  auto it = handoffs_.find(id);
  return it == handoffs_.end() ? nullptr : &it->second;
}

std::vector<const Offer*> Engine::pending_offers(const AgentId& agent) const {
  std::vector<const Offer*> out;
  auto it = agents_.find(agent);
  if (it == agents_.end()) {
    return out;
  }
  for (OfferId id : it->second->offers) {
    out.push_back(&offers_.at(id));
  }
  return out;
}

std::vector<const Agent*> Engine::agents() const {
  std::vector<const Agent*> out;
  for (const auto* st : agent_by_slot_) {
    out.push_back(&st->agent);
  }
  return out;
}

std::vector<QueueStats> Engine::queue_stats() const {
  std::vector<QueueStats> out;
  std::unordered_map<std::string_view, std::size_t> at;
  for (const auto& [name, q] : rules_.queues()) {
    at[name] = out.size();
    QueueStats s;
    s.queue = name;
    s.target = q.sla.target;
    s.answer_within = q.sla.answer_within;
    auto today = std::chrono::floor<std::chrono::days>(clock_.now()).time_since_epoch().count();
    if (auto a = answered_.find(name); a != answered_.end() && a->second.day == today) {
      s.answered_today = a->second.answered;
      s.answered_in_target_today = a->second.in_target;
    }
    for (const auto& [id, st] : agents_) {
      const Agent& ag = st->agent;
      bool serves = std::any_of(q.teams.begin(), q.teams.end(), [&](const std::string& t) {
        return std::find(ag.teams.begin(), ag.teams.end(), t) != ag.teams.end();
      });
      if (!serves) {
        continue;
      }
      bool room = false;
      int load = 0;
      for (Channel ch : kAllChannels) {
        room = room || ag.load[index_of(ch)] < ag.capacity[index_of(ch)];
        load += ag.load[index_of(ch)];
      }
      bool online = ag.presence == Presence::Available || ag.presence == Presence::WrapUp;
      if (ag.presence == Presence::Available && room) {
        ++s.agents_available;
      }
      if (online && load > 0) {
        ++s.agents_busy;
      }
    }
    out.push_back(std::move(s));
  }
  for (const auto& [id, c] : cases_) {
    if (c.status != CaseStatus::Queued && c.status != CaseStatus::Offered) {
      continue;
    }
    auto it = at.find(c.queue);
    if (it == at.end()) {
      continue;
    }
    auto& s = out[it->second];
    ++s.waiting;
    if (!s.oldest_waiting_since || c.queued_at < *s.oldest_waiting_since) {
      s.oldest_waiting_since = c.queued_at;
    }
  }
  return out;
}

Status Engine::writable() const {
  if (storage_failed_->load()) {
    return Error(ErrorCode::Unavailable,
                 "a commit to the database failed; this workspace takes no commands until it "
                 "restarts and recovers from its database");
  }
  if (journal_ != nullptr && journal_->saturated()) {
    return Error(ErrorCode::Unavailable, "the journal is full; retry shortly");
  }
  return {};
}

std::vector<ExplainedCandidate> Engine::explain(const RoutingRecord& record) const {
  std::vector<ExplainedCandidate> out;
  out.reserve(record.candidates.size());
  for (const auto& c : record.candidates) {
    out.push_back(ExplainedCandidate{agent_by_slot_.at(c.agent)->agent.id, c.eligible(),
                                     router_->describe(c, record.queue)});
  }
  return out;
}

std::size_t Engine::waiting_count() const { return router_->stats().waiting; }

std::string Engine::check_invariants_for_test() const {
  std::unordered_map<std::string, ChannelCounts> load;
  for (const auto& [id, c] : cases_) {
    std::string name = case_name(id);
    switch (c.status) {
      case CaseStatus::Queued:
        if (c.offer) {
          return name + " is queued but has an offer";
        }
        if (c.assignee) {
          return name + " is queued but has an assignee";
        }
        break;
      case CaseStatus::Offered: {
        if (!c.offer || c.assignee) {
          return name + " is offered but has no pending offer or has an assignee";
        }
        const Offer& o = offers_.at(*c.offer);
        if (o.status != OfferStatus::Pending || o.case_id != id) {
          return name + "'s offer is not pending";
        }
        if (router_->is_waiting(id.value())) {
          return name + " is offered and still waiting";
        }
        ++load[o.agent.value()][index_of(c.channel)];
        break;
      }
      case CaseStatus::Assigned:
        if (!c.assignee || c.offer) {
          return name + " is assigned without exactly one owner";
        }
        ++load[c.assignee->value()][index_of(c.channel)];
        break;
      case CaseStatus::Pending:
        if (!c.assignee || c.offer) {
          return name + " is pending without exactly one owner";
        }
        break;
      default:
        if (c.offer) {
          return name + " is finished but has an offer";
        }
        if (router_->is_waiting(id.value())) {
          return name + " is finished but waiting";
        }
        break;
    }
  }
  std::size_t pending = 0;
  for (const auto& [id, o] : offers_) {
    if (o.status == OfferStatus::Pending) {
      ++pending;
      auto c = cases_.find(o.case_id);
      if (c == cases_.end() || c->second.offer != id) {
        return "pending offer " + std::to_string(id.value()) + " is not its case's offer";
      }
    }
  }
  std::size_t listed = 0;
  for (const auto& [id, st] : agents_) {
    const Agent& a = st->agent;
    listed += st->offers.size();
    ChannelCounts expect = load[id.value()];
    if (a.load != expect) {
      return "agent " + id.value() + "'s load does not match its offered and assigned cases";
    }
    if (a.load != router_->loads(st->slot)) {
      return "agent " + id.value() + "'s load disagrees with the router";
    }
    for (Channel ch : kAllChannels) {
      if (a.load[index_of(ch)] > a.capacity[index_of(ch)]) {
        return "agent " + id.value() + " exceeds its capacity";
      }
    }
    if (router_->available(st->slot) != (a.presence == Presence::Available)) {
      return "agent " + id.value() + "'s presence disagrees with the router";
    }
  }
  if (listed != pending) {
    return "agents' pending offers do not match the offers";
  }
  return "";
}

}  // namespace baton::engine
