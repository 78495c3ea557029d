// Agents: create, list, read, change, presence.

#include "routes_impl.h"

namespace baton::api {

std::optional<AgentId> Routes::Impl::path_agent(const CallPtr& call, bool own_only) {
  auto id = parse_agent_id(call->params[0]);
  if (!id || (own_only && !call->who.staff() && call->who.agent != *id)) {
    finish(call, not_found("agent", call->params[0]));
    return std::nullopt;
  }
  return id;
}

void Routes::Impl::create_agent(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  NewAgent a;
  if (f.has("id")) {
    if (auto id = f.agent("id", true)) {
      a.id = *id;
    }
  } else {
    a.id = AgentId(id_text("", next_agent_serial()));
  }
  a.name = f.text("name", true, 200).value_or("");
  a.role =
      f.one_of<Role>("role", false, parse_role, "agent, sales or supervisor").value_or(Role::Agent);
  a.teams = f.strings("teams", false).value_or(std::vector<std::string>{});
  a.skills = f.skills("skills").value_or(SkillLevels{});
  a.languages = f.strings("languages", false).value_or(std::vector<std::string>{});
  a.capacity = f.capacity("capacity").value_or(ChannelCounts{});
  if (refuse_if(call, errors)) {
    return;
  }
  command(call, [this, call, a = std::move(a)]() mutable -> Response {
    auto r = deps.engine.create_agent(std::move(a));
    if (!r) {
      return from_error(r.error());
    }
    audit(call, "agent.created", "agt_" + r->id.value(),
          {{"name", r->name}, {"role", to_string(r->role)}});
    return json_response(201, to_json(r.value()));
  });
}

std::uint64_t Routes::Impl::next_agent_serial() {
  // Server-made agent ids sort by creation: the time in ms, then a counter.
  auto ms = static_cast<std::uint64_t>(deps.clock.now().time_since_epoch().count());
  return ms * 1024 + (agent_serial.fetch_add(1) % 1024);
}

void Routes::Impl::list_agents(const CallPtr& call) {
  auto limit = limit_of(call);
  if (!limit) {
    return;
  }
  std::string cursor = query(call, "cursor");
  post([this, call, limit = *limit, cursor] {
    // The cursor is the id of the last agent of the page before (agents are never
    // removed): anything else was not made by this server.
    if (!cursor.empty() && deps.engine.find_agent(AgentId(cursor)) == nullptr) {
      finish(call, problem_of(422, "cursor was not made by this server",
                              {FieldError{"cursor", "was not made by this server"}}));
      return;
    }
    auto all = deps.engine.agents();
    std::sort(all.begin(), all.end(), [](const Agent* a, const Agent* b) { return a->id < b->id; });
    Page<Agent> page;
    for (const Agent* a : all) {
      if (!cursor.empty() && a->id.value() <= cursor) {
        continue;
      }
      if (page.items.size() == limit) {
        page.next_cursor = page.items.back().id.value();
        break;
      }
      page.items.push_back(*a);
    }
    finish(call, json_response(200, page_json(page)));
  });
}

void Routes::Impl::get_agent(const CallPtr& call) {
  auto id = path_agent(call, /*own_only=*/true);
  if (!id) {
    return;
  }
  post([this, call, id = *id] {
    const Agent* a = deps.engine.find_agent(id);
    finish(call,
           a == nullptr ? not_found("agent", call->params[0]) : json_response(200, to_json(*a)));
  });
}

void Routes::Impl::patch_agent(const CallPtr& call) {
  auto id = path_agent(call);
  if (!id) {
    return;
  }
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  AgentPatch p;
  p.name = f.text("name", false, 200);
  p.role = f.one_of<Role>("role", false, parse_role, "agent, sales or supervisor");
  p.teams = f.strings("teams", false);
  p.skills = f.skills("skills");
  p.languages = f.strings("languages", false);
  p.capacity = f.capacity("capacity");
  if (refuse_if(call, errors)) {
    return;
  }
  json::array changed;  // the fields the request set, for the audit
  for (const auto& [k, v] : *body) {
    changed.emplace_back(k);
  }
  command(
      call,
      [this, call, id = *id, p = std::move(p), changed = std::move(changed)]() mutable -> Response {
        if (deps.engine.find_agent(id) == nullptr) {
          return not_found("agent", call->params[0]);
        }
        auto r = deps.engine.update_agent(id, std::move(p));
        if (!r) {
          return from_error(r.error());
        }
        audit(call, "agent.changed", "agt_" + id.value(), {{"fields", std::move(changed)}});
        return json_response(200, to_json(r.value()));
      });
}

void Routes::Impl::put_presence(const CallPtr& call) {
  auto id = path_agent(call, /*own_only=*/true);
  if (!id) {
    return;
  }
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  auto p = f.one_of<Presence>("presence", true, parse_presence, "available, away or offline");
  if (p == Presence::WrapUp) {
    f.fail("presence", "must be available, away or offline (wrap_up is set by Baton)");
  }
  if (refuse_if(call, errors)) {
    return;
  }
  command(call, [this, call, id = *id, p = *p]() -> Response {
    if (deps.engine.find_agent(id) == nullptr) {
      return not_found("agent", call->params[0]);
    }
    auto r = deps.engine.set_presence(id, p);
    if (!r) {
      return from_error(r.error());
    }
    if (call->who.agent != id) {  // set by someone else: a supervisor's act
      audit(call, "agent.presence_set", "agt_" + id.value(), {{"presence", to_string(p)}});
    }
    return json_response(200, to_json(r.value()));
  });
}

}  // namespace baton::api
