#pragma once

// The engine: one workspace's state and every command that changes it. Single-threaded
// (the caller runs it on one strand); deterministic for a given clock and command order.
//
// Each command either applies, hands one Mutation (new state + events) to the journal
// and returns the result, or is refused with a typed Error that says why and changes
// nothing. Invariants (an agent never exceeds its capacity; a case has at most one
// owner) are asserted after every change.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "baton/base/result.h"
#include "baton/engine/model.h"
#include "baton/engine/ports.h"
#include "baton/engine/snapshot.h"
#include "baton/engine/timer_queue.h"
#include "baton/routing/router.h"
#include "baton/routing/rules.h"

namespace baton::engine {

struct EngineConfig {
  // After this many consecutive lapsed offers an agent is set away (0: never).
  int away_after_missed_offers = 3;
  // How many candidates a routing decision lists.
  std::size_t explain_limit = 8;
  // Drop closed and abandoned cases from memory (their history lives in the journal).
  bool evict_finished = false;
  // An available agent whose last stream connection closed goes away after this long
  // (a reconnect within it changes nothing).
  Duration presence_grace{30'000};
  // Calling code put in front of a national phone number ("82": 010-… is +8210…);
  // empty: phone identities must be international.
  std::string default_country;
  // The per-case tables are sized for this many open cases when the engine starts, so it
  // never stops to rehash them on the way there: a rehash walks every entry and holds the
  // engine (and every command behind it) for ~10 ms per 50,000 cases. Past it they grow.
  std::size_t expected_open_cases = 0;
  // Where the time zones of the rules' calendars come from (the saved rules that restore()
  // parses, and every rule set a caller parses for this engine).
  routing::ZoneSource zones = routing::utc_only();
  // What a rule set may ask ([routing] in baton.toml): every rule set parsed for this
  // engine, the saved ones that restore() reads included, is held to these.
  routing::RuleLimits rule_limits;
};

struct NewAgent {
  AgentId id;
  std::string name;
  Role role = Role::Agent;
  std::vector<std::string> teams;
  SkillLevels skills;
  std::vector<std::string> languages;
  ChannelCounts capacity{};
};

struct AgentPatch {
  std::optional<std::string> name;
  std::optional<Role> role;
  std::optional<std::vector<std::string>> teams;
  std::optional<SkillLevels> skills;
  std::optional<std::vector<std::string>> languages;
  std::optional<ChannelCounts> capacity;
};

struct NewAccount {
  std::string name;
  std::string tier;
  std::string segment;
  std::optional<AgentId> sales_owner;
};

struct NewCustomer {
  std::string name;
  std::optional<AccountId> account;
  std::vector<Identity> identities;
};

// A case's customer: an existing id, or an identity (found or created).
struct CustomerRef {
  std::optional<CustomerId> id;
  std::optional<Identity> identity;
  std::string name;
};

struct NewCase {
  Channel channel = Channel::Chat;
  std::string type = "support";
  std::string subject;
  std::string body;
  CustomerRef customer;
  int priority = 0;  // 0: the rules decide, else 3
  SkillLevels required_skills;
  Attributes attributes;
  std::string external_ref;
  std::string actor = "gateway";
};

struct NewHandoff {
  std::string to;  // "sales_owner", an agent id, or "team:NAME"
  HandoffReason reason = HandoffReason::Other;
  std::string note;
  bool transfer = false;  // also release the source case from its owner (resolve it)
  std::string actor;
  // The source case's last messages, oldest first ("in" or "out", body): the linked case
  // starts with them in a context note, so its agent need not open the source.
  std::vector<std::pair<std::string, std::string>> recent_messages;
};

// One routing decision, kept so a case can say why it is where it is.
struct RoutingRecord {
  CaseId case_id;
  TimePoint at{};
  std::string rule;  // the rule that chose the queue ("" = default queue)
  std::string queue;
  SkillLevels required_skills;
  std::vector<routing::Candidate> candidates;
  std::optional<AgentId> chosen;
  std::string why;
};

// A candidate of a routing decision, in words.
struct ExplainedCandidate {
  AgentId agent;
  bool eligible = false;
  std::string reason;  // "eligible", "declined", "skill billing 3 < 5", "at capacity (chat 3/3)"
};

struct AcceptResult {
  Offer offer;
  Case case_;
};

struct EngineCounters {
  std::uint64_t cases_created = 0;
  std::uint64_t offers_made = 0;
  std::uint64_t offers_accepted = 0;
  std::uint64_t offers_declined = 0;
  std::uint64_t offers_timed_out = 0;
  std::uint64_t offers_revoked = 0;
  // Rules whose `matches`/`contains` read only a prefix of a longer text and found
  // nothing there (routing.match_text_bytes): each one counted, and logged by warn().
  std::uint64_t match_cut_short = 0;
};

// A queue as a supervisor sees it now.
struct QueueStats {
  std::string queue;
  std::size_t waiting = 0;  // queued or offered, not yet accepted
  std::optional<TimePoint> oldest_waiting_since;
  std::size_t agents_available = 0;  // available with room for some channel
  std::size_t agents_busy = 0;       // online (available or wrap-up) and working a case
  // Today (UTC): cases accepted, and those accepted within the queue's answer_within.
  std::uint64_t answered_today = 0;
  std::uint64_t answered_in_target_today = 0;
  double target = 0;
  Duration answer_within{0};
};

class Engine {
 public:
  Engine(Clock& clock, routing::RuleSet rules, EngineConfig config = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Ports are optional: with no journal a command counts as committed at once.
  void set_journal(Journal* journal) { journal_ = journal; }
  void set_publisher(Publisher* publisher) { publisher_ = publisher; }
  // Called with each routing decision (the decisions are not part of the case timeline),
  // which the sink may keep: it is made for the sink alone.
  void set_decision_sink(std::function<void(RoutingRecord&&)> sink) {
    decision_sink_ = std::move(sink);
  }

  // Where the engine may be touched: `on_owner()` says whether the caller runs there (the
  // server's engine strand, whose handlers may run on any io thread). Checked where every
  // command begins and where timers fire; a call from elsewhere aborts (it would race the
  // strand). Until this is set, the first thread that runs a command owns the engine.
  void set_owner_check(std::function<bool()> on_owner) { on_owner_ = std::move(on_owner); }
  // Where the engine says what an operator should know of a case but that is no command's
  // error (a rule's match cut short). Called on the engine's strand; must not block.
  void set_warning_sink(std::function<void(CaseId, const std::string&)> warn) {
    warn_ = std::move(warn);
  }

  // --- agents
  Result<Agent> create_agent(NewAgent agent);
  Result<Agent> update_agent(const AgentId& id, AgentPatch patch);
  Result<Agent> set_presence(const AgentId& id, Presence presence);
  // The agent's live stream connections (WebSocket). When the last one closes, an agent
  // still available (or in wrap-up) is set away after `presence_grace`, unless one opens
  // again first. Changes nothing at once; unknown agents are ignored.
  void stream_opened(const AgentId& id);
  void stream_closed(const AgentId& id);

  // --- accounts and customers
  Result<Account> create_account(NewAccount account);
  Result<Customer> create_customer(NewCustomer customer);
  // `from` joins `into`: its identities, its cases (open ones here, the rest in the
  // history) and so its timeline; a customer_merged event on `into`'s timeline keeps the
  // audit. `into` keeps its account, or takes `from`'s when it has none. Returns `into`.
  Result<Customer> merge_customers(CustomerId into, CustomerId from, std::string actor);

  // --- cases
  Result<Case> create_case(NewCase c);
  Result<Case> add_message(CaseId id, bool inbound, std::string body, std::string actor);
  Result<Case> add_note(CaseId id, std::string body, std::string actor);
  Result<AcceptResult> accept_offer(OfferId id, const AgentId& by);
  Result<Offer> decline_offer(OfferId id, const AgentId& by, std::string reason);
  Result<Case> set_pending(CaseId id, std::string actor);  // waiting on the customer
  Result<Case> resume(CaseId id, std::string actor);       // pending -> assigned
  Result<Case> resolve(CaseId id, std::string actor, std::string resolution);
  Result<Case> reopen(CaseId id, std::string actor);
  // A supervisor may close from any status; others only from resolved.
  Result<Case> close(CaseId id, std::string actor, bool supervisor);
  // The customer left a live channel before anyone took the case.
  Result<Case> abandon(CaseId id, std::string actor);
  Result<Case> transfer_to_queue(CaseId id, std::string queue, std::string actor, std::string note);
  Result<Case> transfer_to_agent(CaseId id, const AgentId& to, std::string actor, std::string note);
  // `finished`: the stored case, for a rating that arrives after the case left memory.
  Result<Case> record_csat(CaseId id, int score, std::string comment, std::string actor,
                           const Case* finished = nullptr);
  Result<Case> set_priority(CaseId id, int priority, std::string actor);

  // --- webhooks (admin)
  Result<Webhook> create_webhook(Webhook w);     // id and created_at are the engine's
  Result<Webhook> remove_webhook(WebhookId id);  // stops new deliveries; the record stays
  // Session tokens made or ended, passwords set, set-up audit lines: nothing the engine
  // holds in memory, committed with the command held (hold_commit), so an audit line is
  // durable in the same commit as the change it records; or alone.
  Status record_access(AccessChange change);
  const Webhook* find_webhook(WebhookId id) const;
  std::vector<const Webhook*> webhooks() const;

  // --- handoffs
  Result<Handoff> create_handoff(CaseId from, NewHandoff h);
  Result<Handoff> complete_handoff(HandoffId id, HandoffOutcome outcome, std::string actor);

  // --- recovery
  // Rebuilds the state of a workspace after a restart. REQUIRES: a new engine. The saved
  // rules win over the ones the engine was made with; with none saved, those become
  // version 1. Agents
  // come back offline; offers that were open are revoked and their cases routed again;
  // assigned cases hold their agents' slots. The changes go to the journal as a command.
  Status restore(Snapshot snapshot);

  // --- rules
  const routing::RuleSet& rules() const { return rules_; }
  const EngineConfig& config() const { return config_; }
  // A rule set parsed for this engine: its time zones, held to its limits.
  Result<routing::RuleSet> parse_rules(std::string_view source) const {
    return routing::RuleSet::parse(source, config_.zones, config_.rule_limits);
  }
  // The active version (0 until the first is saved, by restore() or set_rules()).
  int rules_version() const { return rules_version_; }
  // Makes `rules` the active version. The same source as the active one changes nothing
  // and keeps the version. Waiting cases keep their place; freed agents pull at once.
  Result<RuleVersion> set_rules(routing::RuleSet rules);

  // --- commit control (the API's request framing)
  // Holds the mutations of the commands that follow back from the journal until
  // release_commit(), which sends them as one, so the caller can learn the result and
  // answer first. REQUIRES: the caller runs nothing else on the strand in between.
  void hold_commit();
  // Sends the held mutation, with `response` stored in the same transaction, to the
  // journal. `done` runs once with the commit's outcome (on the journal's completion thread), or at
  // once with ok when there was nothing to write.
  void release_commit(std::optional<StoredResponse> response, std::function<void(Status)> done);

  // --- time
  // Fires every timer due at or before clock.now(), in due order.
  void fire_due_timers();
  std::optional<TimePoint> next_timer_due() const { return timers_.next_due(); }

  // --- reads
  const Agent* find_agent(const AgentId& id) const;
  const Case* find_case(CaseId id) const;
  const Offer* find_offer(OfferId id) const;
  const Customer* find_customer(CustomerId id) const;
  const Account* find_account(AccountId id) const;
  const Handoff* find_handoff(HandoffId id) const;
  std::vector<const Offer*> pending_offers(const AgentId& agent) const;
  std::vector<const Agent*> agents() const;
  std::size_t open_case_count() const { return cases_.size(); }
  // Open cases the per-case tables hold before one of them grows (and rehashes them all).
  std::size_t case_capacity() const;
  std::size_t waiting_count() const;
  // What the last command changed (empty before any). Shared with the journal, not copied.
  const Mutation& last_mutation() const { return *last_; }
  const EngineCounters& counters() const { return counters_; }
  // Every queue of the active rules, by name. O(open cases + agents).
  std::vector<QueueStats> queue_stats() const;
  const routing::Router& router() const { return *router_; }
  // The candidates of a decision in words (the record keeps them as data).
  std::vector<ExplainedCandidate> explain(const RoutingRecord& record) const;

  // Checks every invariant over the whole state; O(agents + cases). For tests.
  // Returns "" when all hold, else what is broken.
  std::string check_invariants_for_test() const;

  // Ok while commands are taken. After a failed commit the engine's memory may be ahead
  // of the disk, so it takes no more commands: the workspace must restart and recover
  // from its database. While the journal is saturated, commands are refused for now.
  Status writable() const;
  // Whether a commit failed: the engine's memory may hold what the database does not, so
  // nothing of it may be shown either. Any thread.
  bool storage_failed() const { return storage_failed_->load(std::memory_order_acquire); }

 private:
  struct AgentState;

  // BATON_CHECKs that the caller runs where the engine lives (set_owner_check).
  void check_owner();
  // Command framing: every public command runs between begin() and finish().
  void begin();
  void finish();
  // The command's instant: read once at begin(), so every time a command writes (its
  // events, the case's stamps) is the same millisecond; the clock outside a command.
  TimePoint command_now() const { return frame_at_ ? *frame_at_ : clock_.now(); }
  // Outbox rows for the pending events that active webhooks subscribe to.
  void queue_deliveries();
  // Hands a finished command's mutation to the journal; `done` (may be empty) follows.
  void commit(Mutation m, std::function<void(Status)> done);
  void emit(const Case& c, EventType type, std::string actor,
            std::vector<std::pair<std::string, Value>> data = {});
  void touch(const Case& c);
  void touch(const AgentState& a);
  // A line of the agent's routing history (AgentChange) in the pending mutation.
  void record_agent_change(const AgentState& a);
  void touch(const Offer& o);
  void touch_handoff(HandoffId id);
  void set_status(Case& c, CaseStatus to, const std::string& actor);

  AgentState* agent_state(const AgentId& id);
  Result<Case*> open_case(CaseId id);
  // For accept or decline: `by`'s pending offer `id` if the engine is writable(); else
  // NotFound (no such offer of `by`) or FailedPrecondition naming `verb` ("accepted").
  Result<Offer*> pending_offer(OfferId id, const AgentId& by, std::string_view verb);
  // For a command on a case: the case, if the engine is writable() and `allowed(status)`;
  // else FailedPrecondition "case N is S; <needs>" (or writable()'s error).
  Result<Case*> case_where(CaseId id, bool (*allowed)(CaseStatus), std::string_view needs);
  // The shape every status change shares: case_where(id, allowed, needs), then `check`
  // (may be empty; refuses before anything changes), then `change` inside one command.
  // Returns the case as the command left it (a copy: a finished case may leave memory).
  Result<Case> transition(CaseId id, bool (*allowed)(CaseStatus), std::string_view needs,
                          const std::function<Status(const Case&)>& check,
                          const std::function<void(Case&)>& change);
  void sync_load(AgentState& a);
  routing::CaseRequest request_for(const Case& c) const;
  // The rules' plan for a case (queue, priority, skills, tags) from its facts: the one
  // place they are built, for a posted case and for a handoff's linked case alike.
  // `client_priority` 0: none asked.
  routing::RoutingPlan plan_for(const Case& c, std::string_view body, int client_priority,
                                const SkillLevels& client_skills);
  // Routes a queued case: to its reserved agent, the queue, or the waiting line.
  void route(Case& c, const std::string& actor, std::optional<AgentId> reserve_for = {},
             Duration reserve_window = Duration{0});
  void apply(const routing::Decision& d, Case& c);
  void record(const routing::Decision& d, const Case& c);
  void make_offer(Case& c, AgentState& a);
  void pull(AgentState& a);
  // Every agent this command touched that is available takes what it can.
  void pull_touched();
  // Ends a pending offer (declined, timed out, revoked): frees the agent's slot and
  // puts the case back in the queue. Does not route it.
  void end_offer(Offer& o, OfferStatus status, const std::string& reason, const std::string& actor);
  void release_assignee(Case& c);
  void requeue(Case& c, const std::string& actor);
  void finish_case(Case& c);
  // `requeued`: a case that left this agent just now (its offer lapsed), routed again with
  // the agent's revoked offers, most urgent first.
  void set_agent_presence(AgentState& a, Presence p, const std::string& actor,
                          Case* requeued = nullptr);
  void on_timer(const Timer& t);
  // Schedules the case's SLA timers that can still fire (a stale one finds nothing to do).
  void arm_sla(const Case& c);
  void on_sla_timer(CaseId id, std::uint8_t which);
  // A queued case's next escalation step, due `after` its queued_at.
  void arm_escalation(const Case& c);
  void escalate(Case& c);
  // Routing reserved for one agent (the account owner, or the customer's last agent).
  void end_reservation(Case& c, const std::string& step);
  void end_reservations_of(const AgentId& agent, const std::string& why);
  std::string identity_key(const Identity& id) const;

  std::vector<CaseId> touched_cases_;
  std::vector<AgentState*> touched_agents_;
  std::vector<OfferId> touched_offers_;
  std::vector<HandoffId> touched_handoffs_;
  std::vector<CaseId> finished_;

  Clock& clock_;
  std::optional<TimePoint> frame_at_;  // set between begin() and finish()
  routing::RuleSet rules_;
  int rules_version_ = 0;
  EngineConfig config_;
  std::unique_ptr<routing::Router> router_;
  Journal* journal_ = nullptr;
  Publisher* publisher_ = nullptr;
  std::function<void(RoutingRecord&&)> decision_sink_;
  std::function<bool()> on_owner_;
  std::function<void(CaseId, const std::string&)> warn_;
  std::thread::id owner_thread_;  // without on_owner_: the first thread that ran a command
  TimerQueue timers_;
  EngineCounters counters_;
  Mutation pending_;  // what the current command has changed so far
  bool hold_ = false;
  std::optional<Mutation> held_;  // a finished command's mutation, waiting for release
  // Set from the journal's completion thread when a commit fails; never cleared.
  std::shared_ptr<std::atomic<bool>> storage_failed_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<const Mutation> last_ = std::make_shared<const Mutation>();

  std::unordered_map<AgentId, std::unique_ptr<AgentState>> agents_;
  std::vector<AgentState*> agent_by_slot_;
  std::unordered_map<CaseId, Case> cases_;
  std::unordered_map<OfferId, Offer> offers_;
  std::unordered_map<OfferId, TimerId> offer_timers_;
  std::unordered_map<CaseId, TimerId> owner_timers_;
  struct Reservation {
    AgentId agent;
    bool sticky = false;  // the customer's last agent, not the account owner
  };
  std::unordered_map<CaseId, Reservation> reserved_;  // beside owner_timers_
  std::unordered_map<CaseId, TimerId> escalation_timers_;
  std::unordered_map<CaseId, std::string> case_rule_;  // rule that chose the queue
  struct AnsweredToday {
    std::int64_t day = 0;  // days since the epoch, UTC
    std::uint64_t answered = 0;
    std::uint64_t in_target = 0;
  };
  std::unordered_map<std::string, AnsweredToday> answered_;
  std::unordered_map<CustomerId, Customer> customers_;
  std::unordered_map<std::string, CustomerId> customer_by_identity_;
  std::unordered_map<AccountId, Account> accounts_;
  std::unordered_map<HandoffId, Handoff> handoffs_;
  std::vector<Webhook> webhooks_;  // by id; removed ones stay, inactive
  std::unordered_map<CaseId, HandoffId> handoff_by_case_;
  std::uint64_t next_case_ = 1, next_offer_ = 1, next_handoff_ = 1, next_event_ = 1,
                next_webhook_ = 1, next_delivery_ = 1, next_customer_ = 1, next_account_ = 1,
                next_arrival_ = 1;
};

}  // namespace baton::engine
