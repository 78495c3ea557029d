#include "baton/routing/router.h"

#include <algorithm>
#include <compare>
#include <limits>
#include <tuple>

#include "baton/base/assert.h"

#include "text.h"

namespace baton::routing {

namespace {

using SkillIdx = std::uint16_t;
using TeamIdx = std::uint32_t;
using ClassIdx = std::uint32_t;
using Requirements = std::vector<std::pair<SkillIdx, int>>;  // sorted by skill

struct ClassSig {
  std::uint32_t queue = 0;
  Channel channel = Channel::Chat;
  Requirements requirements;
  auto operator<=>(const ClassSig&) const = default;
};

// Ordering of waiting cases: most urgent first, then the one that arrived first.
struct WaitKey {
  int priority = 0;
  std::uint64_t arrival = 0;
  CaseKey key = 0;
  auto operator<=>(const WaitKey&) const = default;
};

// Ordering of agents in a pool: smallest first.
struct PoolKey {
  std::int64_t k1 = 0;
  std::int64_t k2 = 0;
  AgentSlot agent = 0;
  auto operator<=>(const PoolKey&) const = default;
};

using Pool = std::set<PoolKey>;

struct Membership {
  ClassIdx cls = 0;
  int skill_sum = 0;  // the agent's levels on the class's required skills
  bool in_pool = false;
  Pool::iterator at;  // valid while in_pool: erasing by iterator is amortized O(1)
};

struct Agent {
  std::string id;
  std::vector<TeamIdx> teams;
  std::vector<std::pair<SkillIdx, int>> skills;  // sorted
  SkillLevels skill_names;
  ChannelCounts capacity{};
  ChannelCounts load{};
  bool available = false;
  std::int64_t idle_since = 0;  // ms: last offer, release or becoming available
  std::uint64_t last_offer_seq = 0;
  std::vector<Membership> classes;
  std::unordered_set<CaseKey> excluded;
  std::set<WaitKey> reserved;  // cases waiting for this agent alone

  int level(SkillIdx s) const {
    for (const auto& [k, v] : skills) {
      if (k == s) {
        return v;
      }
    }
    return 0;
  }
  int total_load() const {
    int n = 0;
    for (int l : load) {
      n += l;
    }
    return n;
  }
  int total_capacity() const {
    int n = 0;
    for (int c : capacity) {
      n += c;
    }
    return n;
  }
};

struct Class {
  ClassSig sig;
  Strategy strategy = Strategy::LongestIdle;
  std::set<WaitKey> waiting;
  Pool pool;
};

struct QueueInfo {
  std::string name;
  std::vector<TeamIdx> teams;
  Strategy strategy = Strategy::LongestIdle;
};

struct CaseEntry {
  CaseRequest request;
  ClassIdx cls = 0;
  bool waiting = false;  // in its class's waiting set or its agent's reserved set
  std::vector<AgentSlot> excluded;
};

std::string fmt_seconds(std::int64_t ms) {
  return std::to_string(std::max<std::int64_t>(0, ms) / 1000) + " s";
}

}  // namespace

struct Router::Impl {
  std::size_t explain_limit;
  std::vector<Agent> agents;
  std::unordered_map<std::string, AgentSlot> agent_by_id;
  std::vector<Class> classes;
  std::map<ClassSig, ClassIdx> class_by_sig;
  std::vector<QueueInfo> queues;
  std::map<std::string, std::uint32_t, std::less<>> queue_by_name;
  std::map<std::string, SkillIdx, std::less<>> skill_by_name;
  std::vector<std::string> skill_names;
  std::map<std::string, TeamIdx, std::less<>> team_by_name;
  std::vector<std::vector<AgentSlot>> team_members;
  std::unordered_map<CaseKey, CaseEntry> cases;
  std::uint64_t offer_seq = 0;
  std::size_t waiting_count = 0;

  SkillIdx skill(std::string_view name) {
    auto it = skill_by_name.find(name);
    if (it != skill_by_name.end()) {
      return it->second;
    }
    auto idx = static_cast<SkillIdx>(skill_names.size());
    skill_names.emplace_back(name);
    skill_by_name.emplace(std::string(name), idx);
    return idx;
  }
  TeamIdx team(std::string_view name) {
    auto it = team_by_name.find(name);
    if (it != team_by_name.end()) {
      return it->second;
    }
    auto idx = static_cast<TeamIdx>(team_members.size());
    team_members.emplace_back();
    team_by_name.emplace(std::string(name), idx);
    return idx;
  }
  std::uint32_t queue(std::string_view name) {
    auto it = queue_by_name.find(name);
    if (it != queue_by_name.end()) {
      return it->second;
    }
    if (name.find('+') != std::string_view::npos) {
      // "support+billing": a case widened by escalation, served by the teams of all
      // those queues, in the first one's order.
      auto idx = static_cast<std::uint32_t>(queues.size());
      queues.push_back(QueueInfo{std::string(name), {}, Strategy::LongestIdle});
      queue_by_name.emplace(std::string(name), idx);
      widen(idx);
      return idx;
    }
    // A queue the rules do not define is served by the team of the same name.
    auto idx = static_cast<std::uint32_t>(queues.size());
    queues.push_back(QueueInfo{std::string(name), {team(name)}, Strategy::LongestIdle});
    queue_by_name.emplace(std::string(name), idx);
    return idx;
  }

  // (Re)computes a widened queue's teams and strategy from its parts.
  void widen(std::uint32_t idx) {
    std::string name = queues[idx].name;
    std::vector<TeamIdx> teams;
    std::optional<Strategy> strategy;
    std::string_view rest = name;
    while (!rest.empty()) {
      std::uint32_t q = queue(take_part(rest, '+'));
      for (TeamIdx t : queues[q].teams) {
        if (std::find(teams.begin(), teams.end(), t) == teams.end()) {
          teams.push_back(t);
        }
      }
      if (!strategy) {
        strategy = queues[q].strategy;
      }
    }
    queues[idx].teams = std::move(teams);
    queues[idx].strategy = strategy.value_or(Strategy::LongestIdle);
  }

  void load_queues(const RuleSet& rules) {
    for (const auto& [name, q] : rules.queues()) {
      std::vector<TeamIdx> teams;
      for (const auto& t : q.teams) {
        teams.push_back(team(t));
      }
      auto it = queue_by_name.find(name);
      if (it == queue_by_name.end()) {
        queue_by_name.emplace(name, static_cast<std::uint32_t>(queues.size()));
        queues.push_back(QueueInfo{name, std::move(teams), q.strategy});
      } else {
        queues[it->second].teams = std::move(teams);
        queues[it->second].strategy = q.strategy;
      }
    }
    for (std::uint32_t i = 0; i < queues.size(); ++i) {
      if (queues[i].name.find('+') != std::string::npos) {
        widen(i);
      }
    }
  }

  // Static qualification: team, channel, skills. Returns the skill sum or -1.
  int qualifies(const Agent& a, const ClassSig& sig) const {
    if (a.capacity[index_of(sig.channel)] <= 0) {
      return -1;
    }
    const auto& qteams = queues[sig.queue].teams;
    bool in_team = std::any_of(a.teams.begin(), a.teams.end(), [&](TeamIdx t) {
      return std::find(qteams.begin(), qteams.end(), t) != qteams.end();
    });
    if (!in_team) {
      return -1;
    }
    int sum = 0;
    for (const auto& [s, lvl] : sig.requirements) {
      int have = a.level(s);
      if (have < lvl) {
        return -1;
      }
      sum += have;
    }
    return sum;
  }

  PoolKey pool_key(const Agent& a, AgentSlot slot, const Class& c, int skill_sum) const {
    switch (c.strategy) {
      case Strategy::LongestIdle:
        return {a.idle_since, 0, slot};
      case Strategy::LeastBusy: {
        int cap = std::max(1, a.total_capacity());
        return {static_cast<std::int64_t>(a.total_load()) * 1'000'000 / cap, a.idle_since, slot};
      }
      case Strategy::MostSkilled:
        return {-skill_sum, a.idle_since, slot};
      case Strategy::RoundRobin:
        return {static_cast<std::int64_t>(a.last_offer_seq), 0, slot};
    }
    return {0, 0, slot};
  }

  bool has_room(const Agent& a, Channel ch) const {
    return a.load[index_of(ch)] < a.capacity[index_of(ch)];
  }

  // Longest-idle and round-robin keys only grow (the agent just became the most recently
  // busy), so the end is the right place and the hint makes the insert O(1).
  static void insert(Class& c, Membership& m, const PoolKey& key) {
    m.at = c.pool.insert(c.pool.end(), key);
    m.in_pool = true;
  }

  // Re-sorts the agent in every pool it belongs to. O(k log n).
  void refresh(AgentSlot slot) {
    Agent& a = agents[slot];
    for (auto& m : a.classes) {
      Class& c = classes[m.cls];
      if (m.in_pool) {
        c.pool.erase(m.at);
        m.in_pool = false;
      }
      if (a.available && has_room(a, c.sig.channel)) {
        insert(c, m, pool_key(a, slot, c, m.skill_sum));
      }
    }
  }

  void leave_pools(AgentSlot slot) {
    Agent& a = agents[slot];
    for (auto& m : a.classes) {
      if (m.in_pool) {
        classes[m.cls].pool.erase(m.at);
        m.in_pool = false;
      }
    }
  }

  ClassIdx class_for(const CaseRequest& r) {
    ClassSig sig;
    sig.queue = queue(r.queue);
    sig.channel = r.channel;
    for (const auto& [name, lvl] : r.required_skills) {
      sig.requirements.emplace_back(skill(name), lvl);
    }
    std::sort(sig.requirements.begin(), sig.requirements.end());
    auto it = class_by_sig.find(sig);
    if (it != class_by_sig.end()) {
      return it->second;
    }
    // A new class: find the agents who qualify (once per class, through the teams).
    auto idx = static_cast<ClassIdx>(classes.size());
    Class c;
    c.sig = sig;
    c.strategy = queues[sig.queue].strategy;
    classes.push_back(std::move(c));
    class_by_sig.emplace(sig, idx);
    std::unordered_set<AgentSlot> seen;
    for (TeamIdx t : queues[sig.queue].teams) {
      for (AgentSlot s : team_members[t]) {
        if (seen.insert(s).second) {
          join_class(s, idx);
        }
      }
    }
    return idx;
  }

  void join_class(AgentSlot slot, ClassIdx idx) {
    Agent& a = agents[slot];
    int sum = qualifies(a, classes[idx].sig);
    if (sum < 0) {
      return;
    }
    Membership m;
    m.cls = idx;
    m.skill_sum = sum;
    if (a.available && has_room(a, classes[idx].sig.channel)) {
      insert(classes[idx], m, pool_key(a, slot, classes[idx], sum));
    }
    a.classes.push_back(m);
  }

  void rebuild_memberships(AgentSlot slot) {
    leave_pools(slot);
    agents[slot].classes.clear();
    for (ClassIdx i = 0; i < classes.size(); ++i) {
      join_class(slot, i);
    }
  }

  void take_slot(AgentSlot slot, Channel ch, std::int64_t now_ms) {
    Agent& a = agents[slot];
    BATON_ASSERT(has_room(a, ch), "an agent never exceeds its capacity");
    ++a.load[index_of(ch)];
    a.last_offer_seq = ++offer_seq;
    a.idle_since = now_ms;
    refresh(slot);
  }

  void unqueue(CaseEntry& e) {
    if (!e.waiting) {
      return;
    }
    WaitKey wk{e.request.priority, e.request.arrival, e.request.key};
    if (e.request.reserved_for) {
      agents[*e.request.reserved_for].reserved.erase(wk);
    } else {
      classes[e.cls].waiting.erase(wk);
    }
    e.waiting = false;
    --waiting_count;
  }

  // Registers the case, or takes a known one out of line keeping its exclusions, with
  // this request's queue, priority and skills. The caller then offers or queues it.
  CaseEntry& admit(const CaseRequest& request) {
    auto [it, inserted] = cases.try_emplace(request.key);
    CaseEntry& e = it->second;
    if (!inserted) {
      unqueue(e);
    }
    e.request = request;
    e.cls = class_for(request);
    return e;
  }

  void enqueue(CaseEntry& e) {
    BATON_ASSERT(!e.waiting, "a case waits in one place");
    WaitKey wk{e.request.priority, e.request.arrival, e.request.key};
    if (e.request.reserved_for) {
      agents[*e.request.reserved_for].reserved.insert(wk);
    } else {
      classes[e.cls].waiting.insert(wk);
    }
    e.waiting = true;
    ++waiting_count;
  }

  bool excluded(const CaseEntry& e, AgentSlot slot) const {
    return std::find(e.excluded.begin(), e.excluded.end(), slot) != e.excluded.end();
  }

  // Why this agent may or may not take this case now, as data (formatted on demand).
  Candidate verdict_for(AgentSlot slot, const CaseEntry& e) const {
    const Agent& a = agents[slot];
    const auto& sig = classes[e.cls].sig;
    Candidate c;
    c.agent = slot;
    c.channel = sig.channel;
    if (excluded(e, slot)) {
      c.verdict = Verdict::Declined;
      return c;
    }
    if (!a.available) {
      c.verdict = Verdict::NotAvailable;
      return c;
    }
    auto ch = index_of(sig.channel);
    if (a.capacity[ch] <= 0) {
      c.verdict = Verdict::NoChannel;
      return c;
    }
    if (e.request.reserved_for && *e.request.reserved_for != slot) {
      c.verdict = Verdict::ReservedForOther;
      c.other = *e.request.reserved_for;
      return c;
    }
    if (!e.request.reserved_for) {
      const auto& qteams = queues[sig.queue].teams;
      bool in_team = std::any_of(a.teams.begin(), a.teams.end(), [&](TeamIdx t) {
        return std::find(qteams.begin(), qteams.end(), t) != qteams.end();
      });
      if (!in_team) {
        c.verdict = Verdict::NotInTeam;
        return c;
      }
      for (const auto& [sk, lvl] : sig.requirements) {
        int have = a.level(sk);
        if (have < lvl) {
          c.verdict = have == 0 ? Verdict::NoSkill : Verdict::SkillTooLow;
          c.skill = sk;
          c.have = static_cast<std::int16_t>(have);
          c.need = static_cast<std::int16_t>(lvl);
          return c;
        }
      }
    }
    if (a.load[ch] >= a.capacity[ch]) {
      c.verdict = Verdict::AtCapacity;
      c.have = static_cast<std::int16_t>(a.load[ch]);
      c.need = static_cast<std::int16_t>(a.capacity[ch]);
      return c;
    }
    c.verdict = e.request.reserved_for ? Verdict::AccountOwner : Verdict::Eligible;
    return c;
  }

  std::string describe(const Candidate& c, std::string_view queue) const {
    switch (c.verdict) {
      case Verdict::Eligible:
        return "eligible";
      case Verdict::AccountOwner:
        return "account owner";
      case Verdict::FreedCapacity:
        return "freed capacity";
      case Verdict::Declined:
        return "declined";
      case Verdict::NotAvailable:
        return "not available";
      case Verdict::NoChannel:
        return "takes no " + std::string(to_string(c.channel));
      case Verdict::ReservedForOther:
        return "reserved for " + agents.at(c.other).id;
      case Verdict::NotInTeam:
        return "not in a team of queue " + std::string(queue);
      case Verdict::NoSkill:
        return "no skill " + skill_names.at(c.skill);
      case Verdict::SkillTooLow:
        return "skill " + skill_names.at(c.skill) + " " + std::to_string(c.have) + " < " +
               std::to_string(c.need);
      case Verdict::AtCapacity:
        return "at capacity (" + std::string(to_string(c.channel)) + " " + std::to_string(c.have) +
               "/" + std::to_string(c.need) + ")";
    }
    return "";
  }

  std::string reason_for(AgentSlot slot, const CaseEntry& e) const {
    Candidate c = verdict_for(slot, e);
    return c.eligible() ? "" : describe(c, queues[classes[e.cls].sig.queue].name);
  }

  std::string why_chosen(AgentSlot slot, const Class& c, int skill_sum, std::int64_t now_ms) const {
    const Agent& a = agents[slot];
    switch (c.strategy) {
      case Strategy::LongestIdle:
        return "longest idle: " + fmt_seconds(now_ms - a.idle_since);
      case Strategy::LeastBusy:
        return "least busy: " + std::to_string(a.total_load()) + " of " +
               std::to_string(a.total_capacity()) + " slots in use";
      case Strategy::MostSkilled:
        return "most skilled: skill sum " + std::to_string(skill_sum) + ", idle " +
               fmt_seconds(now_ms - a.idle_since);
      case Strategy::RoundRobin:
        return "round robin: longest since last offer";
    }
    return "";
  }

  void explain(Decision& d, const CaseEntry& e, std::int64_t now_ms) const {
    (void)now_ms;
    if (explain_limit == 0) {
      return;
    }
    const Class& c = classes[e.cls];
    // At most 2 × explain_limit entries: a linear scan beats hashing here.
    std::vector<AgentSlot> listed;
    listed.reserve(explain_limit * 2);
    auto is_listed = [&](AgentSlot s) {
      return std::find(listed.begin(), listed.end(), s) != listed.end();
    };
    d.candidates.reserve(explain_limit * 2);
    if (e.request.reserved_for) {
      d.candidates.push_back(verdict_for(*e.request.reserved_for, e));
      return;
    }
    // The best of the pool in rank order (eligible unless declined) ...
    std::size_t n = 0;
    for (auto it = c.pool.begin(); it != c.pool.end() && n < explain_limit; ++it, ++n) {
      listed.push_back(it->agent);
      d.candidates.push_back(verdict_for(it->agent, e));
    }
    // ... then team members who are not in the pool, with the reason (bounded scan).
    std::size_t budget = explain_limit * 4;
    std::size_t shown = 0;
    for (TeamIdx t : queues[c.sig.queue].teams) {
      for (AgentSlot s : team_members[t]) {
        if (budget == 0 || shown >= explain_limit) {
          return;
        }
        --budget;
        if (is_listed(s)) {
          continue;
        }
        listed.push_back(s);
        Candidate v = verdict_for(s, e);
        if (!v.eligible()) {
          d.candidates.push_back(v);
          ++shown;
        }
      }
    }
  }

  // The first agent of the class's pool not excluded for this case. O(log n + skips).
  std::optional<std::pair<AgentSlot, int>> best_agent(const CaseEntry& e) const {
    if (e.request.reserved_for) {
      AgentSlot s = *e.request.reserved_for;
      const Agent& a = agents[s];
      if (a.available && has_room(a, e.request.channel) && !excluded(e, s)) {
        return std::make_pair(s, 0);
      }
      return std::nullopt;
    }
    const Class& c = classes[e.cls];
    for (const auto& pk : c.pool) {
      if (!excluded(e, pk.agent)) {
        int sum = 0;
        for (const auto& m : agents[pk.agent].classes) {
          if (m.cls == e.cls) {
            sum = m.skill_sum;
            break;
          }
        }
        return std::make_pair(pk.agent, sum);
      }
    }
    return std::nullopt;
  }

  Decision route_entry(CaseEntry& e, std::int64_t now_ms) {
    Decision d;
    d.case_key = e.request.key;
    d.queue = e.request.queue;
    auto best = best_agent(e);
    explain(d, e, now_ms);
    if (best) {
      d.chosen = best->first;
      d.why = e.request.reserved_for
                  ? "account owner: " + agents[best->first].id
                  : why_chosen(best->first, classes[e.cls], best->second, now_ms);
      take_slot(best->first, e.request.channel, now_ms);
      return d;
    }
    enqueue(e);
    if (e.request.reserved_for) {
      d.why = "waiting for " + agents[*e.request.reserved_for].id;
    } else {
      d.why = "no eligible agent has room; waiting in queue " + e.request.queue;
    }
    return d;
  }
};

Router::Router(const RuleSet& rules, std::size_t explain_limit) : impl_(std::make_unique<Impl>()) {
  impl_->explain_limit = explain_limit;
  impl_->load_queues(rules);
}

void Router::reserve_cases(std::size_t n) { impl_->cases.reserve(n); }

std::size_t Router::case_capacity() const { return entries_before_growth(impl_->cases); }

Router::~Router() = default;

void Router::set_rules(const RuleSet& rules) {
  impl_->load_queues(rules);
  // Team lists or strategies may have changed: rebuild every class's pool.
  for (auto& c : impl_->classes) {
    c.strategy = impl_->queues[c.sig.queue].strategy;
  }
  for (AgentSlot s = 0; s < impl_->agents.size(); ++s) {
    impl_->rebuild_memberships(s);
  }
}

AgentSlot Router::add_agent(const AgentProfile& profile, TimePoint now) {
  auto slot = static_cast<AgentSlot>(impl_->agents.size());
  impl_->agents.emplace_back();
  impl_->agent_by_id[profile.id] = slot;
  impl_->agents[slot].idle_since = now.time_since_epoch().count();
  update_agent(slot, profile);
  return slot;
}

void Router::update_agent(AgentSlot slot, const AgentProfile& profile) {
  Agent& a = impl_->agents.at(slot);
  for (TeamIdx t : a.teams) {
    auto& members = impl_->team_members[t];
    members.erase(std::remove(members.begin(), members.end(), slot), members.end());
  }
  a.id = profile.id;
  a.teams.clear();
  for (const auto& t : profile.teams) {
    TeamIdx ti = impl_->team(t);
    if (std::find(a.teams.begin(), a.teams.end(), ti) == a.teams.end()) {
      a.teams.push_back(ti);
      impl_->team_members[ti].push_back(slot);
    }
  }
  a.skills.clear();
  for (const auto& [name, lvl] : profile.skills) {
    a.skills.emplace_back(impl_->skill(name), lvl);
  }
  std::sort(a.skills.begin(), a.skills.end());
  a.skill_names = profile.skills;
  for (Channel ch : kAllChannels) {
    BATON_ASSERT(a.load[index_of(ch)] <= profile.capacity[index_of(ch)],
                 "capacity lowered below the current load");
  }
  a.capacity = profile.capacity;
  impl_->rebuild_memberships(slot);
}

void Router::set_available(AgentSlot slot, bool available, TimePoint now) {
  Agent& a = impl_->agents.at(slot);
  if (a.available == available) {
    return;
  }
  a.available = available;
  if (available) {
    a.idle_since = now.time_since_epoch().count();
    impl_->refresh(slot);
  } else {
    impl_->leave_pools(slot);
  }
}

bool Router::available(AgentSlot a) const { return impl_->agents.at(a).available; }
int Router::load(AgentSlot a, Channel c) const { return impl_->agents.at(a).load[index_of(c)]; }
const ChannelCounts& Router::loads(AgentSlot a) const { return impl_->agents.at(a).load; }
int Router::capacity(AgentSlot a, Channel c) const {
  return impl_->agents.at(a).capacity[index_of(c)];
}
bool Router::has_room(AgentSlot a, Channel c) const {
  return impl_->has_room(impl_->agents.at(a), c);
}
const std::string& Router::agent_id(AgentSlot a) const { return impl_->agents.at(a).id; }
std::optional<AgentSlot> Router::find_agent(std::string_view id) const {
  auto it = impl_->agent_by_id.find(std::string(id));
  if (it == impl_->agent_by_id.end()) {
    return std::nullopt;
  }
  return it->second;
}

Decision Router::route(const CaseRequest& request, TimePoint now) {
  return impl_->route_entry(impl_->admit(request), now.time_since_epoch().count());
}

void Router::enqueue(const CaseRequest& request) { impl_->enqueue(impl_->admit(request)); }

std::optional<Decision> Router::pull(AgentSlot slot, TimePoint now) {
  Impl& m = *impl_;
  Agent& a = m.agents.at(slot);
  if (!a.available) {
    return std::nullopt;
  }
  const WaitKey* best = nullptr;
  bool best_reserved = false;
  // Cases waiting for this agent alone.
  for (const auto& wk : a.reserved) {
    const CaseEntry& e = m.cases.at(wk.key);
    if (m.has_room(a, e.request.channel) && !m.excluded(e, slot)) {
      best = &wk;
      best_reserved = true;
      break;
    }
  }
  // The head of each class this agent could serve now.
  for (const auto& mem : a.classes) {
    const Class& c = m.classes[mem.cls];
    if (c.waiting.empty() || !m.has_room(a, c.sig.channel)) {
      continue;
    }
    if (best != nullptr && !(*c.waiting.begin() < *best)) {
      continue;  // the best of this class cannot beat what we have
    }
    for (const auto& wk : c.waiting) {
      if (best != nullptr && !(wk < *best)) {
        break;
      }
      if (a.excluded.count(wk.key) == 0) {
        best = &wk;
        best_reserved = false;
        break;
      }
    }
  }
  if (best == nullptr) {
    return std::nullopt;
  }
  CaseEntry& e = m.cases.at(best->key);
  (void)best_reserved;
  std::int64_t now_ms = now.time_since_epoch().count();
  Decision d;
  d.case_key = e.request.key;
  d.queue = e.request.queue;
  d.chosen = slot;
  d.why = "next in line for " + a.id + ": priority " + std::to_string(e.request.priority) +
          ", waiting " + fmt_seconds(now_ms - e.request.queued_at.time_since_epoch().count());
  if (m.explain_limit > 0) {
    Candidate c;
    c.agent = slot;
    c.verdict = Verdict::FreedCapacity;
    c.channel = e.request.channel;
    d.candidates.push_back(c);
  }
  m.unqueue(e);
  m.take_slot(slot, e.request.channel, now_ms);
  return d;
}

void Router::reserve(AgentSlot slot, Channel channel, TimePoint now) {
  impl_->take_slot(slot, channel, now.time_since_epoch().count());
}

void Router::release(AgentSlot slot, Channel channel, TimePoint now) {
  Agent& a = impl_->agents.at(slot);
  BATON_ASSERT(a.load[index_of(channel)] > 0, "release without a reserved slot");
  --a.load[index_of(channel)];
  a.idle_since = now.time_since_epoch().count();
  impl_->refresh(slot);
}

void Router::exclude(CaseKey c, AgentSlot slot) {
  auto it = impl_->cases.find(c);
  if (it == impl_->cases.end()) {
    return;
  }
  if (!impl_->excluded(it->second, slot)) {
    it->second.excluded.push_back(slot);
    impl_->agents.at(slot).excluded.insert(c);
  }
}

bool Router::is_excluded(CaseKey c, AgentSlot slot) const {
  auto it = impl_->cases.find(c);
  return it != impl_->cases.end() && impl_->excluded(it->second, slot);
}

void Router::withdraw(CaseKey c) {
  auto it = impl_->cases.find(c);
  if (it != impl_->cases.end()) {
    impl_->unqueue(it->second);
  }
}

void Router::forget(CaseKey c) {
  auto it = impl_->cases.find(c);
  if (it == impl_->cases.end()) {
    return;
  }
  impl_->unqueue(it->second);
  for (AgentSlot s : it->second.excluded) {
    impl_->agents[s].excluded.erase(c);
  }
  impl_->cases.erase(it);
}

Decision Router::end_reservation(CaseKey c, TimePoint now) {
  CaseEntry& e = impl_->cases.at(c);
  impl_->unqueue(e);
  e.request.reserved_for.reset();
  return impl_->route_entry(e, now.time_since_epoch().count());
}

bool Router::is_waiting(CaseKey c) const {
  auto it = impl_->cases.find(c);
  return it != impl_->cases.end() && it->second.waiting;
}

std::string Router::ineligibility(AgentSlot agent, const CaseRequest& request) {
  CaseEntry probe;
  probe.request = request;
  auto it = impl_->cases.find(request.key);
  if (it != impl_->cases.end()) {
    probe.excluded = it->second.excluded;
  }
  probe.cls = impl_->class_for(request);
  return impl_->reason_for(agent, probe);
}

std::string Router::describe(const Candidate& c, std::string_view queue) const {
  return impl_->describe(c, queue);
}

std::string Router::ineligibility(AgentSlot agent, CaseKey c) const {
  return impl_->reason_for(agent, impl_->cases.at(c));
}

RouterStats Router::stats() const {
  return RouterStats{impl_->waiting_count, impl_->classes.size(), impl_->agents.size()};
}

std::vector<CaseKey> Router::waiting_cases() const {
  std::vector<CaseKey> out;
  for (const auto& [k, e] : impl_->cases) {
    if (e.waiting) {
      out.push_back(k);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace baton::routing
