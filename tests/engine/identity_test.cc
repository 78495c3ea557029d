// One customer across channels: canonical identities and customer merges.

#include "baton/engine/identity.h"

#include <catch2/catch.hpp>

#include "engine_fixture.h"

using namespace baton;
using namespace baton::engine;
using baton::testing::EngineFixture;

namespace {

std::string canonical(Channel ch, std::string_view address, std::string_view country = "82") {
  auto r = normalize_address(ch, address, country);
  INFO(address << ": " << (r ? *r : r.error().message));
  REQUIRE(r.has_value());
  return *r;
}

bool refused(Channel ch, std::string_view address, std::string_view country = "82") {
  return !normalize_address(ch, address, country).has_value();
}

}  // namespace

TEST_CASE("e-mail addresses are trimmed and case-folded", "[engine][identity]") {
  CHECK(canonical(Channel::Email, "  Minji.Lee@Example.COM ") == "minji.lee@example.com");
  CHECK(refused(Channel::Email, "minji"));
  CHECK(refused(Channel::Email, "@example.com"));
  CHECK(refused(Channel::Email, "minji@"));
  CHECK(refused(Channel::Email, "a@b@c"));
  CHECK(refused(Channel::Email, "min ji@example.com"));
  CHECK(refused(Channel::Email, "   "));
}

TEST_CASE("phone numbers become E.164", "[engine][identity]") {
  CHECK(canonical(Channel::Voice, "010-1234-5678") == "+821012345678");
  CHECK(canonical(Channel::Voice, "+82 10 1234 5678") == "+821012345678");
  CHECK(canonical(Channel::Voice, "0082 (10) 1234.5678") == "+821012345678");
  CHECK(canonical(Channel::Voice, "tel:+1-415-555-0100") == "+14155550100");
  CHECK(canonical(Channel::Voice, "(415) 555-0100", "1") == "+14155550100");
  // No default country: a national number cannot be placed.
  CHECK(refused(Channel::Voice, "010-1234-5678", ""));
  CHECK(canonical(Channel::Voice, "+44 20 7946 0958", "") == "+442079460958");
  CHECK(refused(Channel::Voice, "+82 10 12"));             // too short
  CHECK(refused(Channel::Voice, "+82 1012345678901234"));  // over 15 digits
  CHECK(refused(Channel::Voice, "010-CALL-ME"));
  CHECK(refused(Channel::Voice, "+0 10 1234 5678"));
}

TEST_CASE("social handles drop the @ and fold case, chat handles are kept", "[engine][identity]") {
  CHECK(canonical(Channel::Social, " @Hanbit_Co ") == "hanbit_co");
  CHECK(refused(Channel::Social, "@"));
  CHECK(canonical(Channel::Chat, " web:AbC ") == "web:AbC");
}

TEST_CASE("one customer across spellings of the same identity", "[engine][identity]") {
  EngineConfig config;
  config.default_country = "82";
  EngineFixture fx(baton::testing::kDefaultRules, config);
  auto a = fx.post("call me", 0, Channel::Voice, {}, "010-1234-5678");
  auto b = fx.post("again", 0, Channel::Voice, {}, "+82 10-1234-5678");
  CHECK(a.customer == b.customer);
  CHECK(fx.eng.find_customer(a.customer)->identities.at(0).address == "+821012345678");

  NewCustomer nc;
  nc.name = "Dup";
  nc.identities = {Identity{Channel::Email, "X@Y.com"}, Identity{Channel::Email, "x@y.COM"}};
  auto dup = fx.eng.create_customer(nc);
  REQUIRE_FALSE(dup.has_value());
  CHECK(dup.error().field_errors.at(0).field == "identities[1].address");

  nc.identities = {Identity{Channel::Voice, "01012345678"}};
  auto taken = fx.eng.create_customer(nc);
  REQUIRE_FALSE(taken.has_value());
  CHECK(taken.error().code == ErrorCode::AlreadyExists);

  NewCase bad;
  bad.channel = Channel::Voice;
  bad.subject = "x";
  bad.customer.identity = Identity{Channel::Voice, "call me maybe"};
  auto r = fx.eng.create_case(bad);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().field_errors.at(0).field == "customer.address");
  fx.check();
}

TEST_CASE("a merge moves identities, open cases and the account, and is recorded",
          "[engine][identity][merge]") {
  EngineFixture fx;
  auto sam = fx.agent("sam", {"sales"});
  auto acc = fx.eng.create_account(NewAccount{"Hanbit Co", "gold", "", sam});
  REQUIRE(acc.has_value());
  NewCustomer by_mail;
  by_mail.name = "Minji (mail)";
  by_mail.account = acc->id;
  by_mail.identities = {Identity{Channel::Email, "minji@example.com"}};
  auto mail = fx.eng.create_customer(by_mail);
  REQUIRE(mail.has_value());
  auto chat = fx.post("hello", 0, Channel::Chat, {}, "web:8812");  // a second customer
  CustomerId into = chat.customer;
  CustomerId from = mail->id;
  auto from_case = fx.post("invoice", 0, Channel::Email, {}, "minji@example.com");
  REQUIRE(from_case.customer == from);

  auto merged = fx.eng.merge_customers(into, from, "supervisor");
  REQUIRE(merged.has_value());
  CHECK(merged->identities.size() == 2);
  CHECK(merged->account == acc->id);  // it had none: it takes the merged one's
  CHECK(fx.get(from_case.id).customer == into);
  CHECK(fx.eng.find_customer(from)->merged_into == into);
  CHECK(fx.eng.find_customer(from)->identities.empty());
  const Mutation& m = fx.eng.last_mutation();
  REQUIRE(m.merges.size() == 1);
  CHECK(m.merges[0].from == from);
  CHECK(m.merges[0].into == into);
  REQUIRE(m.events.size() == 1);
  CHECK(m.events[0].type == EventType::CustomerMerged);
  CHECK(m.events[0].case_id.value() == 0);
  CHECK(m.events[0].customer == into);

  // The merged customer's identity and id now lead to the survivor.
  auto again = fx.post("more", 0, Channel::Email, {}, "MINJI@example.com");
  CHECK(again.customer == into);
  NewCase by_id;
  by_id.subject = "by id";
  by_id.customer.id = from;
  auto followed = fx.eng.create_case(by_id);
  REQUIRE(followed.has_value());
  CHECK(followed->customer == into);

  CHECK(fx.eng.merge_customers(into, from, "supervisor").error().code ==
        ErrorCode::FailedPrecondition);
  CHECK(fx.eng.merge_customers(into, into, "supervisor").error().field_errors.at(0).field ==
        "from");
  CHECK(fx.eng.merge_customers(into, CustomerId(999), "supervisor")
            .error()
            .field_errors.at(0)
            .field == "from");
  CHECK(fx.eng.merge_customers(CustomerId(999), into, "supervisor").error().code ==
        ErrorCode::NotFound);
  fx.check();
}
