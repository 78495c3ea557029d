#include <type_traits>

#include <catch2/catch.hpp>

#include "baton/engine/ports.h"

#include "engine_fixture.h"

using namespace baton;
using namespace baton::engine;

namespace {

// A mutation with one entry in every field, each told apart by `n`.
Mutation filled(std::uint64_t n) {
  Mutation m;
  m.agents.push_back(Agent{});
  m.agents.back().id = AgentId("a" + std::to_string(n));
  m.agent_changes.push_back(AgentChange{});
  m.agent_changes.back().agent = AgentId("a" + std::to_string(n));
  m.customers.push_back(Customer{});
  m.customers.back().id = CustomerId(n);
  m.accounts.push_back(Account{});
  m.accounts.back().id = AccountId(n);
  m.cases.push_back(Case{});
  m.cases.back().id = CaseId(n);
  m.offers.push_back(Offer{});
  m.offers.back().id = OfferId(n);
  m.handoffs.push_back(Handoff{});
  m.handoffs.back().id = HandoffId(n);
  m.events.push_back(CaseEvent{});
  m.events.back().id = EventId(n);
  m.merges.push_back(CustomerMerge{CustomerId(n), CustomerId(n + 100), {}});
  m.webhooks.push_back(Webhook{});
  m.webhooks.back().id = WebhookId(n);
  m.deliveries.push_back(Delivery{});
  m.deliveries.back().id = DeliveryId(n);
  m.rules = RuleVersion{static_cast<int>(n), "src", {}};
  m.response = StoredResponse{"key" + std::to_string(n), "", 201, "{}", {}, {}};
  m.tokens.push_back(TokenRecord{});
  m.tokens.back().hash = "h" + std::to_string(n);
  m.passwords.push_back(PasswordRecord{AgentId("a" + std::to_string(n)), "hash", {}});
  m.audit.push_back(AuditEntry{});
  m.audit.back().action = "a" + std::to_string(n);
  return m;
}

}  // namespace

TEST_CASE("appending a mutation keeps every field of both, in order", "[engine][mutation]") {
  Mutation to = filled(1);
  append(to, filled(2));
  CHECK(to.agents.size() == 2);
  CHECK(to.agents[1].id == AgentId("a2"));
  CHECK(to.customers.size() == 2);
  CHECK(to.accounts.size() == 2);
  CHECK(to.cases.size() == 2);
  CHECK(to.cases[1].id == CaseId(2));
  CHECK(to.offers.size() == 2);
  CHECK(to.handoffs.size() == 2);
  CHECK(to.events.size() == 2);
  REQUIRE(to.agent_changes.size() == 2);
  CHECK(to.agent_changes[1].agent == AgentId("a2"));
  REQUIRE(to.merges.size() == 2);
  CHECK(to.merges[1].from == CustomerId(2));
  REQUIRE(to.webhooks.size() == 2);
  CHECK(to.webhooks[1].id == WebhookId(2));
  REQUIRE(to.deliveries.size() == 2);
  CHECK(to.deliveries[1].id == DeliveryId(2));
  REQUIRE(to.audit.size() == 2);
  CHECK(to.audit[1].action == "a2");
  REQUIRE(to.tokens.size() == 2);
  REQUIRE(to.passwords.size() == 2);
  // A later rule version or answer replaces the earlier one; an absent one keeps it.
  CHECK(to.rules->version == 2);
  CHECK(to.response->key == "key2");
  append(to, Mutation{});
  CHECK(to.rules->version == 2);
  CHECK(to.response->key == "key2");
}

TEST_CASE("a mutation is empty only when every field is", "[engine][mutation]") {
  CHECK(Mutation{}.empty());
  Mutation full = filled(1);
  CHECK_FALSE(full.empty());
  // Each field alone makes it non-empty (every field has a type of its own).
  int fields = 0;
  Mutation::each_field(full, full, [&](auto& field, auto&) {
    ++fields;
    Mutation one;
    Mutation::each_field(one, one, [&](auto& mine, auto&) {
      if constexpr (std::is_same_v<decltype(mine), decltype(field)>) {
        mine = field;
      }
    });
    CHECK_FALSE(one.empty());
  });
  CHECK(fields == 16);
}

TEST_CASE("[regress] held commands keep their merges, webhooks and deliveries",
          "[engine][mutation][regress]") {
  baton::testing::EngineFixture fx;
  Webhook w;
  w.url = "http://127.0.0.1:9/hook";
  w.events = {"*"};
  w.secret = "a-secret-of-16-chars";
  REQUIRE(fx.eng.create_webhook(w).has_value());
  NewCustomer a;
  a.name = "A";
  a.identities = {Identity{Channel::Email, "a@example.com"}};
  NewCustomer b;
  b.name = "B";
  b.identities = {Identity{Channel::Email, "b@example.com"}};
  auto into = fx.eng.create_customer(a);
  auto from = fx.eng.create_customer(b);
  REQUIRE((into && from));
  std::size_t before = fx.journal.mutations.size();

  // Three commands held as one, as the API frames a request: a second webhook, a case
  // (events the webhooks want) and a merge. Only the first used to survive.
  fx.eng.hold_commit();
  Webhook w2 = w;
  w2.url = "http://127.0.0.1:9/other";
  REQUIRE(fx.eng.create_webhook(w2).has_value());
  fx.post("held", 0, Channel::Chat, {}, "web:77");
  REQUIRE(fx.eng.merge_customers(into.value().id, from.value().id, "supervisor").has_value());
  bool done = false;
  fx.eng.release_commit(std::nullopt, [&](Status st) { done = st.has_value(); });
  REQUIRE(done);
  REQUIRE(fx.journal.mutations.size() == before + 1);
  const Mutation& m = fx.journal.mutations.back();
  CHECK(m.webhooks.size() == 1);
  CHECK(m.merges.size() == 1);
  CHECK_FALSE(m.deliveries.empty());
}
