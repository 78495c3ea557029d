// The replay driver: recorded arrivals, agent histories, accept delays and handle times fed
// to one Engine on virtual time, in time order.

#include "baton/engine/replay.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <unordered_map>

#include "baton/base/assert.h"
#include "baton/engine/clock.h"
#include "baton/engine/snapshot.h"

#include "offer_collector.h"

namespace baton::engine {

double ReplayQueue::service_level() const {
  return service_level_of(answered_in_target, answered, abandoned).value_or(0);
}

namespace {

// What the driver does next, in time order; ties go in the order below, then as queued.
enum class Step { Change, Abandon, Release, Accept, Arrival };

struct Due {
  TimePoint at;
  Step step;
  std::uint64_t seq;
  std::uint64_t id;  // a case index, an engine case id or an offer id, by step
  bool operator>(const Due& o) const {
    return std::tie(at, step, seq) > std::tie(o.at, o.step, o.seq);
  }
};

bool signed_in(Presence p) { return p == Presence::Available || p == Presence::WrapUp; }

class Driver {
 public:
  Driver(const ReplayHistory& h, routing::RuleSet rules, EngineConfig config,
         const AgentsEdit& edit, Duration drain)
      : h_(h),
        edit_(edit),
        clock_(h.from),
        engine_(clock_, std::move(rules), tuned(std::move(config))),
        end_(h.to + drain) {
    engine_.set_publisher(&offers_);
  }

  ReplayOutcome run() {
    start();
    while (true) {
      std::optional<TimePoint> timer = engine_.next_timer_due();
      bool have = !due_.empty() && due_.top().at <= end_;
      if (!have && !(timer && *timer <= end_)) {
        break;
      }
      if (timer && (!have || *timer < due_.top().at)) {
        advance(*timer);
        engine_.fire_due_timers();
        ++out_.commands;
      } else {
        Due d = due_.top();
        due_.pop();
        advance(d.at);
        handle(d);
      }
      answer_offers();
    }
    finish();
    return std::move(out_);
  }

 private:
  static EngineConfig tuned(EngineConfig c) {
    c.explain_limit = 0;
    c.evict_finished = true;
    // Replayed agents answer every offer (after their recorded delay): none is set away
    // for missing them; their recorded presence says when they were away.
    c.away_after_missed_offers = 0;
    return c;
  }

  void push(TimePoint at, Step step, std::uint64_t id) { due_.push(Due{at, step, seq_++, id}); }

  void start() {
    Snapshot snap;
    std::vector<std::pair<AgentId, Presence>> presence;
    for (const Agent& a : h_.agents) {
      if (removed(a.id)) {
        continue;
      }
      presence.emplace_back(a.id, a.presence);
      Agent copy = a;
      copy.presence = Presence::Offline;
      copy.load = ChannelCounts{};
      snap.agents.push_back(std::move(copy));
    }
    snap.accounts = h_.accounts;
    snap.customers = h_.customers;
    for (const Account& a : snap.accounts) {
      snap.max_account = std::max(snap.max_account, a.id.value());
    }
    for (const Customer& c : snap.customers) {
      snap.max_customer = std::max(snap.max_customer, c.id.value());
    }
    Status st = engine_.restore(std::move(snap));
    BATON_CHECK(st.has_value(), "a replay's agents and customers restore");
    int added = 0;
    for (const auto& add : edit_.add) {
      for (int i = 0; i < add.count; ++i) {
        NewAgent na;
        na.id = AgentId("whatif-" + std::to_string(++added));
        na.name = na.id.value();
        na.teams = add.teams;
        na.skills = add.skills;
        na.capacity = add.capacity;
        BATON_CHECK(engine_.create_agent(std::move(na)).has_value(), "an added agent is valid");
        presence.emplace_back(AgentId("whatif-" + std::to_string(added)), Presence::Available);
      }
    }
    for (const auto& [id, p] : presence) {
      signed_in_since_[id.value()] = std::nullopt;
      set_presence(id, p);
    }
    for (std::size_t i = 0; i < h_.changes.size(); ++i) {
      push(h_.changes[i].at, Step::Change, i);
    }
    for (std::size_t i = 0; i < h_.cases.size(); ++i) {
      push(h_.cases[i].at, Step::Arrival, i);
    }
    out_.queue_of.resize(h_.cases.size());
  }

  bool removed(const AgentId& id) const {
    return std::find(edit_.remove.begin(), edit_.remove.end(), id) != edit_.remove.end();
  }

  void advance(TimePoint t) {
    if (t > clock_.now()) {
      clock_.set(t);
    }
  }

  // Presence as recorded; wrap-up is the engine's to start and end.
  void set_presence(const AgentId& id, Presence p) {
    if (p == Presence::WrapUp) {
      p = Presence::Available;
    }
    const Agent* a = engine_.find_agent(id);
    if (a == nullptr) {
      return;
    }
    auto& since = signed_in_since_[id.value()];
    if (signed_in(p) && !since) {
      since = clock_.now();
    } else if (!signed_in(p) && since) {
      add_signed_in(id.value(), *since, clock_.now());
      since.reset();
    }
    if (a->presence == p || (a->presence == Presence::WrapUp && p == Presence::Available)) {
      return;
    }
    auto r = engine_.set_presence(id, p);
    BATON_CHECK(r.has_value(), "a recorded presence applies");
    ++out_.commands;
  }

  void add_signed_in(const std::string& id, TimePoint from, TimePoint to) {
    from = std::max(from, h_.from);
    to = std::min(to, h_.to);
    if (to > from) {
      out_.agents[id].available_ms += static_cast<double>((to - from).count());
    }
  }

  void handle(const Due& d) {
    switch (d.step) {
      case Step::Change:
        apply_change(h_.changes[d.id]);
        break;
      case Step::Arrival:
        arrive(d.id);
        break;
      case Step::Accept:
        accept(OfferId(d.id));
        break;
      case Step::Release:
        release(CaseId(d.id));
        break;
      case Step::Abandon:
        abandon(CaseId(d.id));
        break;
    }
  }

  void apply_change(const AgentChange& ch) {
    if (removed(ch.agent)) {
      return;
    }
    const Agent* a = engine_.find_agent(ch.agent);
    if (a == nullptr) {
      return;  // made after the window began: not in the replay's roster
    }
    if (a->teams != ch.teams || a->skills != ch.skills || a->capacity != ch.capacity) {
      AgentPatch patch;
      patch.teams = ch.teams;
      patch.skills = ch.skills;
      ChannelCounts cap = ch.capacity;
      // Capacity never drops below what the agent holds in the replay (which may differ
      // from what it held in history); it follows the record once the agent has room.
      for (Channel c : kAllChannels) {
        cap[index_of(c)] = std::max(cap[index_of(c)], a->load[index_of(c)]);
      }
      patch.capacity = cap;
      auto r = engine_.update_agent(ch.agent, std::move(patch));
      BATON_CHECK(r.has_value(), "a recorded agent change applies");
      ++out_.commands;
    }
    set_presence(ch.agent, ch.presence);
  }

  void arrive(std::size_t index) {
    const ReplayCase& rc = h_.cases[index];
    NewCase nc = rc.posted;
    auto r = engine_.create_case(std::move(nc));
    ++out_.commands;
    BATON_CHECK(r.has_value(), "a recorded case posts again");
    const Case& c = r.value();
    case_index_.emplace(c.id.value(), index);
    out_.queue_of[index] = c.queue;
    ++out_.queues[c.queue].cases;
    for (const auto& reason : c.suggested_handoffs) {
      ++out_.handoffs_by_reason[reason];
    }
    if (rc.abandoned_after) {
      push(c.created_at + *rc.abandoned_after, Step::Abandon, c.id.value());
    }
  }

  void answer_offers() {
    while (!offers_.fresh.empty()) {
      std::vector<OfferId> batch;
      batch.swap(offers_.fresh);
      for (OfferId id : batch) {
        const Offer* o = engine_.find_offer(id);
        if (o == nullptr || o->status != OfferStatus::Pending) {
          continue;
        }
        push(clock_.now() + next_delay(o->agent), Step::Accept, id.value());
      }
    }
  }

  Duration next_delay(const AgentId& agent) {
    auto it = h_.accept_delays.find(agent);
    if (it == h_.accept_delays.end() || it->second.empty()) {
      return h_.default_accept_delay;
    }
    std::size_t& k = delay_turn_[agent.value()];
    Duration d = it->second[k % it->second.size()];
    ++k;
    return d;
  }

  void accept(OfferId id) {
    const Offer* o = engine_.find_offer(id);
    if (o == nullptr || o->status != OfferStatus::Pending) {
      return;  // revoked, timed out or the case left meanwhile
    }
    AgentId agent = o->agent;
    auto r = engine_.accept_offer(id, agent);
    ++out_.commands;
    BATON_CHECK(r.has_value(), "a pending offer is accepted");
    const Case& c = r->case_;
    auto it = case_index_.find(c.id.value());
    BATON_CHECK(it != case_index_.end(), "an offered case is a replayed one");
    const ReplayCase& rc = h_.cases[it->second];
    ++out_.agents[agent.value()].answered;
    if (c.first_accepted_at == c.accepted_at) {
      ReplayQueue& q = out_.queues[c.queue];
      ++q.answered;
      q.wait.add(clock_.now() - c.created_at);
      const auto* queue = engine_.rules().find_queue(c.queue);
      if ((queue != nullptr ? queue->sla : routing::SlaPolicy{})
              .answered_in_target(c.created_at, clock_.now())) {
        ++q.answered_in_target;
      }
    }
    Duration handle = rc.handle.value_or(h_.default_handle);
    handle = std::max(handle, Duration{1});
    double slots = std::max(1, engine_.find_agent(agent)->capacity[index_of(c.channel)]);
    TimePoint bs = std::max(clock_.now(), h_.from);
    TimePoint be = std::min(clock_.now() + handle, h_.to);
    if (be > bs) {
      out_.agents[agent.value()].busy_ms += static_cast<double>((be - bs).count()) / slots;
    }
    push(clock_.now() + handle, Step::Release, c.id.value());
  }

  void release(CaseId id) {
    const Case* c = engine_.find_case(id);
    if (c == nullptr || c->status != CaseStatus::Assigned) {
      return;
    }
    BATON_CHECK(engine_.resolve(id, "replay", "handled").has_value(), "a handled case resolves");
    BATON_CHECK(engine_.close(id, "replay", false).has_value(), "a resolved case closes");
    out_.commands += 2;
  }

  void abandon(CaseId id) {
    const Case* c = engine_.find_case(id);
    if (c == nullptr || (c->status != CaseStatus::Queued && c->status != CaseStatus::Offered)) {
      return;  // answered in time in this replay
    }
    std::string queue = c->queue;  // the case leaves memory with its last command
    BATON_CHECK(engine_.abandon(id, "replay").has_value(), "a waiting case is abandoned");
    ++out_.commands;
    ++out_.queues[queue].abandoned;
  }

  void finish() {
    for (auto& [id, since] : signed_in_since_) {
      if (since) {
        add_signed_in(id, *since, h_.to);
      }
    }
  }

  const ReplayHistory& h_;
  const AgentsEdit& edit_;
  VirtualClock clock_;
  Engine engine_;
  TimePoint end_;
  internal::OfferCollector offers_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  std::uint64_t seq_ = 0;
  std::unordered_map<std::uint64_t, std::size_t> case_index_;  // engine case id → history
  std::unordered_map<std::string, std::size_t> delay_turn_;
  std::map<std::string, std::optional<TimePoint>> signed_in_since_;
  ReplayOutcome out_;
};

}  // namespace

ReplayOutcome replay(const ReplayHistory& history, routing::RuleSet rules, EngineConfig config,
                     const AgentsEdit& edit, Duration drain) {
  Driver d(history, std::move(rules), std::move(config), edit, drain);
  return d.run();
}

}  // namespace baton::engine
