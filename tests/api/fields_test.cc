// The field validator (white-box: api/src/fields.h): every fault of a body is collected
// with the field it names, and what is valid reads back as typed values.

#include "fields.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace baton;
namespace json = boost::json;

namespace {

json::object body(std::string_view text) { return json::parse(text).as_object(); }

std::vector<std::string> fields_of(const std::vector<FieldError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) {
    out.push_back(e.field);
  }
  return out;
}

}  // namespace

TEST_CASE("fields: valid values read back typed, with no error", "[api][fields]") {
  auto o = body(R"({"name":"Ana","n":7,"on":true,"teams":["a","b"],
                    "skills":{"billing":5},"capacity":{"chat":3,"email":0},
                    "agent":"agt_ana","channel":"email","none":null})");
  std::vector<FieldError> errors;
  api::Fields f(o, errors);
  CHECK(f.text("name", true) == "Ana");
  CHECK(f.integer("n", true, 0, 10, "must be 0–10") == 7);
  CHECK(f.boolean("on") == true);
  CHECK(f.strings("teams", true) == std::vector<std::string>{"a", "b"});
  auto skills = f.skills("skills");
  REQUIRE(skills.has_value());
  CHECK(skills->at("billing") == 5);
  auto cap = f.capacity("capacity");
  REQUIRE(cap.has_value());
  CHECK((*cap)[index_of(Channel::Chat)] == 3);
  CHECK(f.agent("agent", true) == engine::AgentId("ana"));
  CHECK(f.one_of<Channel>("channel", true, api::channel_of, "a channel") == Channel::Email);
  CHECK_FALSE(f.has("none"));  // null is absent
  CHECK_FALSE(f.has("missing"));
  CHECK_FALSE(f.text("missing", false).has_value());
  CHECK(errors.empty());
}

TEST_CASE("fields: every fault is collected, each naming its field", "[api][fields]") {
  auto o = body(R"({"name":5,"n":11,"on":"yes","teams":["",1],"skills":{"billing":11,"x":"1"},
                    "capacity":{"fax":1,"chat":101},"agent":"ana","channel":"pigeon",
                    "long":"0123456789a"})");
  std::vector<FieldError> errors;
  api::Fields f(o, errors, "case.");
  CHECK_FALSE(f.text("name", true).has_value());
  CHECK_FALSE(f.integer("n", true, 0, 10, "must be 0–10").has_value());
  CHECK_FALSE(f.boolean("on").has_value());
  CHECK_FALSE(f.strings("teams", true).has_value());
  CHECK_FALSE(f.skills("skills").has_value());
  CHECK_FALSE(f.capacity("capacity").has_value());
  CHECK_FALSE(f.agent("agent", true).has_value());
  CHECK_FALSE(f.one_of<Channel>("channel", true, api::channel_of, "a channel").has_value());
  CHECK_FALSE(f.text("long", true, 10).has_value());
  CHECK_FALSE(f.text("required", true).has_value());
  CHECK(fields_of(errors) ==
        std::vector<std::string>{"case.name", "case.n", "case.on", "case.teams",
                                 "case.skills.billing", "case.skills.x", "case.capacity.fax",
                                 "case.capacity.chat", "case.agent", "case.channel", "case.long",
                                 "case.required"});
  CHECK(errors[0].message == "must be a string");
  CHECK(errors[1].message == "must be 0–10");
  CHECK(errors[10].message == "must be at most 10 bytes");
  CHECK(errors[11].message == "is required");
}

TEST_CASE("fields: integers come as JSON integers or whole doubles, within range",
          "[api][fields]") {
  auto o = body(R"({"a":3.0,"b":3.5,"c":18446744073709551615,"d":-2})");
  std::vector<FieldError> errors;
  api::Fields f(o, errors);
  CHECK(f.integer("a", true, -5, 5, "r") == 3);
  CHECK_FALSE(f.integer("b", true, -5, 5, "r").has_value());
  CHECK_FALSE(f.integer("c", true, -5, 5, "r").has_value());
  CHECK(f.integer("d", true, -5, 5, "r") == -2);
  CHECK(fields_of(errors) == std::vector<std::string>{"b", "c"});
}

TEST_CASE("fields: attributes are bounded in entries and text, and numbers are finite",
          "[api][fields]") {
  std::vector<FieldError> errors;
  auto fine = body(R"({"a":{"order":"A-1","n":1.5,"vip":true,"big":1e300}})");
  api::Fields f(fine, errors);
  auto attrs = f.attributes("a", 4, 8);
  REQUIRE(attrs.has_value());
  CHECK(std::get<double>(attrs->at("big")) == 1e300);
  CHECK(errors.empty());

  auto many = body(R"({"a":{"k1":1,"k2":2,"k3":3}})");
  api::Fields g(many, errors);
  CHECK_FALSE(g.attributes("a", 2, 8).has_value());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field == "a");
  CHECK(errors[0].message == "must have at most 2 entries");

  errors.clear();
  auto long_text = body(R"({"a":{"note":"123456789"}})");
  api::Fields h(long_text, errors);
  CHECK_FALSE(h.attributes("a", 2, 8).has_value());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field == "a.note");
  CHECK(errors[0].message == "must be at most 8 bytes");

  // A number too large for a double reads as infinity; it is refused, never stored.
  errors.clear();
  auto inf = body(R"({"a":{"over":1e400}})");
  api::Fields i(inf, errors);
  CHECK_FALSE(i.attributes("a", 2, 8).has_value());
  CHECK(fields_of(errors) == std::vector<std::string>{"a.over"});
}
