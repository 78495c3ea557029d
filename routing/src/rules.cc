#include "baton/routing/rules.h"

#include <algorithm>
#include <set>

#include <toml++/toml.h>

#include "regex.h"

namespace baton::routing {

std::string_view to_string(Strategy s) {
  switch (s) {
    case Strategy::LongestIdle:
      return "longest_idle";
    case Strategy::LeastBusy:
      return "least_busy";
    case Strategy::MostSkilled:
      return "most_skilled";
    case Strategy::RoundRobin:
      return "round_robin";
  }
  return "longest_idle";
}

std::optional<Strategy> parse_strategy(std::string_view s) {
  for (auto st :
       {Strategy::LongestIdle, Strategy::LeastBusy, Strategy::MostSkilled, Strategy::RoundRobin}) {
    if (to_string(st) == s) {
      return st;
    }
  }
  return std::nullopt;
}

SlaTargets SlaPolicy::targets_for(int priority) const {
  SlaTargets t{first_response, resolution};
  if (auto it = by_priority.find(priority); it != by_priority.end()) {
    if (it->second.first_response) {
      t.first_response = it->second.first_response;
    }
    if (it->second.resolution) {
      t.resolution = it->second.resolution;
    }
  }
  return t;
}

const BusinessHours& RuleSet::hours_for(const QueueConfig& q) const {
  static const BusinessHours kAlways = BusinessHours::always();
  auto it = hours_.find(q.sla.calendar);
  return it == hours_.end() ? kAlways : it->second;
}

Duration QueueConfig::offer_timeout_for(Channel c) const {
  if (const auto& o = offer_timeout_by_channel[index_of(c)]) {
    return *o;
  }
  if (c == Channel::Email) {
    return std::max(offer_timeout, Duration{300'000});
  }
  return offer_timeout;
}

const QueueConfig* RuleSet::find_queue(std::string_view name) const {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : &it->second;
}

namespace {

// Collects every fault of a rule set, each with its place in the source.
class Checker {
 public:
  explicit Checker(std::string_view src) : src_(src) {}

  void add(const toml::node& at, std::string field, std::string message) {
    const auto& b = at.source().begin;
    errors_.push_back(FieldError{std::move(field), std::move(message), static_cast<int>(b.line),
                                 static_cast<int>(b.column)});
  }
  void add_at(int line, int column, std::string field, std::string message) {
    errors_.push_back(FieldError{std::move(field), std::move(message), line, column});
  }

  std::optional<std::string> string(const toml::node& n, const std::string& field) {
    if (auto v = n.value<std::string>(); v && n.is_string()) {
      return v;
    }
    add(n, field, "must be a string");
    return std::nullopt;
  }

  std::optional<Duration> duration(const toml::node& n, const std::string& field) {
    auto s = string(n, field);
    if (!s) {
      return std::nullopt;
    }
    auto d = parse_duration(*s);
    if (!d) {
      add(n, field, "must be a duration like \"30s\", \"5m\" or \"1h30m\"");
    }
    return d;
  }

  std::optional<int> integer(const toml::node& n, const std::string& field, int lo, int hi) {
    auto v = n.value<std::int64_t>();
    if (!n.is_integer() || !v || *v < lo || *v > hi) {
      add(n, field, "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
      return std::nullopt;
    }
    return static_cast<int>(*v);
  }

  std::vector<std::string> strings(const toml::node& n, const std::string& field) {
    std::vector<std::string> out;
    const auto* arr = n.as_array();
    if (arr == nullptr) {
      add(n, field, "must be an array of strings");
      return out;
    }
    for (std::size_t i = 0; i < arr->size(); ++i) {
      if (auto s = string(*arr->get(i), field + "[" + std::to_string(i) + "]")) {
        out.push_back(*s);
      }
    }
    return out;
  }

  SkillLevels skills(const toml::node& n, const std::string& field) {
    SkillLevels out;
    const auto* t = n.as_table();
    if (t == nullptr) {
      add(n, field, "must be a table of skill = level (1-10)");
      return out;
    }
    for (auto&& [k, v] : *t) {
      if (auto lvl =
              integer(v, field + "." + std::string(k.str()), kMinSkillLevel, kMaxSkillLevel)) {
        out[std::string(k.str())] = *lvl;
      }
    }
    return out;
  }

  void unknown_keys(const toml::table& t, const std::string& where,
                    std::initializer_list<std::string_view> known) {
    for (auto&& [k, v] : t) {
      std::string_view key = k.str();
      bool ok = std::find(known.begin(), known.end(), key) != known.end();
      if (!ok) {
        const auto& b = k.source().begin;
        add_at(static_cast<int>(b.line), static_cast<int>(b.column),
               where.empty() ? std::string(key) : where + "." + std::string(key),
               "unknown setting '" + std::string(key) + "'");
      }
    }
  }

  // Places an expression's own line/column (within the string) in the file.
  void expression_error(const toml::node& when, const FieldError& fe, const std::string& field) {
    const auto& b = when.source().begin;
    int line = static_cast<int>(b.line);
    int col = static_cast<int>(b.column);
    std::string_view raw = source_line(line);
    std::size_t byte = byte_of_column(raw, col);
    std::string_view rest = byte < raw.size() ? raw.substr(byte) : std::string_view{};
    bool multi = rest.starts_with("'''") || rest.starts_with("\"\"\"");
    if (multi) {
      // A newline right after the opening delimiter is trimmed by TOML.
      bool newline_first = rest.size() == 3;
      if (newline_first) {
        add_at(line + fe.line, fe.column, field, fe.message);
      } else {
        add_at(line + fe.line - 1, fe.line == 1 ? col + 3 + fe.column - 1 : fe.column, field,
               fe.message);
      }
      return;
    }
    add_at(line + fe.line - 1, fe.line == 1 ? col + 1 + fe.column - 1 : fe.column, field,
           fe.message);
  }

  bool ok() const { return errors_.empty(); }
  std::vector<FieldError> take() { return std::move(errors_); }

 private:
  std::string_view source_line(int line) const {
    int cur = 1;
    std::size_t start = 0;
    for (std::size_t i = 0; i < src_.size() && cur < line; ++i) {
      if (src_[i] == '\n') {
        ++cur;
        start = i + 1;
      }
    }
    std::size_t end = src_.find('\n', start);
    return src_.substr(start, end == std::string_view::npos ? src_.size() - start : end - start);
  }
  static std::size_t byte_of_column(std::string_view line, int column) {
    int chars = 1;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) {
        if (chars == column) {
          return i;
        }
        ++chars;
      }
    }
    return line.size();
  }

  std::string_view src_;
  std::vector<FieldError> errors_;
};

QueueConfig parse_queue(Checker& c, const std::string& name, const toml::table& t) {
  QueueConfig q;
  q.name = name;
  std::string where = "queues." + name;
  c.unknown_keys(t, where,
                 {"teams", "strategy", "offer_timeout", "offer_timeout_chat", "offer_timeout_email",
                  "offer_timeout_voice", "offer_timeout_social", "offer_timeout_web", "wrap_up",
                  "owner_first", "sticky_for", "sla", "sla_by_priority", "escalation"});
  if (const auto* n = t.get("teams")) {
    q.teams = c.strings(*n, where + ".teams");
  } else {
    q.teams = {name};  // a queue with no teams is served by the team of the same name
  }
  if (const auto* n = t.get("strategy")) {
    if (auto s = c.string(*n, where + ".strategy")) {
      if (auto st = parse_strategy(*s)) {
        q.strategy = *st;
      } else {
        c.add(*n, where + ".strategy",
              "unknown strategy '" + *s +
                  "' (longest_idle, least_busy, most_skilled or round_robin)");
      }
    }
  }
  if (const auto* n = t.get("offer_timeout")) {
    if (auto d = c.duration(*n, where + ".offer_timeout")) {
      q.offer_timeout = *d;
    }
  }
  for (Channel ch : kAllChannels) {
    std::string key = "offer_timeout_" + std::string(to_string(ch));
    if (const auto* n = t.get(key)) {
      if (auto d = c.duration(*n, where + "." + key)) {
        q.offer_timeout_by_channel[index_of(ch)] = *d;
      }
    }
  }
  if (q.offer_timeout <= Duration{0}) {
    c.add(*t.get("offer_timeout"), where + ".offer_timeout", "must be more than 0");
  }
  if (const auto* n = t.get("wrap_up")) {
    if (auto d = c.duration(*n, where + ".wrap_up")) {
      q.wrap_up = *d;
    }
  }
  if (const auto* n = t.get("owner_first")) {
    if (auto d = c.duration(*n, where + ".owner_first")) {
      q.owner_first = *d;
    }
  }
  if (const auto* n = t.get("sticky_for")) {
    if (auto d = c.duration(*n, where + ".sticky_for")) {
      q.sticky_for = *d;
    }
  }
  if (const auto* n = t.get("sla")) {
    if (const auto* st = n->as_table()) {
      c.unknown_keys(*st, where + ".sla",
                     {"target", "answer_within", "first_response", "resolution", "calendar"});
      if (const auto* tn = st->get("target")) {
        auto v = tn->value<double>();
        if (!v || *v <= 0 || *v > 1) {
          c.add(*tn, where + ".sla.target", "must be a fraction in (0, 1]");
        } else {
          q.sla.target = *v;
        }
      }
      if (const auto* an = st->get("answer_within")) {
        if (auto d = c.duration(*an, where + ".sla.answer_within")) {
          q.sla.answer_within = *d;
        }
      }
      if (const auto* fn = st->get("first_response")) {
        q.sla.first_response = c.duration(*fn, where + ".sla.first_response");
      }
      if (const auto* rn = st->get("resolution")) {
        q.sla.resolution = c.duration(*rn, where + ".sla.resolution");
      }
      if (const auto* cn = st->get("calendar")) {
        if (auto s = c.string(*cn, where + ".sla.calendar")) {
          q.sla.calendar = *s;
        }
      }
    } else {
      c.add(*n, where + ".sla", "must be a table");
    }
  }
  if (const auto* n = t.get("sla_by_priority")) {
    if (const auto* pt = n->as_table()) {
      for (auto&& [k, v] : *pt) {
        std::string pw = where + ".sla_by_priority." + std::string(k.str());
        int prio = 0;
        auto key = k.str();
        if (key.size() != 1 || key[0] < '1' || key[0] > '5') {
          c.add(v, pw, "must be a priority from \"1\" to \"5\"");
          continue;
        }
        prio = key[0] - '0';
        const auto* tt = v.as_table();
        if (tt == nullptr) {
          c.add(v, pw, "must be a table like { first_response = \"30m\", resolution = \"4h\" }");
          continue;
        }
        c.unknown_keys(*tt, pw, {"first_response", "resolution"});
        SlaTargets targets;
        if (const auto* fn = tt->get("first_response")) {
          targets.first_response = c.duration(*fn, pw + ".first_response");
        }
        if (const auto* rn = tt->get("resolution")) {
          targets.resolution = c.duration(*rn, pw + ".resolution");
        }
        q.sla.by_priority[prio] = targets;
      }
    } else {
      c.add(*n, where + ".sla_by_priority", "must be a table keyed by priority");
    }
  }
  if (const auto* n = t.get("escalation")) {
    const auto* arr = n->as_array();
    if (arr == nullptr) {
      c.add(*n, where + ".escalation", "must be an array of steps");
    } else {
      for (std::size_t i = 0; i < arr->size(); ++i) {
        std::string sw = where + ".escalation[" + std::to_string(i) + "]";
        const auto* st = arr->get(i)->as_table();
        if (st == nullptr) {
          c.add(*arr->get(i), sw, "must be a table");
          continue;
        }
        c.unknown_keys(*st, sw, {"after", "relax_skills", "widen_to", "raise_priority"});
        EscalationStep step;
        if (const auto* an = st->get("after")) {
          if (auto d = c.duration(*an, sw + ".after")) {
            step.after = *d;
          }
        } else {
          c.add(*arr->get(i), sw + ".after", "is required");
        }
        if (const auto* rn = st->get("relax_skills")) {
          step.relax_skills = c.integer(*rn, sw + ".relax_skills", 1, 9).value_or(0);
        }
        if (const auto* wn = st->get("widen_to")) {
          step.widen_to = c.string(*wn, sw + ".widen_to").value_or("");
        }
        if (const auto* pn = st->get("raise_priority")) {
          step.raise_priority = c.integer(*pn, sw + ".raise_priority", 1, 4).value_or(0);
        }
        q.escalation.push_back(std::move(step));
      }
    }
  }
  return q;
}

}  // namespace

Result<RuleSet> RuleSet::parse(std::string_view toml_source, const ZoneSource& zones,
                               const RuleLimits& limits) {
  BATON_RETURN_IF_ERROR(check_source_limits(toml_source, limits));
  toml::table root;
  try {
    root = toml::parse(toml_source);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    std::string msg(e.description());
    return Error(ErrorCode::InvalidArgument, "routing rules do not parse: " + msg,
                 {FieldError{"source", msg, static_cast<int>(b.line), static_cast<int>(b.column)}});
  }

  RuleSet set;
  set.source_ = std::string(toml_source);
  set.limits_ = limits;
  Checker c(toml_source);
  c.unknown_keys(root, "", {"default_queue", "queues", "calendars", "rules"});

  if (const auto* n = root.get("default_queue")) {
    set.default_queue_ = c.string(*n, "default_queue").value_or("support");
  }
  if (const auto* n = root.get("calendars")) {
    if (const auto* t = n->as_table()) {
      for (auto&& [k, v] : *t) {
        std::string name(k.str());
        std::string where = "calendars." + name;
        const auto* ct = v.as_table();
        if (ct == nullptr) {
          c.add(v, where, "must be a table");
          continue;
        }
        c.unknown_keys(*ct, where, {"time_zone", "hours", "holidays"});
        Calendar cal;
        cal.name = name;
        if (const auto* z = ct->get("time_zone")) {
          cal.time_zone = c.string(*z, where + ".time_zone").value_or("UTC");
        }
        if (const auto* h = ct->get("hours")) {
          if (const auto* ht = h->as_table()) {
            for (auto&& [dk, dv] : *ht) {
              if (auto s = c.string(dv, where + ".hours." + std::string(dk.str()))) {
                cal.hours[std::string(dk.str())] = *s;
              }
            }
          } else {
            c.add(*h, where + ".hours", "must be a table like { mon-fri = \"09:00-18:00\" }");
          }
        }
        if (const auto* hs = ct->get("holidays")) {
          cal.holidays = c.strings(*hs, where + ".holidays");
        }
        auto hours = BusinessHours::make(cal.time_zone, {cal.hours.begin(), cal.hours.end()},
                                         cal.holidays, zones);
        if (hours) {
          set.hours_.insert_or_assign(name, std::move(hours).value());
        } else {
          for (const auto& fe : hours.error().field_errors) {
            c.add(v, where + "." + fe.field, fe.message);
          }
        }
        set.calendars_[name] = std::move(cal);
      }
    } else {
      c.add(*n, "calendars", "must be a table");
    }
  }
  if (const auto* n = root.get("queues")) {
    if (const auto* t = n->as_table()) {
      for (auto&& [k, v] : *t) {
        std::string name(k.str());
        if (const auto* qt = v.as_table()) {
          set.queues_[name] = parse_queue(c, name, *qt);
        } else {
          c.add(v, "queues." + name, "must be a table");
        }
      }
    } else {
      c.add(*n, "queues", "must be a table");
    }
  }
  if (set.queues_.empty() && !root.get("queues")) {
    // A rule set that names no queues gets the two the product always has.
    for (const char* name : {"support", "sales"}) {
      QueueConfig q;
      q.name = name;
      q.teams = {name};
      set.queues_[name] = q;
    }
  }
  std::set<std::string> rule_names;
  if (const auto* n = root.get("rules")) {
    const auto* arr = n->as_array();
    if (arr == nullptr) {
      c.add(*n, "rules", "must be an array of tables ([[rules]])");
    } else {
      for (std::size_t i = 0; i < arr->size(); ++i) {
        const toml::node& rn = *arr->get(i);
        std::string where = "rules[" + std::to_string(i) + "]";
        const auto* rt = rn.as_table();
        if (rt == nullptr) {
          c.add(rn, where, "must be a table");
          continue;
        }
        c.unknown_keys(*rt, where,
                       {"name", "when", "queue", "priority", "required_skills", "tags", "route_to",
                        "suggest_handoff", "stop"});
        Rule rule;
        rule.line = static_cast<int>(rn.source().begin.line);
        if (const auto* nn = rt->get("name")) {
          rule.name = c.string(*nn, where + ".name").value_or("");
          if (!rule.name.empty() && !rule_names.insert(rule.name).second) {
            c.add(*nn, where + ".name", "duplicate rule name '" + rule.name + "'");
          }
        }
        if (rule.name.empty()) {
          rule.name = "rule " + std::to_string(i + 1);
        }
        if (const auto* wn = rt->get("when")) {
          if (auto text = c.string(*wn, where + ".when")) {
            auto e = Expression::parse(*text, limits.expr);
            if (e) {
              rule.when = e.value();
            } else {
              for (const auto& fe : e.error().field_errors) {
                c.expression_error(*wn, fe, where + ".when");
              }
            }
          }
        }
        if (const auto* qn = rt->get("queue")) {
          if (auto q = c.string(*qn, where + ".queue")) {
            if (set.queues_.find(*q) == set.queues_.end()) {
              c.add(*qn, where + ".queue", "unknown queue '" + *q + "'");
            }
            rule.queue = *q;
          }
        }
        if (const auto* pn = rt->get("priority")) {
          rule.priority = c.integer(*pn, where + ".priority", kMinPriority, kMaxPriority);
        }
        if (const auto* sn = rt->get("required_skills")) {
          rule.required_skills = c.skills(*sn, where + ".required_skills");
        }
        if (const auto* tn = rt->get("tags")) {
          rule.tags = c.strings(*tn, where + ".tags");
        }
        if (const auto* on = rt->get("route_to")) {
          if (auto s = c.string(*on, where + ".route_to")) {
            if (*s == "account_owner") {
              rule.route_to = RouteTo::AccountOwner;
            } else if (*s != "queue") {
              c.add(*on, where + ".route_to", "must be \"account_owner\" or \"queue\"");
            }
          }
        }
        if (const auto* hn = rt->get("suggest_handoff")) {
          rule.suggest_handoff = c.string(*hn, where + ".suggest_handoff").value_or("");
        }
        if (const auto* sn = rt->get("stop")) {
          if (auto b = sn->value<bool>(); b && sn->is_boolean()) {
            rule.stop = *b;
          } else {
            c.add(*sn, where + ".stop", "must be true or false");
          }
        }
        set.rules_.push_back(std::move(rule));
      }
    }
  }
  if (set.queues_.find(set.default_queue_) == set.queues_.end()) {
    c.add_at(1, 1, "default_queue", "default queue '" + set.default_queue_ + "' is not defined");
  }
  for (const auto& [name, q] : set.queues_) {
    for (const auto& step : q.escalation) {
      if (!step.widen_to.empty() && set.queues_.find(step.widen_to) == set.queues_.end()) {
        c.add_at(1, 1, "queues." + name + ".escalation",
                 "widen_to names unknown queue '" + step.widen_to + "'");
      }
    }
    if (!q.sla.calendar.empty() && set.calendars_.find(q.sla.calendar) == set.calendars_.end()) {
      c.add_at(1, 1, "queues." + name + ".sla.calendar",
               "unknown calendar '" + q.sla.calendar + "'");
    }
  }
  if (!c.ok()) {
    auto errors = c.take();
    std::sort(errors.begin(), errors.end(), [](const FieldError& a, const FieldError& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    std::string msg = "routing rules refused: " + std::to_string(errors.size()) + " error" +
                      (errors.size() == 1 ? "" : "s") + "; first at line " +
                      std::to_string(errors[0].line) + ", column " +
                      std::to_string(errors[0].column) + ": " + errors[0].message;
    return Error(ErrorCode::InvalidArgument, std::move(msg), std::move(errors));
  }
  return set;
}

RoutingPlan RuleSet::plan(const CaseFacts& facts, int client_priority,
                          const SkillLevels& client_skills) const {
  RoutingPlan p;
  p.required_skills = client_skills;
  std::optional<int> rule_priority;
  bool queue_set = false;
  for (const auto& rule : rules_) {
    EvalReport report;
    bool matched = rule.when.evaluate(facts, &report);
    if (report.cut_short) {
      p.cut_short_rules.push_back(rule.name);
    }
    if (!matched) {
      continue;
    }
    p.matched_rules.push_back(rule.name);
    if (rule.queue && !queue_set) {
      p.queue = *rule.queue;
      p.queue_rule = rule.name;
      queue_set = true;
      p.route_to_owner = rule.route_to == RouteTo::AccountOwner;
    } else if (!queue_set && rule.route_to == RouteTo::AccountOwner) {
      p.route_to_owner = true;
    }
    if (rule.priority && !rule_priority) {
      rule_priority = rule.priority;
    }
    for (const auto& [skill, level] : rule.required_skills) {
      auto& cur = p.required_skills[skill];
      cur = std::max(cur, level);
    }
    for (const auto& tag : rule.tags) {
      if (std::find(p.tags.begin(), p.tags.end(), tag) == p.tags.end()) {
        p.tags.push_back(tag);
      }
    }
    if (!rule.suggest_handoff.empty() &&
        std::find(p.suggested_handoffs.begin(), p.suggested_handoffs.end(), rule.suggest_handoff) ==
            p.suggested_handoffs.end()) {
      p.suggested_handoffs.push_back(rule.suggest_handoff);
    }
    if (rule.stop) {
      break;
    }
  }
  if (!queue_set) {
    p.queue = default_queue_;
  }
  p.priority = client_priority != 0 ? client_priority : rule_priority.value_or(kDefaultPriority);
  return p;
}

}  // namespace baton::routing
